// The image path against PyTorch's reference file (../shared/data/reference/tench-taps.safetensors):
// S and S^-1 computed from its `input`, and `input` computed from the JPEG; then the zoom operators'
// semantics on synthetic tensors (no shared data needed).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMAGENET_MEAN, IMAGENET_STD } from '../src/model/architecture';
import { preprocessFile } from '../src/image/preprocess-node';
import {
  ZOOM_SWEEP_FACTORS, centerCropTensor, fma32, interpolateBilinear, reflectPad, zoom, zoomCropSize, zoomIn, zoomOut, zoomSweep,
} from '../src/image/zoom';
import { type HostTensor, readSafetensors } from '../src/weights/safetensors';
import { SAMPLES, TENCH_TAPS, sharedMissing } from './helpers/shared';

function maxAbs(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Back to uint8 levels: (x * std + mean) * 255 (the reference's levels land within 2e-5 of integers). */
function levels(x: HostTensor): Float64Array {
  const plane = x.shape[2] * x.shape[3];
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < x.data.length; i++) {
    const c = Math.floor(i / plane) % 3;
    out[i] = Math.round((x.data[i] * IMAGENET_STD[c] + IMAGENET_MEAN[c]) * 255);
  }
  return out;
}

const TENCH_JPEG = join(SAMPLES, 'n01440764_tench.JPEG');
const missing = sharedMissing(TENCH_TAPS, TENCH_JPEG);
describe.skipIf(missing)('against PyTorch (tench-taps.safetensors)', () => {
  const ref = missing ? new Map<string, HostTensor>() : readSafetensors(new Uint8Array(readFileSync(TENCH_TAPS)), TENCH_TAPS).tensors;

  it('zoom_in (S) and zoom_out (S^-1) from its input agree to 1e-6', () => {
    // 1e-6 allows PyTorch builds that round the multiply-adds differently (1 ulp, 2.4e-7 here); with
    // the fused order of the reference's build the result is bit-identical, and that is reported.
    const x = ref.get('input')!;
    const dIn = maxAbs(zoomIn(x).data, ref.get('zoom_in')!.data);
    const dOut = maxAbs(zoomOut(x).data, ref.get('zoom_out')!.data);
    console.log(`zoom_in max |diff| ${dIn}, zoom_out max |diff| ${dOut}`);
    expect(zoomIn(x).shape).toEqual([1, 3, 224, 224]);
    expect(dIn).toBeLessThanOrEqual(1e-6);
    expect(dOut).toBeLessThanOrEqual(1e-6);
  });

  it('input from the JPEG: identical to PyTorch with the exact decoder; jpeg-js measured', () => {
    const want = ref.get('input')!;
    const wantLevels = levels(want);
    const report = (name: string, got: HostTensor) => {
      const l = levels(got);
      let sum = 0;
      let max = 0;
      for (let i = 0; i < l.length; i++) {
        const d = Math.abs(l[i] - wantLevels[i]);
        sum += d;
        max = Math.max(max, d);
      }
      const r = { mean: sum / l.length, max, tensorMaxAbs: maxAbs(got.data, want.data) };
      console.log(`${name}: input vs PyTorch, uint8 levels: mean ${r.mean.toFixed(4)}, max ${r.max}; tensor max |diff| ${r.tensorMaxAbs}`);
      return r;
    };
    // Exact decoder (libjpeg-turbo's arithmetic) + Pillow-exact resize: nothing may differ.
    const exact = report('exact decoder', preprocessFile(TENCH_JPEG));
    expect(exact.max).toBe(0);
    expect(exact.tensorMaxAbs).toBe(0);
    // jpeg-js: its IDCT rounds differently (+-1 level) and its colour conversion truncates (-1 level),
    // so decoded pixels are at most 2 levels off on this 4:4:4 file; the antialiased resize averages
    // and rounds once more (+1). Tolerance: max 3 levels, mean 1 level (measured: 2 and 0.455).
    const js = report('jpeg-js', preprocessFile(TENCH_JPEG, { jpegDecoder: 'jpeg-js' }));
    expect(js.max).toBeLessThanOrEqual(3);
    expect(js.mean).toBeLessThanOrEqual(1);
  });
});

describe('zoom operators on tensors', () => {
  let seed = 12345;
  const rand = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  const tensor = (n: number, c: number, h: number, w: number): HostTensor => ({
    shape: [n, c, h, w], data: Float32Array.from({ length: n * c * h * w }, () => Math.fround(rand() * 4 - 2)),
  });

  it('S^-1 at factor 2 is the mean of each 2x2 block, then a reflect pad', () => {
    const x = tensor(2, 3, 8, 12);
    const small = interpolateBilinear(x, 4, 6);
    for (let p = 0; p < 6; p++) {
      for (let y = 0; y < 4; y++) {
        for (let xx = 0; xx < 6; xx++) {
          const at = (yy: number, xc: number) => x.data[(p * 8 + yy) * 12 + xc];
          const mean = (at(2 * y, 2 * xx) + at(2 * y, 2 * xx + 1) + at(2 * y + 1, 2 * xx) + at(2 * y + 1, 2 * xx + 1)) / 4;
          expect(Math.abs(small.data[(p * 4 + y) * 6 + xx] - mean)).toBeLessThan(1e-6);
        }
      }
    }
    const z = zoomOut(x);
    expect(z.shape).toEqual([2, 3, 8, 12]);
    expect(maxAbs(z.data, reflectPad(small, [3, 3, 2, 2]).data)).toBe(0);
  });

  it("reflect pad is PyTorch's 'reflect' (edge not repeated)", () => {
    const x: HostTensor = { shape: [1, 1, 1, 4], data: new Float32Array([1, 2, 3, 4]) };
    const wide: HostTensor = { shape: [1, 1, 3, 4], data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) };
    expect(Array.from(reflectPad(wide, [2, 3, 0, 0]).data.subarray(0, 9))).toEqual([3, 2, 1, 2, 3, 4, 3, 2, 1]);
    expect(Array.from(reflectPad(wide, [0, 0, 2, 0]).data.subarray(0, 4))).toEqual([9, 10, 11, 12]);
    expect(() => reflectPad(x, [4, 0, 0, 0])).toThrow(/smaller/);
  });

  it('S is the zoom at s = 1.5; s = 1 is the identity; the sweep has 11 factors', () => {
    const x = tensor(2, 3, 224, 224);
    expect(zoom(x, 1.5).data).toEqual(zoomIn(x).data);
    expect(zoom(x, 1).data).toEqual(x.data);
    expect(ZOOM_SWEEP_FACTORS).toEqual([1, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3, 1.35, 1.4, 1.45, 1.5]);
    expect(ZOOM_SWEEP_FACTORS.map((s) => zoomCropSize(224, s))).toEqual([224, 212, 201, 190, 179, 168, 156, 145, 134, 123, 112]);
    const sweep = zoomSweep(x, [1.1, 1.5]);
    expect(sweep.map((z) => z.factor)).toEqual([1.1, 1.5]);
    expect(sweep[1].tensor.data).toEqual(zoomIn(x).data);
    expect(() => zoom(x, 0.9)).toThrow(RangeError);
  });

  it('works per image and per channel: a batch equals its images zoomed alone', () => {
    const x = tensor(3, 2, 20, 16);
    const one = (i: number): HostTensor => ({ shape: [1, 2, 20, 16], data: x.data.slice(i * 640, (i + 1) * 640) });
    for (const op of [zoomIn, zoomOut, (t: HostTensor) => zoom(t, 1.3)]) {
      const all = op(x);
      for (let i = 0; i < 3; i++) expect(all.data.subarray(i * 640, (i + 1) * 640)).toEqual(op(one(i)).data);
    }
  });

  it('centre crop takes torchvision offsets; a constant image stays constant under every zoom', () => {
    const x: HostTensor = { shape: [1, 1, 5, 5], data: Float32Array.from({ length: 25 }, (_, i) => i) };
    // top = left = int(round((5 - 2) / 2.0)) = round(1.5) = 2 (halves to even).
    expect(Array.from(centerCropTensor(x, 2).data)).toEqual([12, 13, 17, 18]);
    const c: HostTensor = { shape: [1, 3, 224, 224], data: new Float32Array(3 * 224 * 224).fill(Math.fround(0.7)) };
    for (const z of [zoomIn(c), zoomOut(c), zoom(c, 1.15)]) expect(z.data.every((v) => v === Math.fround(0.7))).toBe(true);
  });

  it('fma32 rounds a * b + c once', () => {
    // 1 + 2^-24 is halfway between float32 neighbours; a product just above 2^-24 must round up.
    const a = Math.fround(1 + 2 ** -23);
    const b = 2 ** -24;
    expect(fma32(a, b, 1)).toBe(Math.fround(1 + 2 ** -23));
    expect(fma32(2, 3, 4)).toBe(10);
    expect(fma32(-1, 1, 1)).toBe(0);
  });
});
