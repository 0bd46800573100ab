// Grouped convolution (ResNeXt), forward and backward to the input, against the float64 reference
// of test/reference/grouped-conv.ts on fresh random data of awkward shapes: groups 32 and 64, 4 and
// 8 channels per group, stride 2, batch > 1, odd sizes, padding that leaves border outputs with
// part of the window, and groups = 1 (the plain convolution).

import { describe, expect, it } from 'vitest';
import { biasAsScaleShift, conv2dOutputSize } from '../src/kernels/conv2d';
import { type GroupedConv2dShape, groupedConv2dBackwardDispatch, groupedConv2dDispatch } from '../src/kernels/conv2d-grouped';
import { channelAffine } from './reference/cpu';
import { groupedConv2d, groupedConv2dBackwardData } from './reference/grouped-conv';
import { download, freshSeed, makeRng, poisoned, randomArray, relativeError, reluCase, testContext, upload } from './helpers/gpu';

// Tolerance: 1e-5 of the output's largest magnitude, as for conv2d (kernels-conv2d.test.ts): a
// grouped output sums n = (Cin/G)*K*K <= 72 products here (the backward's dx sums (Cout/G)*K*K /
// S^2 terms), so float32's rounding is about sqrt(n) * eps ~ 5e-7 of the scale, far below it.
const TOLERANCE = 1e-5;

const shape = (batch: number, inChannels: number, inHeight: number, inWidth: number, outChannels: number,
  kernel: number, stride: number, padding: number, groups: number): GroupedConv2dShape =>
  ({ batch, inChannels, inHeight, inWidth, outChannels, kernel, stride, padding, groups });

/** relu 'both': y before the ReLU and a second output after it (ReluOptions.reluOutput). */
const cases: { name: string; shape: GroupedConv2dShape; relu: boolean | 'both' }[] = [
  { name: '32 groups of 4 channels (resnext50_32x4d layer1), 3x3 s1 p1, batch 2, 9x11', shape: shape(2, 128, 9, 11, 128, 3, 1, 1, 32), relu: true },
  { name: '32 groups of 8 (resnext101_32x8d layer1), 3x3 s2 p1, odd size 13x7', shape: shape(1, 256, 13, 7, 256, 3, 2, 1, 32), relu: false },
  { name: '64 groups of 4 (resnext101_64x4d layer1), 3x3 s2 p1, batch 3, 6x6', shape: shape(3, 256, 6, 6, 256, 3, 2, 1, 64), relu: true },
  { name: '8 groups, 3 in / 5 out channels per group, 3x3 s1 p2', shape: shape(2, 24, 5, 9, 40, 3, 1, 2, 8), relu: false },
  { name: 'groups = 1 (a plain 3x3 s2 p1), Cin 7, Cout 9', shape: shape(1, 7, 15, 11, 9, 3, 2, 1, 1), relu: true },
  { name: '1x1 s2 p0 in 4 groups, batch 2', shape: shape(2, 16, 9, 7, 12, 1, 2, 0, 4), relu: false },
  { name: '32 groups of 4 on a 2x2 map, 3x3 s2 p1 to 1x1', shape: shape(1, 128, 2, 2, 128, 3, 2, 1, 32), relu: true },
  { name: 'both outputs: 32 groups of 4, 3x3 s1 p1, batch 2, 5x7', shape: shape(2, 128, 5, 7, 128, 3, 1, 1, 32), relu: 'both' },
];

describe('grouped conv2d kernel', () => {
  for (const c of cases) {
    it(`forward matches the float64 reference: ${c.name}`, async () => {
      const ctx = await testContext();
      const seed = freshSeed();
      const rng = makeRng(seed);
      const s = c.shape;
      const [oh, ow] = conv2dOutputSize(s);
      const x = randomArray(s.batch * s.inChannels * s.inHeight * s.inWidth, rng);
      const w = randomArray(s.outChannels * (s.inChannels / s.groups) * s.kernel * s.kernel, rng);
      const scale = randomArray(s.outChannels, rng, 0.5, 1.5);
      const shift = randomArray(s.outChannels, rng, -0.5, 0.5);
      const count = s.batch * s.outChannels * oh * ow;
      const out = poisoned(ctx, count, 'grouped conv test output');
      const relu = reluCase(ctx, c.relu, count, 'grouped conv test');
      ctx.run([groupedConv2dDispatch(ctx, s, {
        input: upload(ctx, x), weights: upload(ctx, w), scale: upload(ctx, scale), shift: upload(ctx, shift), output: out,
      }, relu.opts)]);
      const y = await download(ctx, out, count);
      const expected = channelAffine(groupedConv2d(x, w, null, s), scale, shift, s.batch, s.outChannels, oh * ow, relu.referenceRelu);
      expect(relativeError(y, expected), `seed ${seed}`).toBeLessThanOrEqual(TOLERANCE);
      await relu.check(y);
    });

    it(`backward to the input matches the float64 reference, with addend and ReLU mask: ${c.name}`, async () => {
      const ctx = await testContext();
      const seed = freshSeed();
      const rng = makeRng(seed);
      const s = c.shape;
      const [oh, ow] = conv2dOutputSize(s);
      const inCount = s.batch * s.inChannels * s.inHeight * s.inWidth;
      const dy = randomArray(s.batch * s.outChannels * oh * ow, rng);
      const w = randomArray(s.outChannels * (s.inChannels / s.groups) * s.kernel * s.kernel, rng);
      const { scale } = c.relu ? { scale: randomArray(s.outChannels, rng, 0.5, 1.5) } : biasAsScaleShift(s.outChannels);
      const addend = randomArray(inCount, rng);
      const mask = randomArray(inCount, rng); // about half <= 0
      for (const withExtras of [false, true]) {
        const dx = poisoned(ctx, inCount, 'grouped conv backward test dx');
        ctx.run([groupedConv2dBackwardDispatch(ctx, s, {
          dy: upload(ctx, dy), weights: upload(ctx, w), scale: upload(ctx, scale), dx,
          ...(withExtras ? { addend: upload(ctx, addend), mask: upload(ctx, mask) } : {}),
        })]);
        const got = await download(ctx, dx, inCount);
        const ref = groupedConv2dBackwardData(dy, w, scale, s);
        const expected = withExtras ? ref.map((v, i) => (mask[i] <= 0 ? 0 : v + addend[i])) : ref;
        expect(relativeError(got, expected), `seed ${seed}, addend and mask ${withExtras}`).toBeLessThanOrEqual(TOLERANCE);
      }
    });
  }

  it('refuses channels that do not split into the groups, in one line', async () => {
    const ctx = await testContext();
    const b = upload(ctx, new Float32Array(16));
    expect(() => groupedConv2dDispatch(ctx, shape(1, 6, 4, 4, 8, 3, 1, 1, 4), { input: b, weights: b, scale: b, shift: b, output: b }, { relu: false }))
      .toThrow(/6 -> 8 channels do not split into 4 groups$/);
  });
});
