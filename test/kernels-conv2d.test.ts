import { describe, expect, it } from 'vitest';
import {
  type Conv2dShape, type Conv2dVariant, biasAsScaleShift, columnsPerThread, conv2dDispatch, conv2dOutputSize,
  conv2dVariantFor, fromFloat16Bits, packConv2dWeights, packConv2dWeightsF16, resolveConv2dVariant, stemRowsFor, subgroupWeightsFor, supportsF16, toFloat16Bits,
} from '../src/kernels/conv2d';
import { SINGLE_DISPATCH_VARIANTS, WINOGRAD_FILTER_BUDGET_BYTES, backwardConv2dVariantFor, paddedInputFor, winogradStride2For } from '../src/kernels/conv2d-variants';
import { conv2dBackwardDispatch, conv2dBackwardSubgroupWeights } from '../src/kernels/conv2d-backward';
import { conv2dWinogradDispatches, winogradScratchBytes, winogradSubgroupTiles } from '../src/kernels/conv2d-winograd';
import { zeroPadDispatch, zeroPadLength } from '../src/kernels/zero-pad';
import type { Dispatch, GpuContext } from '../src/gpu/context';
import { channelAffine, conv2d } from './reference/cpu';
import { download, freshSeed, makeRng, poisoned, randomArray, relativeError, reluCase, testContext, upload } from './helpers/gpu';

// Tolerance: 1e-5 of the output's largest magnitude. Each output is a float32 sum of n = Cin*K*K
// products of values in [-1, 1] (plus a float32 scale/shift, 2 more roundings). The sum's scale
// grows like sqrt(n) and its rounding error like sqrt(n) * eps * sqrt(n) (a random walk of n
// roundings of partial sums of size ~sqrt(n)), so the error relative to the output's scale is about
// sqrt(n) * eps = 24 * 6e-8 = 1.4e-6 for the largest reduction here (n = 576), and the worst-case
// bound n * eps / 4 (partial sums at most ~4 sigma) is 8.6e-6: both under 1e-5. The other cases keep
// n <= 200.
// The scale is the larger of the outputs' largest magnitude and the size that argument assumes
// for a sum of these terms, sqrt(sum (x w)^2) (times |scale_k|, plus |shift_k|): with a handful of
// outputs, all but one zeroed by the ReLU and that one nearly cancelled, the largest output can be
// far smaller (measured: one output of 0.0083, the others 0, and an error of 8.3e-8, 1.0e-5 of
// that output but 1.4e-7 of its sum's size; a kernel that is right). An indexing error still moves
// an output by O(1) of that size.
const TOLERANCE = 1e-5;

/** max |y - expected| over the larger of max |expected| and the largest sqrt(sum (x w)^2) * |scale_k| + |shift_k|. */
function sumRelativeError(y: Float32Array, expected: ArrayLike<number>, x: Float32Array, w: Float32Array,
  scale: ArrayLike<number>, shift: ArrayLike<number>, s: Conv2dShape, plane: number): number {
  const squares = conv2d(x.map((v) => v * v), w.map((v) => v * v), null, s);
  let sumScale = 0;
  for (let i = 0; i < squares.length; i++) {
    const k = Math.floor(i / plane) % s.outChannels;
    sumScale = Math.max(sumScale, Math.abs(scale[k]) * Math.sqrt(squares[i]) + Math.abs(shift[k]));
  }
  let outputScale = 0;
  let worst = 0;
  for (let i = 0; i < y.length; i++) {
    outputScale = Math.max(outputScale, Math.abs(expected[i]));
    const d = Math.abs(y[i] - expected[i]);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst / Math.max(outputScale, sumScale, 1e-30);
}

interface Case {
  name: string;
  shape: Conv2dShape;
  /** 'both': y before the ReLU and a second output after it (ReluOptions.reluOutput). */
  relu: boolean | 'both';
  /** 'affine'': random scale and shift (a folded BatchNorm); 'bias': scale 1, random shift; 'none': 1 and 0. */
  epilogue: 'affine' | 'bias' | 'none';
  maxWorkgroupsPerDimension?: number;
}

const shape = (batch: number, inChannels: number, inHeight: number, inWidth: number, outChannels: number,
  kernel: number, stride: number, padding: number): Conv2dShape =>
  ({ batch, inChannels, inHeight, inWidth, outChannels, kernel, stride, padding });

const cases: Case[] = [
  { name: 'stem 7x7 s2 p3, batch 2, odd size, Cout 10, relu, BN epilogue', shape: shape(2, 3, 23, 19, 10, 7, 2, 3), relu: true, epilogue: 'affine' },
  { name: 'stem 7x7 s2 p3 without relu, bias', shape: shape(1, 3, 16, 17, 6, 7, 2, 3), relu: false, epilogue: 'bias' },
  { name: '3x3 s1 p1, batch 2, Cin 5, Cout 6, no relu, bias', shape: shape(2, 5, 9, 13, 6, 3, 1, 1), relu: false, epilogue: 'bias' },
  { name: '3x3 s1 p1, Cin 16, Cout 8, relu, BN epilogue', shape: shape(1, 16, 11, 10, 8, 3, 1, 1), relu: true, epilogue: 'affine' },
  { name: '3x3 s2 p1, Cin 7, Cout 9, relu, BN epilogue', shape: shape(1, 7, 15, 11, 9, 3, 2, 1), relu: true, epilogue: 'affine' },
  { name: '3x3 s2 p1, batch 2, even size, Cout 3, no relu', shape: shape(2, 6, 8, 8, 3, 3, 2, 1), relu: false, epilogue: 'none' },
  { name: '1x1 s2 p0 (downsample), batch 2, Cin 12, Cout 13, BN epilogue', shape: shape(2, 12, 9, 7, 13, 1, 2, 0), relu: false, epilogue: 'affine' },
  { name: '1x1 s2 p0 with relu', shape: shape(1, 8, 6, 6, 5, 1, 2, 0), relu: true, epilogue: 'bias' },
  { name: '1x1 s1 p1 (border outputs are the shift alone)', shape: shape(1, 4, 5, 3, 7, 1, 1, 1), relu: false, epilogue: 'affine' },
  { name: '3x3 s1 p2 (wide padding)', shape: shape(1, 3, 4, 6, 4, 3, 1, 2), relu: true, epilogue: 'bias' },
  { name: '3x3 s1 p0 to a 1x1 output', shape: shape(2, 9, 3, 3, 5, 3, 1, 0), relu: false, epilogue: 'affine' },
  { name: '3x3 s2 p1 on 2x2 to a 1x1 output', shape: shape(1, 4, 2, 2, 4, 3, 2, 1), relu: true, epilogue: 'affine' },
  { name: '7x7 s2 p3 on a 1x1 input', shape: shape(1, 3, 1, 1, 5, 7, 2, 3), relu: false, epilogue: 'bias' },
  { name: '3x3 s1 p1 on a 1-wide column', shape: shape(1, 2, 17, 1, 3, 3, 1, 1), relu: false, epilogue: 'affine' },
  { name: '3x3 s1 p1, Cin 64 (n = 576), batch 3, Cout 20', shape: shape(3, 64, 6, 7, 20, 3, 1, 1), relu: true, epilogue: 'affine' },
  { name: 'grid split over y (workgroups capped at 5 per dimension, idle threads at the end)', shape: shape(2, 3, 43, 60, 5, 3, 1, 1), relu: false, epilogue: 'affine', maxWorkgroupsPerDimension: 5 },
  { name: '3x3 s1 p1 on 16x16 (8 columns per thread), Cout 12', shape: shape(1, 8, 16, 16, 12, 3, 1, 1), relu: true, epilogue: 'affine' },
  { name: '3x3 s1 p1 on 14x14 (7 columns per thread), batch 2', shape: shape(2, 8, 14, 14, 8, 3, 1, 1), relu: false, epilogue: 'affine' },
  { name: 'stem 7x7 s2 p3 on 32x32 (16 wide output, 8 columns per thread)', shape: shape(1, 3, 32, 32, 8, 7, 2, 3), relu: true, epilogue: 'affine' },
  { name: '1x1 s2 p0 on 16x16 (8 wide output)', shape: shape(2, 8, 16, 16, 4, 1, 2, 0), relu: false, epilogue: 'affine' },
  { name: 'general kernel: 5x5 s3 p2', shape: shape(1, 3, 14, 13, 6, 5, 3, 2), relu: false, epilogue: 'affine' },
  { name: 'both outputs: stem 7x7 s2 p3, batch 2, Cout 10', shape: shape(2, 3, 23, 19, 10, 7, 2, 3), relu: 'both', epilogue: 'affine' },
  { name: 'both outputs: 3x3 s1 p1 on 14x14 (7 columns), Cout 13', shape: shape(1, 8, 14, 14, 13, 3, 1, 1), relu: 'both', epilogue: 'affine' },
  { name: 'both outputs: 3x3 s2 p1, Cin 7, Cout 9', shape: shape(1, 7, 15, 11, 9, 3, 2, 1), relu: 'both', epilogue: 'bias' },
  { name: '3x3 s2 p1, Cin 5, Cout 30 (two 16-channel blocks of a thread, the second partial: channels 24-29)', shape: shape(2, 5, 13, 12, 30, 3, 2, 1), relu: true, epilogue: 'affine' },
];

// Every variant runs every case (the selection per adapter must never pick an untested kernel).
// The 'rows' variant also gets shapes that reach its 3x3 row-reuse paths at both column counts and
// both strides with more than one tile per channel group and a partial last workgroup.
const rowsCases: Case[] = [
  { name: 'rows: 3x3 s1 p1 on 30x29 (8 columns, 120 blocks: two tiles), Cout 11', shape: shape(2, 5, 30, 29, 11, 3, 1, 1), relu: true, epilogue: 'affine' },
  { name: 'rows: 3x3 s2 p1 on 33x31 (16 wide: 8 columns), Cin 3, Cout 17', shape: shape(1, 3, 33, 31, 17, 3, 2, 1), relu: false, epilogue: 'affine' },
  { name: 'rows: 3x3 s2 p1 on 27x27 (14 wide: 7 columns), batch 3', shape: shape(3, 4, 27, 27, 9, 3, 2, 1), relu: true, epilogue: 'bias' },
  { name: 'rows: 3x3 s1 p1 on 7x7 (one 7-column block per row, WG 8), Cout 16', shape: shape(2, 6, 7, 7, 16, 3, 1, 1), relu: false, epilogue: 'affine' },
];

/** A random input, packed weights, scale and shift for shape s, uploaded (labels: `${label} input`, ...). */
function randomConvBuffers(ctx: GpuContext, s: Conv2dShape, rng: () => number, label: string) {
  return {
    input: upload(ctx, randomArray(s.batch * s.inChannels * s.inHeight * s.inWidth, rng), `${label} input`),
    weights: upload(ctx, packConv2dWeights(randomArray(s.outChannels * s.inChannels * s.kernel * s.kernel, rng), s), `${label} weights`),
    scale: upload(ctx, randomArray(s.outChannels, rng, 0.5, 1.5), `${label} scale`),
    shift: upload(ctx, randomArray(s.outChannels, rng, -0.5, 0.5), `${label} shift`),
  };
}

// 'direct' runs in each of conv2d.wgsl's forms (directForm: nested loops or one loop over the taps,
// 8 or 16 output channels per thread), whichever the test adapter would pick, and in the CPU form
// with the weights shared across subgroups (conv2d-subgroup.wgsl), on a device with 'subgroups'
// (both CPU adapters here; elsewhere the test checks that it is refused). The subgroup form runs
// twice: as the engine picks it (7x7 stride-2 shapes take conv2d-stem-subgroup.wgsl on subgroups of
// 7 lanes and more: lavapipe) and with the stem kernel kept off. Three forms also read their input
// zero-padded by zero-pad.wgsl (PADDED_INPUT: SwiftShader's form, the GPUs' and the subgroup form).
type Form = {
  variant: Conv2dVariant; tapLoop?: 'one' | 'nested'; channelsPerThread?: 8 | 16; subgroupWeights?: boolean; stemRows?: boolean; paddedInput?: boolean;
};
const DIRECT_FORMS: Omit<Form, 'variant'>[] = [
  ...(['nested', 'one'] as const).flatMap((tapLoop) => ([8, 16] as const).map((channelsPerThread) => ({ tapLoop, channelsPerThread, subgroupWeights: false }))),
  { tapLoop: 'one' as const, channelsPerThread: 16 as const, subgroupWeights: true },
  { tapLoop: 'one' as const, channelsPerThread: 16 as const, subgroupWeights: true, stemRows: false },
  { tapLoop: 'one' as const, channelsPerThread: 16 as const, subgroupWeights: false, paddedInput: true },
  { tapLoop: 'nested' as const, channelsPerThread: 8 as const, subgroupWeights: false, paddedInput: true },
  { tapLoop: 'one' as const, channelsPerThread: 16 as const, subgroupWeights: true, paddedInput: true },
];
// The float64 cases run every form but two of the padded ones: those run the same kernels as their
// unpadded forms, whose bits they match in the tests below (each case's shaders compile anew: about
// a second a case on lavapipe).
const forms: Form[] = SINGLE_DISPATCH_VARIANTS.flatMap((variant): Form[] =>
  variant === 'direct'
    ? DIRECT_FORMS.filter((f) => !f.paddedInput || (f.tapLoop === 'one' && !f.subgroupWeights)).map((f) => ({ variant, ...f }))
    : [{ variant }]);
const formName = (f: Form) => (f.tapLoop
  ? `${f.variant} (${f.tapLoop} tap loop, ${f.channelsPerThread} channels per thread${f.subgroupWeights ? ', weights shared across subgroups' : ''}${f.stemRows === false ? ', no stem kernel' : ''}${f.paddedInput ? ', zero-padded input' : ''})`
  : f.variant);

/**
 * The dispatches of a form: the convolution, and with a zero-padded input first the pad of
 * b.input into a new poisoned buffer (zero-pad.wgsl), which the convolution then reads.
 */
function formDispatches(ctx: GpuContext, s: Conv2dShape, b: Parameters<typeof conv2dDispatch>[2],
  opts: Parameters<typeof conv2dDispatch>[3], label: string): Dispatch[] {
  if (!opts.paddedInput) return [conv2dDispatch(ctx, s, b, opts)];
  const pad = { planes: s.batch * s.inChannels, height: s.inHeight, width: s.inWidth, pad: s.padding };
  const padded = poisoned(ctx, zeroPadLength(pad), `${label} zero-padded input`);
  return [zeroPadDispatch(ctx, pad, { input: b.input, output: padded }), conv2dDispatch(ctx, s, { ...b, input: padded }, opts)];
}

/**
 * Whether ctx can run `form`; where it cannot (subgroup-shared weights without 'subgroups' of one
 * size), checks that the dispatch is refused.
 */
function runnable(ctx: GpuContext, form: Form): boolean {
  if (!form.subgroupWeights || ctx.fixedSubgroupSize !== null) return true;
  const buffers = { input: ctx.placeholder, weights: ctx.placeholder, scale: ctx.placeholder, shift: ctx.placeholder, output: ctx.placeholder };
  expect(() => conv2dDispatch(ctx, shape(1, 1, 3, 3, 1, 3, 1, 1), buffers, { relu: false, ...form })).toThrow(ctx.subgroupSizes ? /subgroups of one size/ : /'subgroups' feature/);
  return false;
}

describe('conv2d kernel', () => {
  for (const [form, c] of forms.flatMap((f) => [...cases, ...rowsCases].map((c) => [f, c] as [Form, Case]))) {
    const { variant, tapLoop, channelsPerThread, subgroupWeights, stemRows, paddedInput } = form;
    it(`${formName(form)}: matches the float64 reference: ${c.name}`, async () => {
      const ctx = await testContext();
      if (!runnable(ctx, form)) return;
      const seed = freshSeed();
      const rng = makeRng(seed);
      const s = c.shape;
      const [oh, ow] = conv2dOutputSize(s);
      const x = randomArray(s.batch * s.inChannels * s.inHeight * s.inWidth, rng);
      const w = randomArray(s.outChannels * s.inChannels * s.kernel * s.kernel, rng);
      const { scale, shift } = c.epilogue === 'affine'
        ? { scale: randomArray(s.outChannels, rng, 0.5, 1.5), shift: randomArray(s.outChannels, rng, -0.5, 0.5) }
        : biasAsScaleShift(s.outChannels, c.epilogue === 'bias' ? randomArray(s.outChannels, rng, -0.5, 0.5) : undefined);
      const count = s.batch * s.outChannels * oh * ow;
      // The subgroup form's workgroups are one subgroup wide (98 of them for the capped case on
      // lavapipe, 196 on SwiftShader), more than a 5 x 5 grid holds: a cap of 15 still splits it over y.
      const cap = c.maxWorkgroupsPerDimension && (subgroupWeights ? 15 : c.maxWorkgroupsPerDimension);
      const out = poisoned(ctx, count, 'conv2d test output');
      const relu = reluCase(ctx, c.relu, count, 'conv2d test');
      const dispatches = formDispatches(ctx, s, {
        input: upload(ctx, x, 'conv2d test input'),
        weights: upload(ctx, packConv2dWeights(w, s), 'conv2d test weights'),
        scale: upload(ctx, scale, 'conv2d test scale'),
        shift: upload(ctx, shift, 'conv2d test shift'),
        output: out,
      }, { ...relu.opts, maxWorkgroupsPerDimension: cap, variant, tapLoop, channelsPerThread, subgroupWeights, stemRows, paddedInput }, 'conv2d test');
      const d = dispatches[dispatches.length - 1];
      if (paddedInput) expect(dispatches[0].pipeline.label).toMatch(/^zero-pad /);
      if (subgroupWeights) {
        const stem = stemRows !== false && s.kernel === 7 && s.stride === 2 && ctx.fixedSubgroupSize! >= 7;
        expect(d.pipeline.label).toMatch(stem ? /^conv2d-stem-subgroup / : /^conv2d-subgroup /);
      }
      if (cap) expect(Math.max(...d.workgroups)).toBeLessThanOrEqual(cap);
      if (cap) expect(d.workgroups[1], 'the grid is split over y').toBeGreaterThan(1);
      ctx.run(dispatches);
      const y = await download(ctx, out, count);
      const expected = channelAffine(conv2d(x, w, null, s), scale, shift, s.batch, s.outChannels, oh * ow, relu.referenceRelu);
      expect(sumRelativeError(y, expected, x, w, scale, shift, s, oh * ow), `seed ${seed}`).toBeLessThanOrEqual(TOLERANCE);
      await relu.check(y);
    });
  }

  it('packs OIHW weights into vec4 groups of output channels, zero-filling the tail', () => {
    const s = shape(1, 2, 3, 3, 5, 1, 1, 0);
    const w = Float32Array.from({ length: 10 }, (_, i) => i + 1); // w[o, ci] = 2o + ci + 1
    const packed = packConv2dWeights(w, s);
    expect(Array.from(packed)).toEqual([1, 3, 5, 7, 2, 4, 6, 8, 9, 0, 0, 0, 10, 0, 0, 0]);
  });

  it('gives 8 columns per thread to rows of 112 and 56, and 7 to rows of 28, 14 and 7', () => {
    expect([112, 56, 28, 14, 7].map(columnsPerThread)).toEqual([8, 8, 7, 7, 7]);
  });

  it('picks a variant per adapter class and lets a caller override it', async () => {
    const ctx = await testContext();
    const desc = (name: string) => ({ ...ctx.adapter, name });
    // lavapipe and SwiftShader: the mix of F(4x4, 3x3) and F(2x2, 3x3) while all the F(4x4) filters
    // (4x the weights) fit the Winograd filter budget, F(2x2) alone while its filters (16/9) do,
    // 'rows' beyond. ResNet18's 3x3 stride-1 filters: 9.4 M weights.
    const f4Weights = (WINOGRAD_FILTER_BUDGET_BYTES * 9) / (4 * 36);
    const budgetWeights = (WINOGRAD_FILTER_BUDGET_BYTES * 9) / (4 * 16);
    for (const name of ['lavapipe', 'swiftshader']) {
      expect(conv2dVariantFor(desc(name)), name).toBe('winograd-mixed');
      expect(conv2dVariantFor(desc(name), { winogradWeights: 9_437_184 }), name).toBe('winograd-mixed');
      expect(conv2dVariantFor(desc(name), { winogradWeights: f4Weights }), name).toBe('winograd-mixed');
      expect(conv2dVariantFor(desc(name), { winogradWeights: f4Weights + 1 }), name).toBe('winograd');
      expect(conv2dVariantFor(desc(name), { winogradWeights: budgetWeights }), name).toBe('winograd');
      expect(conv2dVariantFor(desc(name), { winogradWeights: budgetWeights + 1 }), name).toBe('rows');
      // A differentiable plan (feature visualisation) takes F(4x4, 3x3) everywhere where the forward
      // takes the mix (its gradient filters take as much again: twice the budget in all); else the
      // forward's choice.
      expect(backwardConv2dVariantFor(desc(name), { winogradWeights: 9_437_184 }), name).toBe('winograd4');
      expect(backwardConv2dVariantFor(desc(name), { winogradWeights: f4Weights }), name).toBe('winograd4');
      expect(backwardConv2dVariantFor(desc(name), { winogradWeights: f4Weights + 1 }), name).toBe('winograd');
      expect(backwardConv2dVariantFor(desc(name), { winogradWeights: budgetWeights + 1 }), name).toBe('rows');
    }
    const compat = { ...ctx.adapter, name: 'compatibility-mode adapter (no adapter info)', featureLevel: 'compatibility' as const, vendor: '', description: '', isFallbackAdapter: false };
    expect(conv2dVariantFor(compat)).toBe('winograd-mixed');
    expect(conv2dVariantFor(compat, { winogradWeights: f4Weights + 1 })).toBe('winograd');
    expect(conv2dVariantFor(compat, { winogradWeights: budgetWeights + 1 })).toBe('direct');
    expect(backwardConv2dVariantFor(compat, { winogradWeights: 9_437_184 })).toBe('winograd4');
    // Where the adapter is hidden, F(4x4, 3x3) runs the 3x3 stride-2 convolutions too
    // (winogradStride2For), so their filters count against the budget there (ResNet18's: 1.5 M
    // weights), and nowhere else.
    expect(winogradStride2For(compat)).toBe(true);
    for (const name of ['lavapipe', 'swiftshader', 'nvidia ampere']) expect(winogradStride2For(desc(name)), name).toBe(false);
    expect(conv2dVariantFor(compat, { winogradWeights: f4Weights - 1, winogradStride2Weights: 1 })).toBe('winograd-mixed');
    expect(conv2dVariantFor(compat, { winogradWeights: f4Weights, winogradStride2Weights: 1 })).toBe('winograd');
    expect(conv2dVariantFor(desc('lavapipe'), { winogradWeights: f4Weights, winogradStride2Weights: 1 })).toBe('winograd-mixed');
    expect(conv2dVariantFor(compat, { winogradWeights: budgetWeights, winogradStride2Weights: 1_000_000 })).toBe('winograd');
    // A real GPU gets the tiled GEMM (measured on an NVIDIA H200, see conv2dVariantFor).
    expect(conv2dVariantFor({ ...ctx.adapter, name: 'nvidia ampere', vendor: 'nvidia', isFallbackAdapter: false })).toBe('gemm');
    const auto = resolveConv2dVariant(ctx.adapter, 'auto');
    expect(resolveConv2dVariant(ctx.adapter, auto === 'rows' ? 'direct' : 'rows')).not.toBe(auto);
    expect(() => resolveConv2dVariant(ctx.adapter, 'fast' as Conv2dVariant)).toThrow(/unknown variant 'fast'/);
    expect(resolveConv2dVariant(ctx.adapter, 'auto')).toBe(auto);
  });

  it("gives the same bits from every form of 'direct' (tap loops, channels per thread, subgroups, a zero-padded input: the same sums in the same order)", async () => {
    const ctx = await testContext();
    const rng = makeRng(freshSeed());
    // The last: 200 pixel blocks (conv2d.wgsl: three workgroups of 64 and a partial fourth; the
    // subgroup form: 25 of lavapipe's 8 lanes, 50 of SwiftShader's 4), 45 taps (a partial last
    // chunk of every subgroup width), a partial second block of 16 channels. The 7x7 stride-2 ones
    // (the stem kernel on lavapipe): 7 and 8 columns a thread, 13 and 20 channels.
    for (const s of [shape(2, 3, 23, 19, 13, 7, 2, 3), shape(1, 6, 15, 11, 9, 3, 2, 1), shape(1, 5, 9, 10, 12, 1, 2, 0), shape(1, 4, 10, 9, 30, 3, 1, 1),
      shape(1, 5, 40, 37, 20, 3, 1, 1), shape(1, 5, 31, 31, 20, 7, 2, 3)]) {
      const [oh, ow] = conv2dOutputSize(s);
      const count = s.batch * s.outChannels * oh * ow;
      const buffers = randomConvBuffers(ctx, s, rng, 'conv2d loop test');
      const results: Float32Array[] = [];
      for (const form of DIRECT_FORMS) {
        if (!runnable(ctx, { variant: 'direct', ...form })) continue;
        const name = formName({ variant: 'direct', ...form });
        const output = poisoned(ctx, count, `conv2d loop test output (${name})`);
        ctx.run(formDispatches(ctx, s, { ...buffers, output }, { relu: false, variant: 'direct', ...form }, `conv2d loop test (${name})`));
        results.push(await download(ctx, output, count));
      }
      for (const r of results.slice(1)) expect(new Uint32Array(r.buffer)).toEqual(new Uint32Array(results[0].buffer));
    }
  });

  it("gives the same bits with the epilogue's stores in a loop and written out (STORE_LOOP: every 'direct' form, 'rows')", async () => {
    const ctx = await testContext();
    const rng = makeRng(freshSeed());
    // Row ends inside a column block (19 -> 10 columns at stride 2, 23 at stride 1), channel counts
    // that leave groups of 8 and 16 partly empty, and the ReLU's three modes.
    for (const s of [shape(2, 3, 23, 19, 13, 7, 2, 3), shape(1, 4, 10, 23, 30, 3, 1, 1), shape(1, 5, 9, 10, 12, 1, 2, 0)]) {
      const [oh, ow] = conv2dOutputSize(s);
      const count = s.batch * s.outChannels * oh * ow;
      const buffers = randomConvBuffers(ctx, s, rng, 'conv2d store test');
      const forms: Form[] = [...DIRECT_FORMS.map((f) => ({ variant: 'direct' as const, ...f })), { variant: 'rows' }];
      for (const form of forms.filter((f) => runnable(ctx, f))) {
        for (const mode of ['none', 'relu', 'both'] as const) {
          const results: Float32Array[][] = [];
          for (const loop of [true, false]) {
            const name = `${formName(form)}, ${mode}, ${loop ? 'loop' : 'written out'}`;
            const output = poisoned(ctx, count, `conv2d store test output (${name})`);
            const reluOutput = mode === 'both' ? poisoned(ctx, count, `conv2d store test relu output (${name})`) : undefined;
            const relu = { relu: mode === 'relu', ...(reluOutput ? { reluOutput } : {}) };
            ctx.run(formDispatches(ctx, s, { ...buffers, output }, { ...relu, ...form, storeLoop: loop }, `conv2d store test (${name})`));
            results.push([await download(ctx, output, count), ...(reluOutput ? [await download(ctx, reluOutput, count)] : [])]);
          }
          for (let i = 0; i < results[0].length; i++) {
            expect(new Uint32Array(results[1][i].buffer), `${formName(form)}, ${mode}, output ${i}`).toEqual(new Uint32Array(results[0][i].buffer));
          }
        }
      }
    }
  });

  it("reads a zero-padded input in 'direct' only, and picks it on SwiftShader only", async () => {
    const ctx = await testContext();
    const buffers = { input: ctx.placeholder, weights: ctx.placeholder, scale: ctx.placeholder, shift: ctx.placeholder, output: ctx.placeholder };
    expect(() => conv2dDispatch(ctx, shape(1, 4, 8, 8, 8, 3, 1, 1), buffers, { relu: false, variant: 'rows', paddedInput: true }))
      .toThrow(/a zero-padded input is read by 'direct' only, not by 'rows'$/);
    // 'rows' runs 'direct' for the shapes it does not cover, which may then read a padded input.
    expect(conv2dDispatch(ctx, shape(1, 4, 8, 8, 8, 3, 2, 1), buffers, { relu: false, variant: 'rows', paddedInput: true }).pipeline.label).not.toMatch(/^conv2d-rows/);
    expect(paddedInputFor({ ...ctx.adapter, name: 'swiftshader' })).toBe(true);
    for (const name of ['lavapipe', 'nvidia ampere', 'compatibility-mode adapter (no adapter info)']) expect(paddedInputFor({ ...ctx.adapter, name }), name).toBe(false);
  });

  it('rejects a kernel larger than the padded input', () => {
    expect(() => conv2dOutputSize(shape(1, 1, 2, 2, 1, 7, 1, 1))).toThrow(/does not fit/);
  });

  it('keeps every subgroup form off a device whose subgroup size varies, and refuses it when forced', async () => {
    // The subgroup kernels run workgroups of exactly one subgroup; where sizes vary (GPUs with
    // 8 to 32 or 32 to 64 lanes) a workgroup could span two subgroups and a shuffle would read the
    // wrong lanes. The same context with the sizes such a GPU reports, on lavapipe's name so that
    // only the sizes stand in the way.
    const ctx = await testContext();
    const varying = Object.create(ctx, {
      subgroupSizes: { value: { min: 8, max: 32 } },
      adapter: { value: { ...ctx.adapter, name: 'lavapipe' } },
    }) as GpuContext;
    expect(varying.fixedSubgroupSize).toBeNull();
    expect(subgroupWeightsFor(varying)).toBe(false);
    expect(conv2dBackwardSubgroupWeights(varying)).toBe(false);
    expect(winogradSubgroupTiles(varying, { outChannels: 512 })).toBe(false);
    const s = shape(1, 16, 8, 8, 16, 3, 2, 1);
    const buffers = { input: ctx.placeholder, weights: ctx.placeholder, scale: ctx.placeholder, shift: ctx.placeholder, output: ctx.placeholder };
    expect(() => conv2dDispatch(varying, s, buffers, { relu: false, variant: 'direct', tapLoop: 'one', channelsPerThread: 16, subgroupWeights: true }))
      .toThrow(/subgroups of one size; lavapipe's have 8 to 32 lanes/);
    expect(() => conv2dBackwardDispatch(varying, s, { gradOutput: ctx.placeholder, weightsTransposed: ctx.placeholder, gradInput: ctx.placeholder }, 'forced', 1, true))
      .toThrow(/subgroups of one size/);
    const w = shape(1, 16, 8, 8, 16, 3, 1, 1);
    const bytes = winogradScratchBytes(w, 2);
    const scratch = { scratch: poisoned(ctx, bytes.input / 4, 'varying-size scratch'), products: poisoned(ctx, bytes.products / 4, 'varying-size products') };
    expect(() => conv2dWinogradDispatches(varying, w, { ...buffers, ...scratch }, { relu: false, product: 'plain', subgroupTiles: true }))
      .toThrow(/subgroups of one size/);
  });

  it('takes the stem kernel for 7x7 stride-2 convolutions on 7 lanes or more only, and refuses it forced elsewhere', async () => {
    const ctx = await testContext();
    expect(stemRowsFor({ kernel: 7, stride: 2 }, 8)).toBe(true);
    expect(stemRowsFor({ kernel: 7, stride: 2 }, 4)).toBe(false);
    expect(stemRowsFor({ kernel: 3, stride: 2 }, 8)).toBe(false);
    expect(stemRowsFor({ kernel: 7, stride: 1 }, 8)).toBe(false);
    // SwiftShader's 4 lanes and lavapipe's 8, whatever the test adapter has.
    const fourLanes = Object.create(ctx, { subgroupSizes: { value: { min: 4, max: 4 } } }) as GpuContext;
    const eightLanes = Object.create(ctx, { subgroupSizes: { value: { min: 8, max: 8 } } }) as GpuContext;
    const buffers = { input: ctx.placeholder, weights: ctx.placeholder, scale: ctx.placeholder, shift: ctx.placeholder, output: ctx.placeholder };
    const form = { relu: false, variant: 'direct', tapLoop: 'one', channelsPerThread: 16, subgroupWeights: true, stemRows: true } as const;
    expect(() => conv2dDispatch(fourLanes, shape(1, 3, 16, 16, 8, 7, 2, 3), buffers, form)).toThrow(/stem kernel/);
    expect(() => conv2dDispatch(eightLanes, shape(1, 3, 16, 16, 8, 3, 2, 1), buffers, form)).toThrow(/stem kernel/);
  });
});

// f16 weights (conv2d.wgsl with shaders/parts/conv2d-weights-f16.wgsl, CONV2D_F16 in src/kernels/conv2d.ts), where the adapter has 'shader-f16' (Node lavapipe here;
// neither SwiftShader nor Chromium's compat-mode lavapipe offer it). Bound, per output element:
// each weight is rounded to f16 with relative error at most u = 2^-11 (normal range) or absolute
// error at most 2^-25 (subnormal range), so |y - y_ref| <= |scale| * (u * sum|x*w| + 2^-25 * sum|x|),
// plus the f32 kernel's own error (TOLERANCE of the output's scale, as above). Both sums come from
// the float64 reference on |x| and |w|. This is a rigorous bound, not an estimate; the test also
// checks the error exceeds the f32 tolerance (the f16 weights were really read).
const U16 = 2 ** -11;
// (The 'both' cases, which test the second output of the f32 kernel's epilogue, are not repeated.)
const f16Cases = cases.filter((c) => c.relu !== 'both').filter((c) => !c.maxWorkgroupsPerDimension).filter((_, i) => i % 2 === 0)
  .concat(cases.filter((c) => c.name.includes('n = 576') || c.maxWorkgroupsPerDimension));

describe('conv2d kernel, f16 weights', () => {
  for (const c of f16Cases) {
    it(`within the f16 bound of the float64 reference: ${c.name}`, async (test) => {
      const ctx = await testContext();
      if (!supportsF16(ctx)) {
        const reason = `${ctx.adapter.name} does not offer 'shader-f16'`;
        console.log(`skipped: ${reason}`);
        test.skip(reason);
        return;
      }
      const seed = freshSeed();
      const rng = makeRng(seed);
      const s = c.shape;
      const [oh, ow] = conv2dOutputSize(s);
      const x = randomArray(s.batch * s.inChannels * s.inHeight * s.inWidth, rng);
      const w = randomArray(s.outChannels * s.inChannels * s.kernel * s.kernel, rng);
      const { scale, shift } = c.epilogue === 'affine'
        ? { scale: randomArray(s.outChannels, rng, 0.5, 1.5), shift: randomArray(s.outChannels, rng, -0.5, 0.5) }
        : biasAsScaleShift(s.outChannels, c.epilogue === 'bias' ? randomArray(s.outChannels, rng, -0.5, 0.5) : undefined);
      const count = s.batch * s.outChannels * oh * ow;
      const out = poisoned(ctx, count, 'conv2d f16 test output');
      const half = packConv2dWeightsF16(w, s);
      ctx.run([conv2dDispatch(ctx, s, {
        input: upload(ctx, x, 'conv2d f16 test input'),
        weights: ctx.createStorageBuffer('conv2d f16 test weights', new Uint32Array(half.buffer)),
        scale: upload(ctx, scale, 'conv2d f16 test scale'),
        shift: upload(ctx, shift, 'conv2d f16 test shift'),
        output: out,
      }, { relu: c.relu === true, maxWorkgroupsPerDimension: c.maxWorkgroupsPerDimension, precision: 'f16' })]);
      const y = await download(ctx, out, count);
      const expected = channelAffine(conv2d(x, w, null, s), scale, shift, s.batch, s.outChannels, oh * ow, c.relu === true);
      const abs = (a: Float32Array) => a.map(Math.abs);
      const sumXW = conv2d(abs(x), abs(w), null, s);
      const sumX = conv2d(abs(x), new Float32Array(w.length).fill(1), null, s);
      let ref = 0;
      for (const v of expected) ref = Math.max(ref, Math.abs(v));
      const plane = oh * ow;
      let worstRatio = 0;
      let worstErr = 0;
      for (let i = 0; i < count; i++) {
        const o = Math.floor(i / plane) % s.outChannels;
        const bound = Math.abs(scale[o]) * (U16 * sumXW[i] + 2 ** -25 * sumX[i]) + TOLERANCE * ref;
        const err = Math.abs(y[i] - expected[i]);
        worstRatio = Math.max(worstRatio, Number.isNaN(err) ? Infinity : err / bound);
        worstErr = Math.max(worstErr, err);
      }
      expect(worstRatio, `seed ${seed}: worst error / bound`).toBeLessThanOrEqual(1);
      // Shapes whose outputs are only the shift (1x1 on padding) carry no weight error.
      if (sumXW.some((v) => v > 0)) expect(worstErr / ref, `seed ${seed}: f16 rounding not visible`).toBeGreaterThan(TOLERANCE * 1e-2);
    });
  }

  it('rounds to the nearest f16, ties to even, with subnormals and overflow', () => {
    const cases: [number, number][] = [
      [1, 0x3c00], [-2, 0xc000], [0, 0], [65504, 0x7bff], [65520, 0x7c00], [1e9, 0x7c00], [2 ** -24, 0x0001],
      [2 ** -25, 0], [3 * 2 ** -25, 0x0002], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [0.1, 0x2e66],
      [2 ** -14, 0x0400], [2 ** -14 - 2 ** -25, 0x0400], [Infinity, 0x7c00], [-Infinity, 0xfc00],
    ];
    for (const [v, bits] of cases) expect(toFloat16Bits(v), `${v}`).toBe(bits);
    expect(toFloat16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN)))).toBe(true);
    // Every finite f16 survives a round trip.
    for (let b = 0; b < 0x10000; b++) {
      if ((b & 0x7c00) === 0x7c00) continue;
      expect(toFloat16Bits(fromFloat16Bits(b))).toBe(b === 0x8000 ? 0x8000 : b);
    }
  });
});
