// The tiled implicit-GEMM convolution (shaders/conv2d-gemm.wgsl) and its split over the taps
// (shaders/conv2d-splitk-reduce.wgsl) against the float64 reference, on fresh random data of awkward
// shapes: partial tiles in both channels and pixels, tap counts that are not multiples of the
// 16-tap step, splits whose last chunk is short, every kernel size and stride of the ResNets.

import { describe, expect, it } from 'vitest';
import { type Conv2dShape, biasAsScaleShift, conv2dOutputSize, packConv2dWeights } from '../src/kernels/conv2d';
import { conv2dGemmDispatches, gemmScratchBytes, gemmSplitK } from '../src/kernels/conv2d-gemm';
import { channelAffine, conv2d } from './reference/cpu';
import { download, freshSeed, makeRng, poisoned, randomArray, relativeError, reluCase, testContext, upload } from './helpers/gpu';

// Tolerance: 1e-5 of the output's largest magnitude, as for conv2d.wgsl (kernels-conv2d.test.ts):
// the error of a float32 sum of n products relative to its scale is about sqrt(n) * eps; the
// largest reduction here (n = 4608, layer4's 3x3 over 512 channels) gives 68 * 6e-8 = 4e-6. Split-K
// only reorders the same sum (partial sums of chunks, then their sum), which keeps that bound.
const TOLERANCE = 1e-5;

const shape = (batch: number, inChannels: number, inHeight: number, inWidth: number, outChannels: number,
  kernel: number, stride: number, padding: number): Conv2dShape =>
  ({ batch, inChannels, inHeight, inWidth, outChannels, kernel, stride, padding });

/** relu 'both': y before the ReLU and a second output after it (ReluOptions.reluOutput). */
interface Case { name: string; shape: Conv2dShape; relu: boolean | 'both'; affine: boolean; splitK?: number }

const cases: Case[] = [
  { name: 'stem 7x7 s2 p3, batch 2, odd size, Cout 10 (147 taps)', shape: shape(2, 3, 23, 19, 10, 7, 2, 3), relu: true, affine: true },
  { name: '3x3 s1 p1, Cin 5, Cout 6, batch 2 (45 taps: a partial step)', shape: shape(2, 5, 9, 13, 6, 3, 1, 1), relu: false, affine: false },
  { name: '3x3 s2 p1, Cin 7, Cout 9', shape: shape(1, 7, 15, 11, 9, 3, 2, 1), relu: true, affine: true },
  { name: '1x1 s2 p0 (downsample), batch 2, Cin 12, Cout 13', shape: shape(2, 12, 9, 7, 13, 1, 2, 0), relu: false, affine: true },
  { name: '1x1 s1 p1 (border outputs are the shift alone)', shape: shape(1, 4, 5, 3, 7, 1, 1, 1), relu: false, affine: true },
  { name: '3x3 s2 p1 on 2x2 to a 1x1 output', shape: shape(1, 4, 2, 2, 4, 3, 2, 1), relu: true, affine: true },
  { name: '7x7 s2 p3 on a 1x1 input', shape: shape(1, 3, 1, 1, 5, 7, 2, 3), relu: false, affine: false },
  { name: 'two channel tiles and 3 pixel tiles, partial both ways: Cout 70, 13x14, batch 1', shape: shape(1, 9, 13, 14, 70, 3, 1, 1), relu: true, affine: true, splitK: 1 },
  { name: 'Cin 64 (576 taps), batch 3, Cout 20, unsplit', shape: shape(3, 64, 6, 7, 20, 3, 1, 1), relu: true, affine: true, splitK: 1 },
  { name: 'Cin 64 (576 taps), batch 3, Cout 20, split in 5 (short last chunk)', shape: shape(3, 64, 6, 7, 20, 3, 1, 1), relu: true, affine: true, splitK: 5 },
  { name: 'layer4-like: Cin 512 (4608 taps), 3x3 on 3x3, Cout 67, automatic split', shape: shape(1, 512, 3, 3, 67, 3, 1, 1), relu: false, affine: true },
  { name: 'split 2 with ReLU, 1x1 over 96 channels, batch 2', shape: shape(2, 96, 5, 6, 33, 1, 1, 0), relu: true, affine: false, splitK: 2 },
  { name: 'both outputs, unsplit: Cout 70, 13x14', shape: shape(1, 9, 13, 14, 70, 3, 1, 1), relu: 'both', affine: true, splitK: 1 },
  { name: 'both outputs, split in 3: Cin 64, batch 2, Cout 20', shape: shape(2, 64, 6, 7, 20, 3, 1, 1), relu: 'both', affine: true, splitK: 3 },
];

describe('conv2d-gemm kernel', () => {
  for (const c of cases) {
    it(`matches the float64 reference: ${c.name}`, async () => {
      const ctx = await testContext();
      const seed = freshSeed();
      const rng = makeRng(seed);
      const s = c.shape;
      const [oh, ow] = conv2dOutputSize(s);
      const x = randomArray(s.batch * s.inChannels * s.inHeight * s.inWidth, rng);
      const w = randomArray(s.outChannels * s.inChannels * s.kernel * s.kernel, rng);
      const { scale, shift } = c.affine
        ? { scale: randomArray(s.outChannels, rng, 0.5, 1.5), shift: randomArray(s.outChannels, rng, -0.5, 0.5) }
        : biasAsScaleShift(s.outChannels, randomArray(s.outChannels, rng, -0.5, 0.5));
      const count = s.batch * s.outChannels * oh * ow;
      const out = poisoned(ctx, count, 'conv2d-gemm test output');
      const relu = reluCase(ctx, c.relu, count, 'conv2d-gemm test');
      const splitK = c.splitK ?? gemmSplitK(s);
      const scratchBytes = c.splitK ? splitK * count * 4 : gemmScratchBytes(s);
      const dispatches = conv2dGemmDispatches(ctx, s, {
        input: upload(ctx, x, 'conv2d-gemm test input'),
        weights: upload(ctx, packConv2dWeights(w, s), 'conv2d-gemm test weights'),
        scale: upload(ctx, scale, 'conv2d-gemm test scale'),
        shift: upload(ctx, shift, 'conv2d-gemm test shift'),
        output: out,
        ...(scratchBytes ? { scratch: poisoned(ctx, scratchBytes / 4, 'conv2d-gemm test scratch') } : {}),
      }, { ...relu.opts, splitK });
      expect(dispatches).toHaveLength(splitK > 1 ? 2 : 1);
      ctx.run(dispatches);
      const y = await download(ctx, out, count);
      const expected = channelAffine(conv2d(x, w, null, s), scale, shift, s.batch, s.outChannels, oh * ow, relu.referenceRelu);
      expect(relativeError(y, expected), `seed ${seed}, split ${splitK}`).toBeLessThanOrEqual(TOLERANCE);
      await relu.check(y);
    });
  }

  it('splits layers with few output tiles over their taps, and not the others', () => {
    // ResNet18 at 224, batch 1: layer4's 3x3 (49 pixels, 512 channels: 8 tiles) splits; conv1 does not.
    expect(gemmSplitK(shape(1, 512, 7, 7, 512, 3, 1, 1))).toBe(32);
    expect(gemmSplitK(shape(1, 3, 224, 224, 64, 7, 2, 3))).toBe(1);
    // Never into chunks shorter than 64 taps: 3 input channels of a 3x3 (27 taps) stay whole.
    expect(gemmSplitK(shape(1, 3, 8, 8, 8, 3, 1, 1))).toBe(1);
    expect(gemmScratchBytes(shape(1, 3, 224, 224, 64, 7, 2, 3))).toBe(0);
  });

  it('refuses a split without a large enough scratch buffer, in one line', async () => {
    const ctx = await testContext();
    const s = shape(1, 64, 4, 4, 8, 3, 1, 1);
    const buf = (n: number) => upload(ctx, new Float32Array(n), 'conv2d-gemm refusal buffer');
    expect(() => conv2dGemmDispatches(ctx, s, {
      input: buf(64 * 16), weights: buf(2 * 576 * 4), scale: buf(8), shift: buf(8), output: buf(8 * 16), scratch: buf(4),
    }, { relu: false, splitK: 3 })).toThrow(/split over 3 chunks needs a scratch buffer of 1536 bytes$/);
  });
});
