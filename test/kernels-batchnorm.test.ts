import { describe, expect, it } from 'vitest';
import { batchnormDispatch, foldBatchnorm } from '../src/kernels/batchnorm';
import { type Conv2dShape, biasAsScaleShift, conv2dDispatch, conv2dOutputSize, packConv2dWeights } from '../src/kernels/conv2d';
import { batchnorm, conv2d } from './reference/cpu';
import { download, freshSeed, makeRng, poisoned, randomArray, relativeError, reluCase, testContext, upload } from './helpers/gpu';

// Tolerance: 1e-5 of the output's largest magnitude. Stand-alone BatchNorm is about 6 float32
// roundings per element (subtract, add eps, sqrt, divide, multiply, add), each at most 2^-24 of an
// intermediate no larger than a few times the output scale: ~1e-6. The conv cases add the conv's
// own float32 reduction over Cin*K*K <= 3*49 = 147 terms (see kernels-conv2d.test.ts), whose error
// relative to the output scale is about sqrt(n) * eps = 7e-7 (worst case n * eps / 4 = 2.2e-6).
const TOLERANCE = 1e-5;

function randomBn(channels: number, rng: () => number) {
  return {
    mean: randomArray(channels, rng, -0.5, 0.5),
    variance: randomArray(channels, rng, 0.25, 2),
    gamma: randomArray(channels, rng, -1.5, 1.5),
    beta: randomArray(channels, rng, -0.5, 0.5),
  };
}

describe('batchnorm kernel', () => {
  for (const mode of [false, true, 'both'] as const) {
    it(`matches PyTorch's inference formula in float64 (batch 2, 7 channels, 5x3${mode === true ? ', relu' : mode ? ', and its ReLU as a second output' : ''})`, async () => {
      const ctx = await testContext();
      const seed = freshSeed();
      const rng = makeRng(seed);
      const s = { batch: 2, channels: 7, spatial: 15 };
      const count = s.batch * s.channels * s.spatial;
      const x = randomArray(count, rng, -2, 2);
      const p = randomBn(s.channels, rng);
      const y = poisoned(ctx, count, 'batchnorm test output');
      const relu = reluCase(ctx, mode, count, 'batchnorm test');
      ctx.run([batchnormDispatch(ctx, s, {
        x: upload(ctx, x), mean: upload(ctx, p.mean), variance: upload(ctx, p.variance),
        gamma: upload(ctx, p.gamma), beta: upload(ctx, p.beta), y,
      }, relu.opts)]);
      const got = await download(ctx, y, count);
      expect(relativeError(got, batchnorm(x, p, s.batch, s.channels, s.spatial, relu.referenceRelu)), `seed ${seed}`).toBeLessThanOrEqual(TOLERANCE);
      await relu.check(got);
    });
  }

  it('honours a non-default eps', async () => {
    const ctx = await testContext();
    const seed = freshSeed();
    const rng = makeRng(seed);
    const s = { batch: 1, channels: 3, spatial: 4 };
    const count = 12;
    const x = randomArray(count, rng, -2, 2);
    // Tiny variances make eps matter: with eps = 0.1 the result differs from eps = 1e-5 by ~10x.
    const p = { ...randomBn(3, rng), variance: Float32Array.from([1e-4, 2e-4, 3e-4]) };
    const y = poisoned(ctx, count);
    ctx.run([batchnormDispatch(ctx, s, {
      x: upload(ctx, x), mean: upload(ctx, p.mean), variance: upload(ctx, p.variance),
      gamma: upload(ctx, p.gamma), beta: upload(ctx, p.beta), y,
    }, { relu: false, eps: 0.1 })]);
    const got = await download(ctx, y, count);
    expect(relativeError(got, batchnorm(x, p, 1, 3, 4, false, 0.1)), `seed ${seed}`).toBeLessThanOrEqual(TOLERANCE);
  });

  it('foldBatchnorm gives scale = gamma / sqrt(var + eps), shift = beta - mean * scale', () => {
    const { scale, shift } = foldBatchnorm({
      mean: Float32Array.from([1, -2]), variance: Float32Array.from([3, 0]),
      gamma: Float32Array.from([2, 0.5]), beta: Float32Array.from([0.25, 1]),
    }, 1);
    expect(scale[0]).toBeCloseTo(1, 6);          // 2 / sqrt(4)
    expect(shift[0]).toBeCloseTo(0.25 - 1, 6);   // beta - mean * scale
    expect(scale[1]).toBeCloseTo(0.5, 6);        // 0.5 / sqrt(1)
    expect(shift[1]).toBeCloseTo(1 + 1, 6);
  });
});

describe('conv2d followed by BatchNorm', () => {
  const cases: { name: string; shape: Conv2dShape; relu: boolean }[] = [
    { name: 'stem 7x7 s2 p3, batch 2, relu', shape: { batch: 2, inChannels: 3, inHeight: 15, inWidth: 13, outChannels: 10, kernel: 7, stride: 2, padding: 3 }, relu: true },
    { name: '3x3 s1 p1, Cin 9, Cout 6', shape: { batch: 1, inChannels: 9, inHeight: 7, inWidth: 9, outChannels: 6, kernel: 3, stride: 1, padding: 1 }, relu: false },
    { name: '1x1 s2 p0, Cin 12, Cout 13', shape: { batch: 2, inChannels: 12, inHeight: 9, inWidth: 5, outChannels: 13, kernel: 1, stride: 2, padding: 0 }, relu: false },
  ];
  for (const c of cases) {
    it(`folded epilogue and stand-alone kernel both match reference conv then reference BN: ${c.name}`, async () => {
      const ctx = await testContext();
      const seed = freshSeed();
      const rng = makeRng(seed);
      const s = c.shape;
      const [oh, ow] = conv2dOutputSize(s);
      const spatial = oh * ow;
      const count = s.batch * s.outChannels * spatial;
      const x = randomArray(s.batch * s.inChannels * s.inHeight * s.inWidth, rng);
      const w = randomArray(s.outChannels * s.inChannels * s.kernel * s.kernel, rng);
      const p = randomBn(s.outChannels, rng);
      const expected = batchnorm(conv2d(x, w, null, s), p, s.batch, s.outChannels, spatial, c.relu);

      const input = upload(ctx, x, 'conv-bn test input');
      const weights = upload(ctx, packConv2dWeights(w, s), 'conv-bn test weights');
      // (a) BN folded into the conv epilogue.
      const folded = foldBatchnorm(p);
      const yFolded = poisoned(ctx, count, 'conv with folded BN output');
      const convFolded = conv2dDispatch(ctx, s, {
        input, weights, scale: upload(ctx, folded.scale), shift: upload(ctx, folded.shift), output: yFolded,
      }, { relu: c.relu });
      // (b) plain conv, then the batchnorm kernel.
      const plain = biasAsScaleShift(s.outChannels);
      const yConv = poisoned(ctx, count, 'plain conv output');
      const yBn = poisoned(ctx, count, 'batchnorm kernel output');
      const convPlain = conv2dDispatch(ctx, s, {
        input, weights, scale: upload(ctx, plain.scale), shift: upload(ctx, plain.shift), output: yConv,
      }, { relu: false });
      const bn = batchnormDispatch(ctx, { batch: s.batch, channels: s.outChannels, spatial }, {
        x: yConv, mean: upload(ctx, p.mean), variance: upload(ctx, p.variance),
        gamma: upload(ctx, p.gamma), beta: upload(ctx, p.beta), y: yBn,
      }, { relu: c.relu });
      ctx.run([convFolded, convPlain, bn]);
      const [gotFolded, gotBn] = await ctx.readback([{ buffer: yFolded, byteLength: count * 4 }, { buffer: yBn, byteLength: count * 4 }]);
      expect(relativeError(gotFolded, expected), `folded epilogue, seed ${seed}`).toBeLessThanOrEqual(TOLERANCE);
      expect(relativeError(gotBn, expected), `conv then batchnorm kernel, seed ${seed}`).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});
