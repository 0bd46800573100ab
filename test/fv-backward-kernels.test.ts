// Backward kernels (gradients to the input, weights fixed) against the float64 references of
// test/reference/backward.ts, and those references against finite differences of the float64
// forwards of test/reference/cpu.ts.

import { describe, expect, it } from 'vitest';
import { addBackwardDispatch } from '../src/kernels/add-backward';
import { batchnormBackwardDispatch } from '../src/kernels/batchnorm-backward';
import { type Conv2dShape, conv2dDispatch, conv2dOutputSize, packConv2dWeights } from '../src/kernels/conv2d';
import { conv2dBackwardDispatch, conv2dBackwardKernel, packConv2dWeightsTransposed } from '../src/kernels/conv2d-backward';
import { conv2dWeightsTransposeDispatch, transposedWeightsLength } from '../src/kernels/conv2d-weights-transpose';
import { globalAvgPoolBackwardDispatch } from '../src/kernels/global-avgpool-backward';
import { maxpool2dArgmaxLength, maxpool2dBackwardDispatches, maxpool2dOutputSize } from '../src/kernels/maxpool2d-backward';
import { reluBackwardDispatch } from '../src/kernels/relu-backward';
import {
  batchnormBackward, conv2dBackwardData, finiteDifferenceError, globalAvgPoolBackward, maxpool2dArgmax,
  maxpool2dBackward, reluBackward, sampleIndices,
} from './reference/backward';
import { batchnorm, conv2d, globalAvgPool, maxpool2d } from './reference/cpu';
import { download, freshSeed, makeRng, poisoned, randomArray, relativeError, upload } from './helpers/gpu';
import { testContext } from './fv-context';
import perTapBackward from './reference/conv2d-backward-per-tap.wgsl';

const PER_TAP_BACKWARD = conv2dBackwardKernel('conv2d-backward-per-tap', perTapBackward);

// Tolerance for the convolution gradient: 1e-5 of the reference's largest magnitude. Each dx
// element is a float32 sum of n = Cout * (K/S)^2 products (at most 64 * 9 = 576 here) of values in
// [-1, 1] times a scale in [0.5, 1.5], accumulated as vec4 dot products. As for the forward
// convolution, the sum grows like sqrt(n) and its rounding error like sqrt(n) * eps * sqrt(n), so
// relative to the output's scale the error is about sqrt(n) * eps = 24 * 6e-8 = 1.4e-6, with the
// worst case n * eps / 4 = 8.6e-6 for the largest reduction: both under 1e-5.
const CONV_TOLERANCE = 1e-5;
// Element-wise kernels with one or two roundings (a division, a sqrt, a sum of 4 values at most):
// a few float32 ulps, 1e-6 of the scale with a wide margin.
const ELEMENTWISE_TOLERANCE = 1e-6;
// Finite differences of the float64 references (central, h = 1e-6): truncation is zero for linear
// maps and O(h^2) elsewhere; cancellation costs ~1e-16 / 1e-6 = 1e-10 of the loss's scale.
const FD_TOLERANCE = 1e-6;

const convShape = (batch: number, inChannels: number, inHeight: number, inWidth: number, outChannels: number,
  kernel: number, stride: number, padding: number): Conv2dShape =>
  ({ batch, inChannels, inHeight, inWidth, outChannels, kernel, stride, padding });

interface ConvCase { name: string; shape: Conv2dShape; addend?: boolean; mask?: boolean }

const convCases: ConvCase[] = [
  { name: 'stem 7x7 s2 p3, batch 2, odd size 23x19, Cin 3, Cout 10', shape: convShape(2, 3, 23, 19, 10, 7, 2, 3) },
  { name: 'stem 7x7 s2 p3, even size 16x18, Cout 8', shape: convShape(1, 3, 16, 18, 8, 7, 2, 3) },
  { name: '3x3 s1 p1, batch 2, 9x13, Cin 5, Cout 6', shape: convShape(2, 5, 9, 13, 6, 3, 1, 1) },
  { name: '3x3 s2 p1, batch 2, 15x11, Cin 7, Cout 9', shape: convShape(2, 7, 15, 11, 9, 3, 2, 1) },
  { name: '3x3 s2 p1, even 8x8, Cin 8, Cout 4', shape: convShape(1, 8, 8, 8, 4, 3, 2, 1) },
  { name: '1x1 s2 p0 (downsample), batch 2, 9x7, Cin 12, Cout 13', shape: convShape(2, 12, 9, 7, 13, 1, 2, 0) },
  { name: '1x1 s1 p0, 5x6, Cin 4, Cout 7', shape: convShape(1, 4, 5, 6, 7, 1, 1, 0) },
  { name: '3x3 s1 p1, Cin 64, Cout 64 (n = 576), batch 2, with addend and ReLU mask',
    shape: convShape(2, 64, 6, 7, 64, 3, 1, 1), addend: true, mask: true },
  { name: '3x3 s2 p1, batch 2, 7x9, Cin 6, Cout 8, ReLU mask only', shape: convShape(2, 6, 7, 9, 8, 3, 2, 1), mask: true },
  { name: '1x1 s2 p0, 11x10, Cin 5, Cout 4, addend only', shape: convShape(1, 5, 11, 10, 4, 1, 2, 0), addend: true },
];

describe('conv2d backward (data gradient)', () => {
  for (const c of convCases) {
    it(`matches the float64 reference: ${c.name}`, async () => {
      const ctx = await testContext();
      const seed = freshSeed();
      const rng = makeRng(seed);
      const s = c.shape;
      const [oh, ow] = conv2dOutputSize(s);
      const inCount = s.batch * s.inChannels * s.inHeight * s.inWidth;
      const dy = randomArray(s.batch * s.outChannels * oh * ow, rng);
      const w = randomArray(s.outChannels * s.inChannels * s.kernel * s.kernel, rng);
      const scale = randomArray(s.outChannels, rng, 0.5, 1.5);
      const addend = randomArray(inCount, rng);
      // A mask with exact zeros as well as signs: the gradient at 0 must be 0.
      const mask = randomArray(inCount, rng).map((v) => (Math.abs(v) < 0.1 ? 0 : v));
      const out = poisoned(ctx, inCount, 'conv2d-backward test dx');
      // The transposed weights made on the GPU from the forward's packing (as BackwardPlan does).
      const wt = poisoned(ctx, transposedWeightsLength(s));
      ctx.run([conv2dWeightsTransposeDispatch(ctx, s, { weights: upload(ctx, packConv2dWeights(w, s)), scale: upload(ctx, scale), output: wt })]);
      expect(Array.from(await download(ctx, wt, transposedWeightsLength(s))), `seed ${seed}`)
        .toEqual(Array.from(packConv2dWeightsTransposed(w, scale, s)));
      ctx.run([conv2dBackwardDispatch(ctx, s, {
        gradOutput: upload(ctx, dy), weightsTransposed: wt,
        gradInput: out,
        addend: c.addend ? upload(ctx, addend) : undefined,
        mask: c.mask ? upload(ctx, mask) : undefined,
      })]);
      const got = await download(ctx, out, inCount);
      let expected = conv2dBackwardData(dy, w, scale, s);
      if (c.addend) expected = expected.map((v, i) => v + addend[i]);
      if (c.mask) expected = reluBackward(expected, mask);
      expect(relativeError(got, expected), `seed ${seed}`).toBeLessThanOrEqual(CONV_TOLERANCE);
    });
  }

  // The kernel's sums per output are pinned, not just their accuracy: bit for bit those of the
  // per-tap form (test/reference/conv2d-backward-per-tap.wgsl), both compiled by the adapter
  // under test, at every stride-2 case and at sizes with several column blocks and a remainder,
  // with 1, 3 and 8 groups of 4 input channels per thread (channel counts that leave the last
  // thread's groups partly or wholly past Cin), each with its weights loaded per lane and shared
  // across subgroups (conv2d-backward-subgroup.wgsl) on a device with 'subgroups' (both CPU
  // adapters here; elsewhere the test checks that the shared form is refused).
  const bitCases: ConvCase[] = [
    ...convCases.filter((c) => c.shape.stride === 2),
    { name: 'stem 7x7 s2 p3, 40x37, Cin 3, Cout 6', shape: convShape(1, 3, 40, 37, 6, 7, 2, 3) },
    { name: '3x3 s2 p1, 29x27, Cin 9, Cout 5, addend and mask', shape: convShape(2, 9, 29, 27, 5, 3, 2, 1), addend: true, mask: true },
    { name: '3x3 s2 p1, 13x12, Cin 37, Cout 7', shape: convShape(1, 37, 13, 12, 7, 3, 2, 1) },
    { name: '1x1 s2 p0, 10x9, Cin 70, Cout 6, ReLU mask', shape: convShape(1, 70, 10, 9, 6, 1, 2, 0), mask: true },
  ];
  const channelGroupCounts = [1, 3, 8];
  for (const c of bitCases) {
    it(`is bit-identical to the per-tap form: ${c.name}`, async () => {
      const ctx = await testContext();
      const seed = freshSeed();
      const rng = makeRng(seed);
      const s = c.shape;
      const [oh, ow] = conv2dOutputSize(s);
      const inCount = s.batch * s.inChannels * s.inHeight * s.inWidth;
      const dy = upload(ctx, randomArray(s.batch * s.outChannels * oh * ow, rng));
      const w = randomArray(s.outChannels * s.inChannels * s.kernel * s.kernel, rng);
      const wt = upload(ctx, packConv2dWeightsTransposed(w, randomArray(s.outChannels, rng, 0.5, 1.5), s));
      const addend = c.addend ? upload(ctx, randomArray(inCount, rng)) : undefined;
      const mask = c.mask ? upload(ctx, randomArray(inCount, rng).map((v) => (Math.abs(v) < 0.1 ? 0 : v))) : undefined;
      const buffers = { gradOutput: dy, weightsTransposed: wt, addend, mask };
      const shared = ctx.fixedSubgroupSize !== null;
      if (!shared) {
        expect(() => conv2dBackwardDispatch(ctx, s, { ...buffers, gradInput: ctx.placeholder }, 'refused', 1, true)).toThrow(ctx.subgroupSizes ? /subgroups of one size/ : /'subgroups' feature/);
      }
      const forms = channelGroupCounts.flatMap((groups) => (shared ? [false, true] : [false]).map((subgroupWeights) => ({ groups, subgroupWeights })));
      const formName = (f: { groups: number; subgroupWeights: boolean }) => `${f.groups} channel groups${f.subgroupWeights ? ', weights shared across subgroups' : ''}`;
      const got = forms.map(() => poisoned(ctx, inCount));
      const want = poisoned(ctx, inCount);
      const colBlocks = Math.ceil(Math.ceil(s.inWidth / s.stride) / 4);
      ctx.run([
        ...forms.map((f, i) => conv2dBackwardDispatch(ctx, s, { ...buffers, gradInput: got[i] }, `conv2d-backward test, ${formName(f)}`, f.groups, f.subgroupWeights)),
        ctx.dispatch('conv2d-backward per tap', PER_TAP_BACKWARD, {
          constants: { KSIZE: s.kernel, STRIDE: s.stride, WG: 64 },
          params: {
            inChannels: s.inChannels, inHeight: s.inHeight, inWidth: s.inWidth, outChannels: s.outChannels,
            outHeight: oh, outWidth: ow, padding: s.padding, add: addend ? 1 : 0, mask: mask ? 1 : 0,
          },
          buffers: [dy, wt, addend ?? ctx.placeholder, mask ?? ctx.placeholder, want],
          workgroups: [Math.ceil(Math.ceil(s.inHeight / s.stride) * colBlocks / 64), Math.ceil(s.inChannels / 4), s.batch * s.stride * s.stride],
        }),
      ]);
      const [b, ...outs] = await ctx.readback([want, ...got].map((buffer) => ({ buffer, byteLength: inCount * 4 })));
      outs.forEach((a, k) => {
        let mismatches = 0;
        for (let i = 0; i < inCount; i++) if (!Object.is(a[i], b[i])) mismatches++;
        expect(mismatches, `seed ${seed}, ${formName(forms[k])}`).toBe(0);
      });
    });
  }

  it('refuses a channel-group count the shader cannot hold', async () => {
    const ctx = await testContext();
    const s = convShape(1, 8, 6, 6, 4, 3, 2, 1);
    const b = { gradOutput: ctx.placeholder, weightsTransposed: ctx.placeholder, gradInput: ctx.placeholder };
    for (const groups of [0, 9, 2.5]) {
      expect(() => conv2dBackwardDispatch(ctx, s, b, 'conv2d-backward test', groups)).toThrow(/channelGroups must be an integer from 1 to 8, got/);
    }
  });

  it('float64 reference agrees with finite differences of the forward (every conv case)', () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    for (const c of convCases.slice(0, 7)) {
      const s = c.shape;
      const [oh, ow] = conv2dOutputSize(s);
      const x = Float64Array.from(randomArray(s.batch * s.inChannels * s.inHeight * s.inWidth, rng));
      const w = randomArray(s.outChannels * s.inChannels * s.kernel * s.kernel, rng);
      const scale = randomArray(s.outChannels, rng, 0.5, 1.5);
      const r = randomArray(s.batch * s.outChannels * oh * ow, rng);
      const forward = (v: Float64Array) => {
        const y = conv2d(v, w, null, s);
        const plane = oh * ow;
        return y.map((val, i) => val * scale[Math.floor(i / plane) % s.outChannels]);
      };
      const grad = conv2dBackwardData(r, w, scale, s);
      const err = finiteDifferenceError(forward, x, r, grad, sampleIndices(x.length, 12, rng));
      expect(err, `${c.name}, seed ${seed}`).toBeLessThanOrEqual(FD_TOLERANCE);
    }
  });
});

describe('stride-1 data gradient as a forward convolution (what BackwardPlan runs)', () => {
  for (const c of convCases.filter((k) => k.shape.stride === 1)) {
    it(`conv2d(dy, flipped transposed weights, padding K-1-P) + add-backward: ${c.name}`, async () => {
      const ctx = await testContext();
      const seed = freshSeed();
      const rng = makeRng(seed);
      const s = c.shape;
      const [oh, ow] = conv2dOutputSize(s);
      const inCount = s.batch * s.inChannels * s.inHeight * s.inWidth;
      const dy = randomArray(s.batch * s.outChannels * oh * ow, rng);
      const w = randomArray(s.outChannels * s.inChannels * s.kernel * s.kernel, rng);
      const scale = randomArray(s.outChannels, rng, 0.5, 1.5);
      const addend = randomArray(inCount, rng);
      const mask = randomArray(inCount, rng).map((v) => (Math.abs(v) < 0.1 ? 0 : v));
      const asConv = { batch: s.batch, inChannels: s.outChannels, inHeight: oh, inWidth: ow, outChannels: s.inChannels,
        kernel: s.kernel, stride: 1, padding: s.kernel - 1 - s.padding };
      const wt = poisoned(ctx, transposedWeightsLength(s));
      ctx.run([conv2dWeightsTransposeDispatch(ctx, s, { weights: upload(ctx, packConv2dWeights(w, s)), scale: upload(ctx, scale), output: wt }, { flip: true })]);
      expect(Array.from(await download(ctx, wt, transposedWeightsLength(s))), `seed ${seed}`)
        .toEqual(Array.from(packConv2dWeightsTransposed(w, scale, s, true)));
      const out = poisoned(ctx, inCount);
      ctx.run([
        conv2dDispatch(ctx, asConv, { input: upload(ctx, dy), weights: wt, scale: upload(ctx, new Float32Array(s.inChannels).fill(1)),
          shift: upload(ctx, new Float32Array(s.inChannels)), output: out }, { relu: false }),
        addBackwardDispatch(ctx, inCount, { gradient: c.addend ? upload(ctx, addend) : undefined, mask: c.mask ? upload(ctx, mask) : undefined, accumulator: out }),
      ]);
      let expected = conv2dBackwardData(dy, w, scale, s);
      if (c.addend) expected = expected.map((v, i) => v + addend[i]);
      if (c.mask) expected = reluBackward(expected, mask);
      expect(relativeError(await download(ctx, out, inCount), expected), `seed ${seed}`).toBeLessThanOrEqual(CONV_TOLERANCE);
    });
  }
});

describe('maxpool2d backward', () => {
  const poolCases = [
    { name: '3x3 s2 p1, batch 2, odd 13x11, C 3', s: { batch: 2, channels: 3, inHeight: 13, inWidth: 11, kernel: 3, stride: 2, padding: 1 } },
    { name: '3x3 s2 p1, even 12x10, C 2', s: { batch: 1, channels: 2, inHeight: 12, inWidth: 10, kernel: 3, stride: 2, padding: 1 } },
    { name: '2x2 s2 p0, 7x9', s: { batch: 2, channels: 2, inHeight: 7, inWidth: 9, kernel: 2, stride: 2, padding: 0 } },
    { name: '3x3 s1 p1, 5x6', s: { batch: 1, channels: 3, inHeight: 5, inWidth: 6, kernel: 3, stride: 1, padding: 1 } },
    // Strides above the gather's 2x2 block, and inputs smaller than one block or window.
    { name: '5x5 s3 p2, 11x10', s: { batch: 1, channels: 2, inHeight: 11, inWidth: 10, kernel: 5, stride: 3, padding: 2 } },
    { name: '3x3 s3 p0, 9x8', s: { batch: 2, channels: 2, inHeight: 9, inWidth: 8, kernel: 3, stride: 3, padding: 0 } },
    { name: '3x3 s2 p1, 1x1', s: { batch: 1, channels: 2, inHeight: 1, inWidth: 1, kernel: 3, stride: 2, padding: 1 } },
    { name: '3x3 s2 p1, 2x3', s: { batch: 1, channels: 2, inHeight: 2, inWidth: 3, kernel: 3, stride: 2, padding: 1 } },
  ];
  for (const c of poolCases) {
    for (const ties of [false, true]) {
      it(`matches the reference, ${ties ? 'with many ties (values in {0,1,2})' : 'continuous values'}: ${c.name}`, async () => {
        const ctx = await testContext();
        const seed = freshSeed();
        const rng = makeRng(seed);
        const s = c.s;
        const [oh, ow] = maxpool2dOutputSize(s);
        const inCount = s.batch * s.channels * s.inHeight * s.inWidth;
        const x = ties ? randomArray(inCount, rng).map((v) => Math.floor((v + 1) * 1.5)) : randomArray(inCount, rng);
        const dy = randomArray(s.batch * s.channels * oh * ow, rng);
        for (const reluMask of [false, true]) {
          const out = poisoned(ctx, inCount);
          ctx.run(maxpool2dBackwardDispatches(ctx, s, { input: upload(ctx, x), gradOutput: upload(ctx, dy), gradInput: out, argmax: poisoned(ctx, maxpool2dArgmaxLength(s)) }, { reluMask }));
          const got = await download(ctx, out, inCount);
          let expected = maxpool2dBackward(x, dy, s);
          if (reluMask) expected = reluBackward(expected, x);
          expect(relativeError(got, expected), `seed ${seed}, reluMask ${reluMask}`).toBeLessThanOrEqual(ELEMENTWISE_TOLERANCE);
        }
      });
    }
  }

  it('routes ties to the first maximum in scan order (PyTorch), padding never wins', async () => {
    // A 4x4 plane of equal values: with 3x3 s2 p1 the windows start at (-1,-1), (-1,1), (1,-1), (1,1);
    // each picks its first in-image position: (0,0), (0,1), (1,0), (1,1).
    const ctx = await testContext();
    const s = { batch: 1, channels: 1, inHeight: 4, inWidth: 4, kernel: 3, stride: 2, padding: 1 };
    const x = new Float32Array(16).fill(-2); // negative: padding (-inf) must still never win
    const dy = Float32Array.from([1, 10, 100, 1000]);
    expect(Array.from(maxpool2dArgmax(x, s))).toEqual([0, 1, 4, 5]);
    const out = poisoned(ctx, 16);
    ctx.run(maxpool2dBackwardDispatches(ctx, s, { input: upload(ctx, x), gradOutput: upload(ctx, dy), gradInput: out, argmax: poisoned(ctx, maxpool2dArgmaxLength(s)) }));
    const got = await download(ctx, out, 16);
    const expected = new Float32Array(16);
    expected[0] = 1;
    expected[1] = 10;
    expected[4] = 100;
    expected[5] = 1000;
    expect(Array.from(got)).toEqual(Array.from(expected));
  });

  it('sums each element\'s windows in scan order (oy, then ox ascending), bit for bit, the ReLU mask exact', async () => {
    // Tie-heavy x sends up to 4 windows' dy to one element; dy spans magnitudes so that any other
    // order of the float32 sum would round differently. Expected: that sum in float32, in order.
    const ctx = await testContext();
    const seed = freshSeed();
    const rng = makeRng(seed);
    for (const s of [
      { batch: 2, channels: 3, inHeight: 15, inWidth: 14, kernel: 3, stride: 2, padding: 1 },
      { batch: 1, channels: 2, inHeight: 8, inWidth: 9, kernel: 3, stride: 1, padding: 1 },
    ]) {
      const [oh, ow] = maxpool2dOutputSize(s);
      const plane = s.inHeight * s.inWidth;
      const inCount = s.batch * s.channels * plane;
      const x = randomArray(inCount, rng).map((v) => Math.floor((v + 1) * 1.5) - 1); // {-1, 0, 1, 2}
      const dy = randomArray(s.batch * s.channels * oh * ow, rng).map((v) => v * 10 ** Math.floor(rng() * 8 - 4));
      const arg = maxpool2dArgmax(x, s);
      for (const reluMask of [false, true]) {
        const expected = new Float32Array(inCount);
        for (let j = 0; j < arg.length; j++) { // j ascending: oy, then ox ascending, within each plane
          const at = Math.floor(j / (oh * ow)) * plane + arg[j];
          expected[at] = Math.fround(expected[at] + dy[j]);
        }
        if (reluMask) for (let i = 0; i < inCount; i++) if (!(x[i] > 0)) expected[i] = 0;
        const out = poisoned(ctx, inCount);
        ctx.run(maxpool2dBackwardDispatches(ctx, s, {
          input: upload(ctx, x), gradOutput: upload(ctx, dy), gradInput: out, argmax: poisoned(ctx, maxpool2dArgmaxLength(s)),
        }, { reluMask }));
        const got = await download(ctx, out, inCount);
        expect(Array.from(new Uint32Array(got.buffer)), `seed ${seed}, ${s.kernel}/${s.stride}/${s.padding}, reluMask ${reluMask}`)
          .toEqual(Array.from(new Uint32Array(expected.buffer)));
      }
    }
  });

  it('float64 reference agrees with finite differences of the forward', () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    for (const c of poolCases) {
      const s = c.s;
      const [oh, ow] = maxpool2dOutputSize(s);
      const x = Float64Array.from(randomArray(s.batch * s.channels * s.inHeight * s.inWidth, rng));
      const r = randomArray(s.batch * s.channels * oh * ow, rng);
      const grad = maxpool2dBackward(x, r, s);
      const err = finiteDifferenceError((v) => maxpool2d(v, s), x, r, grad, sampleIndices(x.length, 30, rng));
      expect(err, `${c.name}, seed ${seed}`).toBeLessThanOrEqual(FD_TOLERANCE);
    }
  });
});

describe('element-wise backward kernels', () => {
  it('relu backward: dy where the activation is positive, 0 at and below 0', async () => {
    const ctx = await testContext();
    const seed = freshSeed();
    const rng = makeRng(seed);
    const count = 2 * 5 * 7 * 9 + 3;
    const dy = randomArray(count, rng);
    const act = randomArray(count, rng).map((v) => (Math.abs(v) < 0.2 ? 0 : v));
    const out = poisoned(ctx, count);
    ctx.run([reluBackwardDispatch(ctx, count, { gradOutput: upload(ctx, dy), activation: upload(ctx, act), gradInput: out })]);
    expect(relativeError(await download(ctx, out, count), reluBackward(dy, act)), `seed ${seed}`).toBe(0);
    // The reference against finite differences of relu (away from its kink).
    const x = Float64Array.from(randomArray(50, rng));
    const r = randomArray(50, rng);
    const err = finiteDifferenceError((v) => v.map((e) => Math.max(e, 0)), x, r, reluBackward(r, x), sampleIndices(50, 50, rng));
    expect(err).toBeLessThanOrEqual(FD_TOLERANCE);
  });

  it('add backward: the fan-out accumulation acc += g, optionally through a ReLU mask, in place', async () => {
    const ctx = await testContext();
    const seed = freshSeed();
    const rng = makeRng(seed);
    const count = 3 * 11 * 13;
    const a = randomArray(count, rng);
    const g = randomArray(count, rng);
    const act = randomArray(count, rng).map((v) => (Math.abs(v) < 0.2 ? 0 : v));
    for (const [add, masked] of [[true, false], [true, true], [false, true]]) {
      const acc = upload(ctx, a);
      ctx.run([addBackwardDispatch(ctx, count, { gradient: add ? upload(ctx, g) : undefined, mask: masked ? upload(ctx, act) : undefined, accumulator: acc })]);
      let expected: Float64Array = Float64Array.from(a, (v, i) => (add ? v + g[i] : v));
      if (masked) expected = reluBackward(expected, act);
      expect(relativeError(await download(ctx, acc, count), expected), `seed ${seed}`).toBeLessThanOrEqual(ELEMENTWISE_TOLERANCE);
    }
  });

  it('global average pool backward, and its reference against finite differences', async () => {
    const ctx = await testContext();
    const seed = freshSeed();
    const rng = makeRng(seed);
    const s = { batch: 2, channels: 5, height: 7, width: 3 };
    const spatial = s.height * s.width;
    const dy = randomArray(s.batch * s.channels, rng);
    const count = s.batch * s.channels * spatial;
    const out = poisoned(ctx, count);
    ctx.run([globalAvgPoolBackwardDispatch(ctx, s, { gradOutput: upload(ctx, dy), gradInput: out })]);
    const expected = globalAvgPoolBackward(dy, s.batch, s.channels, spatial);
    expect(relativeError(await download(ctx, out, count), expected), `seed ${seed}`).toBeLessThanOrEqual(ELEMENTWISE_TOLERANCE);
    const x = Float64Array.from(randomArray(count, rng));
    const err = finiteDifferenceError((v) => globalAvgPool(v, s.batch, s.channels, spatial), x, dy, expected, sampleIndices(count, 20, rng));
    expect(err).toBeLessThanOrEqual(FD_TOLERANCE);
  });

  it('batchnorm backward (eval), and its reference against finite differences', async () => {
    const ctx = await testContext();
    const seed = freshSeed();
    const rng = makeRng(seed);
    const batch = 2;
    const channels = 6;
    const spatial = 5 * 3;
    const count = batch * channels * spatial;
    const dy = randomArray(count, rng);
    const p = {
      gamma: randomArray(channels, rng, -1.5, 1.5), variance: randomArray(channels, rng, 0.01, 2),
      mean: randomArray(channels, rng), beta: randomArray(channels, rng),
    };
    const out = poisoned(ctx, count);
    ctx.run([batchnormBackwardDispatch(ctx, { batch, channels, spatial },
      { gradOutput: upload(ctx, dy), gamma: upload(ctx, p.gamma), variance: upload(ctx, p.variance), gradInput: out })]);
    const expected = batchnormBackward(dy, p.gamma, p.variance, batch, channels, spatial);
    expect(relativeError(await download(ctx, out, count), expected), `seed ${seed}`).toBeLessThanOrEqual(ELEMENTWISE_TOLERANCE);
    const x = Float64Array.from(randomArray(count, rng));
    const err = finiteDifferenceError((v) => batchnorm(v, p, batch, channels, spatial, false), x, dy, expected, sampleIndices(count, 20, rng));
    expect(err).toBeLessThanOrEqual(FD_TOLERANCE);
  });
});
