// A stand-in engine with the `ForwardCentres` contract: deterministic pseudo-activations with the
// residual structure of a block (sum = skip + branch, output = relu(sum)), for tests, for trying the
// report without weights or a GPU, and as a worked example of the contract. Not a neural network:
// the numbers mean nothing about ResNet18. Browser-safe.

import { BLOCKS, allTapNames, tapShape } from '../../src/model/architecture';
import type { ForwardCentres, ImageRef } from '../../src/analysis/analyze';
import type { Transform } from '../../src/analysis/journal';

const TAP_IDS = new Map(allTapNames().map((t, i) => [t, i]));

function mixHash(a: number, b: number): number {
  let h = Math.imul(a ^ (b + 0x9e3779b9 + (a << 6) + (a >>> 2)), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A standard normal number determined by its integer key parts. */
function gaussian(...parts: number[]): number {
  let h = 0x2545f491;
  for (const p of parts) h = mixHash(h, p | 0);
  const u1 = ((h >>> 8) + 1) / 16777217;
  const u2 = (mixHash(h, 0x68e31da4) >>> 8) / 16777216;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

function transformId(t: Transform): number {
  if (t === 'none') return 0;
  if (t === 'zoomIn') return 1;
  if (t === 'zoomOut') return 2;
  return 3 + Math.round(Number(t.slice(5)) * 100);
}

export interface SyntheticEngine {
  forwardCentres: ForwardCentres;
  /** The centre value of one channel of one tap for one image under a transform. */
  value(image: number, transform: Transform, tap: string, channel: number): number;
}

/**
 * A synthetic engine. Leaf taps (maxpool, bn1, bn2, downsample.1) are per-channel affine maps of
 * Gaussians keyed by (seed, image, tap, channel); a transformed image's value is correlated with the
 * original's (0.8 / 0.6 mix). `skip`, `sum` and block outputs follow the residual structure. Values
 * are float32, as an engine returns them.
 */
export function syntheticEngine(seed = 1): SyntheticEngine {
  const value = (image: number, transform: Transform, tap: string, channel: number): number => {
    const tid = transformId(transform);
    const leaf = (name: string, positive: boolean): number => {
      const id = TAP_IDS.get(name) ?? 0;
      const g0 = gaussian(seed, image, id, channel);
      const g = tid === 0 ? g0 : 0.8 * g0 + 0.6 * gaussian(seed, image, id, channel, tid);
      const scale = 0.2 + 1.8 * ((mixHash(mixHash(seed, id), channel) >>> 8) / 16777216);
      const shift = gaussian(seed, id, channel, 7) * 0.5;
      const v = scale * g + shift;
      return positive ? Math.max(0, v) : v;
    };
    const compute = (name: string): number => {
      if (name === 'maxpool' || name === 'relu') return leaf(name, true);
      const block = BLOCKS.find((b) => name === b.name || name.startsWith(`${b.name}.`));
      if (!block) return leaf(name, false);
      const suffix = name.slice(block.name.length);
      if (suffix === '.bn1' || suffix === '.bn2' || suffix === '.downsample.1') return leaf(name, false);
      const i = BLOCKS.indexOf(block);
      const skip = (): number => (block.downsample ? compute(`${block.name}.downsample.1`) : i === 0 ? compute('maxpool') : compute(BLOCKS[i - 1].name));
      if (suffix === '.skip') return skip();
      const sum = skip() + compute(`${block.name}.bn2`);
      if (suffix === '.sum') return sum;
      if (suffix === '') return Math.max(0, sum);
      return leaf(name, false);
    };
    return Math.fround(compute(tap));
  };
  const forwardCentres: ForwardCentres = async (images: ImageRef[], transform: Transform, taps: string[]) => {
    const out = new Map<string, Float32Array>();
    for (const tap of taps) {
      const C = tapShape(tap, 1, 224, 224)[1];
      const v = new Float32Array(images.length * C);
      images.forEach((img, j) => {
        for (let c = 0; c < C; c++) v[j * C + c] = value(img.index, transform, tap, c);
      });
      out.set(tap, v);
    }
    return out;
  };
  return { forwardCentres, value };
}
