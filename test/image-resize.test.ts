// PIL's bilinear resize and torchvision's eval geometry against Pillow 9.4's own bytes
// (test/fixtures/image/resize-goldens.json, made by scripts/make-resize-goldens.py). Tolerance: none;
// the resize is integer arithmetic and must be byte-identical.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../src/image/image';
import { bilinearCoefficients, resizeBilinearPil, resizedOutputSize } from '../src/image/resize';
import {
  centerCrop, centerCropBox, normalize, pythonRound, resizeShorter, stackBatch, tensorToRgb, toTensor,
  torchvisionEval, torchvisionEvalBatch, torchvisionEvalImage, torchvisionZoomEval, torchvisionZoomEvalImage,
} from '../src/image/transforms';
import { synthetic } from './fixtures/image/synthetic';

const FIXTURES = resolve(__dirname, 'fixtures/image');
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

interface GoldenCase {
  image: string; width: number; height: number; sha256: string; base64?: string;
  size?: [number, number]; resize?: number; eval?: [number, number]; zoom_frac?: number; zoom_crop?: number;
}
const goldens = JSON.parse(readFileSync(resolve(FIXTURES, 'resize-goldens.json'), 'utf8')) as {
  pillow: string;
  images: Record<string, { kind: string; width: number; height: number; seed: number; sha256: string }>;
  cases: GoldenCase[];
};

function firstDifference(a: Uint8Array, b: Uint8Array): string {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return `byte ${i}: ${a[i]} vs Pillow ${b[i]}`;
  return `lengths ${a.length} vs ${b.length}`;
}

describe(`PIL bilinear resize, byte-identical to Pillow ${goldens.pillow}`, () => {
  const images = new Map<string, RgbImage>();
  for (const [name, g] of Object.entries(goldens.images)) images.set(name, synthetic(g.kind, g.width, g.height, g.seed));

  it('regenerates the fixture images exactly', () => {
    for (const [name, g] of Object.entries(goldens.images)) expect(sha(images.get(name)!.data), name).toBe(g.sha256);
  });

  for (const c of goldens.cases) {
    const op = c.size ? `resize to ${c.size.join('x')}` : c.resize ? `Resize(${c.resize})` : c.eval ? `Resize(${c.eval[0]}) + CenterCrop(${c.eval[1]})`
      : `follow-up zoom s = ${1 + c.zoom_frac!}`;
    it(`${c.image}: ${op} -> ${c.width}x${c.height}`, () => {
      const img = images.get(c.image)!;
      let out: RgbImage;
      if (c.size) out = resizeBilinearPil(img, c.size[0], c.size[1]);
      else if (c.resize) out = resizeShorter(img, c.resize);
      else if (c.eval) out = torchvisionEvalImage(img, { resize: c.eval[0], crop: c.eval[1] });
      else {
        const s = 1 + c.zoom_frac!;
        expect(Math.trunc(224 * (2 - s)), 'crop size of zoom s').toBe(c.zoom_crop);
        out = torchvisionZoomEvalImage(img, s);
      }
      expect([out.width, out.height]).toEqual([c.width, c.height]);
      const ok = sha(out.data) === c.sha256;
      if (!ok && c.base64) expect.fail(firstDifference(out.data, new Uint8Array(Buffer.from(c.base64, 'base64'))));
      expect(ok, 'sha256 of the output bytes').toBe(true);
    });
  }
});

describe('torchvision geometry', () => {
  it('Resize(size): shorter side to size, longer int(size * long / short)', () => {
    expect(resizedOutputSize(500, 375, 256)).toEqual([341, 256]);
    expect(resizedOutputSize(375, 500, 256)).toEqual([256, 341]);
    expect(resizedOutputSize(333, 500, 256)).toEqual([256, 384]);
    expect(resizedOutputSize(256, 256, 256)).toEqual([256, 256]);
    expect(resizedOutputSize(37, 23, 256)).toEqual([411, 256]);
    expect(() => resizedOutputSize(10, 10, 0)).toThrow(/positive integer/);
  });

  it("CenterCrop offsets use Python's round (halves to even) and zero padding", () => {
    expect([pythonRound(58.5), pythonRound(59.5), pythonRound(0.5), pythonRound(1.5), pythonRound(2.4), pythonRound(2.6)]).toEqual([58, 60, 0, 2, 2, 3]);
    expect(centerCropBox(341, 256, 224, 224)).toEqual({ pad: [0, 0, 0, 0], left: 58, top: 16 });
    expect(centerCropBox(300, 200, 224, 224)).toEqual({ pad: [0, 12, 0, 12], left: 38, top: 0 });
    expect(centerCropBox(5, 3, 8, 6)).toEqual({ pad: [1, 1, 2, 2], left: 0, top: 0 });
    // A 2x1 image cropped to 4x3: padded with zeros as torchvision pads (left 1, right 1, top 1, bottom 1).
    const img: RgbImage = { width: 2, height: 1, data: new Uint8Array([1, 2, 3, 4, 5, 6]) };
    const out = centerCrop(img, [4, 3]);
    expect(Array.from(out.data.subarray(12, 24))).toEqual([0, 0, 0, 1, 2, 3, 4, 5, 6, 0, 0, 0]);
    expect(out.data.subarray(0, 12).every((v) => v === 0) && out.data.subarray(24).every((v) => v === 0)).toBe(true);
  });

  it('coefficients are normalised fixed point (2^22) and stay inside the source', () => {
    for (const [inSize, outSize] of [[37, 17], [23, 80], [640, 7], [5, 256]]) {
      const { ksize, bounds, weights } = bilinearCoefficients(inSize, outSize);
      for (let o = 0; o < outSize; o++) {
        const [xmin, n] = [bounds[2 * o], bounds[2 * o + 1]];
        expect(xmin >= 0 && xmin + n <= inSize && n <= ksize).toBe(true);
        let sum = 0;
        for (let k = 0; k < n; k++) sum += weights[o * ksize + k];
        expect(Math.abs(sum - (1 << 22))).toBeLessThanOrEqual(n);
      }
    }
  });
});

describe('ToTensor + Normalize', () => {
  const img = synthetic('noise', 13, 7, 77);

  it('computes each float32 step as PyTorch does', () => {
    const t = toTensor(img);
    expect(t.shape).toEqual([1, 3, 7, 13]);
    const f = Math.fround;
    const x = normalize(t);
    const means = [0.485, 0.456, 0.406];
    const stds = [0.229, 0.224, 0.225];
    for (const [c, i] of [[0, 0], [1, 17], [2, 90]]) {
      const v = img.data[i * 3 + c];
      expect(t.data[c * 91 + i]).toBe(f(v / 255));
      expect(x.data[c * 91 + i]).toBe(f(f(f(v / 255) - f(means[c])) / f(stds[c])));
    }
    expect(tensorToRgb(x).data).toEqual(img.data);
  });

  it('batches: the batch equals the single images stacked', () => {
    const a = synthetic('gradient', 300, 200, 4);
    const b = synthetic('blocks', 333, 500, 7);
    const batch = torchvisionEvalBatch([a, b]);
    expect(batch.shape).toEqual([2, 3, 224, 224]);
    expect(batch.data).toEqual(stackBatch([torchvisionEval(a), torchvisionEval(b)]).data);
    expect(() => stackBatch([torchvisionEval(a), toTensor(img)])).toThrow(/does not match/);
  });

  it('the follow-up zoom at s = 1 is the plain eval transform', () => {
    const a = synthetic('blocks', 500, 375, 6);
    expect(torchvisionZoomEval(a, 1).data).toEqual(torchvisionEval(a).data);
    expect(() => torchvisionZoomEval(a, 2)).toThrow(RangeError);
  });
});
