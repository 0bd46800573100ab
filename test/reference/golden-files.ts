// Reading the family goldens (scripts/goldens/make_family_goldens.py) without src/: a minimal
// safetensors reader (F32 only, which is all those files hold) and the tap-sampling rule the script
// stored them with.

import { readFileSync } from 'node:fs';
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
