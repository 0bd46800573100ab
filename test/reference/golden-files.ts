// Reading the family goldens (scripts/goldens/make_family_goldens.py) without src/: a minimal
// safetensors reader (F32 only, which is all those files hold) and the tap-sampling rule the script
// stored them with.

import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { resolve } from 'node:path';
import { hashUniform } from './family-weights';

export const GOLDENS = resolve(__dirname, '../fixtures/goldens');

export interface GoldenTensor {
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, GoldenTensor>;
  metadata: Record<string, string>;
}

/** safetensors: u64 LE header length, JSON header, then the raw little-endian data. */
export function readF32Safetensors(path: string): SafetensorsFile {
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, unknown>;
  const base = 8 + headerLength;
  const tensors = new Map<string, GoldenTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: [begin, end] } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (dtype !== 'F32') throw new Error(`${name}: dtype ${dtype}, expected F32`);
    const copy = new Uint8Array(bytes.subarray(base + begin, base + end)); // aligned copy
    tensors.set(name, { shape, data: new Float32Array(copy.buffer, 0, (end - begin) / 4) });
  }
  return { tensors, metadata };
}

/** The flat indices a sampled tap was stored at: floor(u_j * numel), u = hashUniform(seed, 'sample ' + tap, k). */
export function sampleIndices(seed: number, tap: string, numel: number, k: number): number[] {
  return Array.from(hashUniform(seed, `sample ${tap}`, k), (u) => Math.floor(u * numel));
}

/**
 * Each tap's worst error against a family golden, relative to the tap's largest magnitude (the
 * golden's absmax): over the stored values (all of a small tap; the hash-sampled ones and every
 * [n, c] plane's mean of a large one) and the absmax itself. Shapes must match (expect'ed).
 */
export function goldenTapErrors(golden: ReturnType<typeof readF32Safetensors>, seed: number,
  listing: [string, number[], number, 'full' | 'sampled'][], taps: ReadonlyMap<string, { shape: number[]; data: ArrayLike<number> }>): [string, number][] {
  const errors: [string, number][] = [];
  for (const [name, shape, absmax, storage] of listing) {
    const ours = taps.get(name)!;
    expect(ours.shape, name).toEqual(shape);
    const stored = golden.tensors.get(name)!;
    const numel = ours.data.length;
    let worst = 0;
    const compare = (have: number, want: number) => {
      const d = Math.abs(have - want);
      worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
    };
    if (storage === 'full') {
      expect(stored.data.length, name).toBe(numel);
      for (let i = 0; i < numel; i++) compare(ours.data[i], stored.data[i]);
    } else {
      const at = sampleIndices(seed, name, numel, stored.data.length);
      at.forEach((i, j) => compare(ours.data[i], stored.data[j]));
      const means = golden.tensors.get(`${name}/mean`);
      if (shape.length === 4) {
        const planes = shape[0] * shape[1];
        const spatial = shape[2] * shape[3];
        expect(means?.data.length, `${name}/mean`).toBe(planes);
        for (let p = 0; p < planes; p++) {
          let s = 0;
          for (let i = 0; i < spatial; i++) s += ours.data[p * spatial + i];
          compare(s / spatial, means!.data[p]);
        }
      }
    }
    let ourMax = 0;
    for (let i = 0; i < ours.data.length; i++) ourMax = Math.max(ourMax, Math.abs(ours.data[i]));
    compare(ourMax, absmax);
    errors.push([name, worst / absmax]);
  }
  return errors;
}
