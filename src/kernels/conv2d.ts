// 2D convolution (NCHW, zero padding) with a per-output-channel scale/shift epilogue and optional
// ReLU: the hot kernel of the network. Two variants with the same bindings, weight layout and
// bit-identical results: 'direct' (shaders/conv2d.wgsl, 8 channels x 8 columns per thread, one tap
// at a time) and 'rows' (shaders/conv2d-rows.wgsl for 3x3 stride 1, the same blocking and summation
// order with input-row reuse and one channel group per workgroup; 'direct' for the other shapes).
// Which one runs is the caller's choice, passed with each dispatch (the forward planner's kernel
// choices; the default is conv2dVariantFor(adapter), see conv2d-variants.ts). A third, 'direct'
// with f16 weights ('shader-f16' adapters; the engine's `precision`), is conv2d.wgsl joined with
// another weights piece. The kernels are composed from WGSL files: shaders/parts/ holds the
// bindings, the weight reads and the epilogue they share, and each Params struct is declared
// below, from which both its WGSL and its packing follow.

import direct from '../../shaders/conv2d.wgsl';
import rows from '../../shaders/conv2d-rows.wgsl';
import subgroupDirect from '../../shaders/conv2d-subgroup.wgsl';
import subgroupStem from '../../shaders/conv2d-stem-subgroup.wgsl';
import directBlock from '../../shaders/parts/conv2d-direct-block.wgsl';
import subgroupGrid from '../../shaders/parts/conv2d-subgroup-grid.wgsl';
import epilogue from '../../shaders/parts/conv2d-epilogue.wgsl';
import io from '../../shaders/parts/conv2d-io.wgsl';
import weightsF16 from '../../shaders/parts/conv2d-weights-f16.wgsl';
import weightsF32 from '../../shaders/parts/conv2d-weights-f32.wgsl';
import { type Dispatch, type GpuContext } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';
import { type ReluOptions, reluMode } from './relu';
import {
  type Conv2dPrecision, type Conv2dVariant, type ConvGeometry, CONV2D_VARIANTS, conv2dVariantFor, conv2dVariantRun, isCpuAdapter,
} from './conv2d-variants';

/** A convolution's geometry (conv2d-variants.ts ConvGeometry, which kernel tables are keyed by). */
export type Conv2dShape = ConvGeometry;

/** Output channels per packed weight group (one vec4 per tap). */
export const CONV2D_CHANNEL_BLOCK = 4;
/**
 * Output channels per thread: two packed vec4 groups (accumulators a0..a7 and b0..b7 in the
 * shaders), or for conv2d.wgsl with WIDE four (two such blocks).
 */
const CHANNELS_PER_THREAD = 8;
const WIDE_CHANNELS_PER_THREAD = 16;
/** Threads per workgroup (the shader's WG override); 'rows' uses fewer on layers with fewer pixel blocks. */
const WORKGROUP_SIZE = 64;

export { CONV2D_VARIANTS, type Conv2dPrecision, type Conv2dVariant, conv2dVariantFor, conv2dVariantRun, resolveConv2dVariant } from './conv2d-variants';

/**
 * Output columns per thread, 8 or 7 (the shader's COLS): whichever leaves fewer idle columns in the
 * last block of a row, 8 on a tie. ResNet18's rows of 28, 14 and 7 take 7; those of 112 and 56 take 8.
 */
export function columnsPerThread(outWidth: number): 7 | 8 {
  const idle = (c: number) => Math.ceil(outWidth / c) * c - outWidth;
  return idle(7) < idle(8) ? 7 : 8;
}

/** How conv2d.wgsl runs a convolution: its tap loop (ONE_LOOP) and output channels per thread (WIDE). */
export interface DirectForm {
  tapLoop: 'one' | 'nested';
  channelsPerThread: 8 | 16;
}

/**
 * conv2d.wgsl's form on this adapter (the same sums in every form):
 * - lavapipe and SwiftShader: 16 channels per thread in one tap loop. SwiftShader unrolls no loop
 *   and pays for each entry into an inner one (see the shader's step 5); on both, 16 channels do
 *   twice the FMAs per input load. ResNet18's layers at 224, one dispatch each, against 8 channels
 *   in the form used before (lavapipe: nested loops, medians of 9; SwiftShader: one loop, 3 runs
 *   of medians of 3): lavapipe's 7x7 stem 16.0 ms against 24.0, its stride-2 3x3 ones 7.7-8.0
 *   against 11.1-11.3, its 3x3 stride-1 ones 14.2-15.3 against 16.4-19.0 (16 channels in nested
 *   loops: 29-32), the 1x1 downsamples 0.9-1.1 against 1.2-1.5; all eleven shapes on SwiftShader
 *   679-750 ms against 727-858.
 * - Elsewhere (GPUs; compatibility mode, whose adapter is hidden): nested loops, 8 channels. In
 *   Chromium's compatibility mode on lavapipe (ANGLE), 16 channels in one loop ran ResNet18's
 *   'direct' forward in 145-148 ms against 175-178 (one loop with 8 channels: 174-181), but its
 *   first, cold forward took 39-42 s against 15-16 s: the shaders compile that much slower
 *   there (16 channels in nested loops: 42 s and 265 ms; the Block updated through a pointer:
 *   48 s and 169 ms; with 'winograd', now its default, in the remaining stem and stride-2 layers:
 *   102 ms against 107, 28 s against 12.5). A page compiles its shaders each time it loads, so
 *   compatibility mode keeps the form that compiles fast.
 */
export function directForm(ctx: GpuContext): DirectForm {
  return isCpuAdapter(ctx.adapter) ? { tapLoop: 'one', channelsPerThread: 16 } : { tapLoop: 'nested', channelsPerThread: 8 };
}

/**
 * How the CPU-blocked kernels store a thread's outputs (their STORE_LOOP override: the epilogue of
 * conv2d.wgsl and conv2d-rows.wgsl, and conv2d-winograd-gemm-plain.wgsl), the same values either
 * way: in a loop whose bound is known only at run time (true) everywhere but on SwiftShader, which
 * keeps them written out, one call per column or tile (false). lavapipe turns every store with a
 * per-invocation index into a loop over its SIMD lanes, and the written-out stores were most of
 * these kernels' compile time: ResNet18's first forward with a cold shader cache took 14.0 to 16.6 s
 * on lavapipe, 6.4 to 7.2 s with the loops (three runs each, alternating). SwiftShader compiles
 * either form quickly but keeps the arrays the loop reads in memory: its forward with the loops
 * ran 1.08x the time of the written-out form in two runs and 0.99x in a third (bench/ab-trees.mjs;
 * bench/results/2026-12-05-ab-trees-storeloop-swiftshader-*.md).
 */
export function storeLoop(ctx: GpuContext): boolean {
  return ctx.adapter.name !== 'swiftshader';
}

/**
 * Whether 'direct' shares its weights across subgroups (shaders/conv2d-subgroup.wgsl): on lavapipe,
 * where conv2d.wgsl's weight loads run lane by lane, when the device has 'subgroups' of one size
 * (each of its workgroups is one subgroup). ResNet18's stem, stride-2 and 1x1 convolutions at 224 ran
 * 1.14-1.44x faster there at batch 1; on SwiftShader, whose shuffles cost more than its loads,
 * 0.59-0.87x (bench/results/2026-12-05-subgroup-kernels{,-batch8}.md), so it keeps conv2d.wgsl. Not yet measured on a
 * GPU, whose lanes of a workgroup already read the same weights as one broadcast load.
 */
export function subgroupWeightsFor(ctx: GpuContext): boolean {
  return ctx.adapter.name === 'lavapipe' && ctx.fixedSubgroupSize !== null;
}

/** `count` workgroups as (x, y, 1) with x, y <= limit and x * y >= count (as grid1d, with a settable limit). */
function splitGrid(count: number, limit: number): [number, number, number] {
  const y = Math.ceil(count / limit);
  if (y > limit) throw new Error(`conv2d: ${count} workgroups do not fit a ${limit} x ${limit} grid`);
  return [Math.ceil(count / y), y, 1];
}

function checkShape(s: Conv2dShape): void {
  for (const key of ['batch', 'inChannels', 'inHeight', 'inWidth', 'outChannels', 'kernel', 'stride'] as const) {
    if (!Number.isInteger(s[key]) || s[key] < 1) throw new Error(`conv2d: ${key} must be a positive integer, got ${s[key]}`);
  }
  if (!Number.isInteger(s.padding) || s.padding < 0) throw new Error(`conv2d: padding must be a non-negative integer, got ${s.padding}`);
}

/** [outHeight, outWidth] = floor((in + 2*padding - kernel) / stride) + 1, as torch.nn.Conv2d. */
export function conv2dOutputSize(s: Conv2dShape): [number, number] {
  checkShape(s);
  const oh = Math.floor((s.inHeight + 2 * s.padding - s.kernel) / s.stride) + 1;
  const ow = Math.floor((s.inWidth + 2 * s.padding - s.kernel) / s.stride) + 1;
  if (oh < 1 || ow < 1) {
    throw new Error(`conv2d: a ${s.kernel}x${s.kernel} kernel with padding ${s.padding} does not fit a ${s.inHeight}x${s.inWidth} input`);
  }
  return [oh, ow];
}

/**
 * Repack torchvision OIHW weights [Cout, Cin, K, K] into [ceil(Cout/4), Cin, K, K, 4]: the 4 output
 * channels of a group at one tap are one vec4, read in a single load by the shader. Channels past
 * Cout are 0. conv2d-backward reads the same layout.
 */
export function packConv2dWeights(weightOIHW: Float32Array, s: Conv2dShape): Float32Array {
  checkShape(s);
  const { inChannels: cin, outChannels: cout, kernel: k } = s;
  const taps = cin * k * k;
  if (weightOIHW.length !== cout * taps) {
    throw new Error(`conv2d: weight has ${weightOIHW.length} elements, expected ${cout}x${cin}x${k}x${k} = ${cout * taps}`);
  }
  const block = CONV2D_CHANNEL_BLOCK;
  const packed = new Float32Array(Math.ceil(cout / block) * taps * block);
  for (let o = 0; o < cout; o++) {
    const g = Math.floor(o / block);
    const lane = o % block;
    for (let t = 0; t < taps; t++) {
      // t = (ci*K + ky)*K + kx walks the same order in both layouts.
      packed[(g * taps + t) * block + lane] = weightOIHW[o * taps + t];
    }
  }
  return packed;
}

/** A convolution's geometry as uniform members (conv2d-backward's Params begin with it too). */
export const CONV2D_GEOMETRY_PARAMS = {
  inChannels: 'u32',
  inHeight: 'u32',
  inWidth: 'u32',
  outChannels: 'u32',
  outHeight: 'u32',
  outWidth: 'u32',
  padding: 'i32',
} as const;

/** What both forward kernels' Params begin with: the geometry and the grid's channel groups. */
const SHAPE_PARAMS = {
  ...CONV2D_GEOMETRY_PARAMS,
  /** ceil(outWidth / COLS) */
  colBlocks: 'u32',
  /** G: the threads' channel groups, ceil(outChannels / 8) (conv2d.wgsl with WIDE: ceil(outChannels / 16)) */
  groups: 'u32',
  /** ceil(outChannels / 4): packed weight groups */
  vec4Groups: 'u32',
} as const;

const DIRECT_PARAMS = uniforms('Params', {
  ...SHAPE_PARAMS,
  /** N * G * outHeight * colBlocks */
  threads: 'u32',
  /** workgroups along x of the grid */
  groupsX: 'u32',
  /** 1: apply max(., 0) after the affine epilogue */
  relu: 'u32',
});

const ROWS_PARAMS = uniforms('Params', {
  ...SHAPE_PARAMS,
  /** ceil(outHeight * colBlocks / WG): workgroups per (image, channel group) */
  tiles: 'u32',
  /** N * G * tiles */
  workgroups: 'u32',
  /** workgroups along x of the grid */
  groupsX: 'u32',
  /** 1: apply max(., 0) after the affine epilogue */
  relu: 'u32',
});

const CONV2D = kernel('conv2d', DIRECT_PARAMS, io, weightsF32, directBlock, direct, epilogue);
/**
 * conv2d.wgsl with its weights stored as f16, every product and sum still in f32:
 * y = act(scale[o] * sum x * f32(W16) + shift[o]) with W16 = W rounded to the nearest f16
 * (packConv2dWeightsF16). Only the weights piece differs, so the two cannot drift.
 */
const CONV2D_F16 = kernel('conv2d-f16', DIRECT_PARAMS, io, weightsF16, directBlock, direct, epilogue);
const CONV2D_ROWS = kernel('conv2d-rows', ROWS_PARAMS, io, weightsF32, rows, epilogue);
/**
 * conv2d.wgsl's CPU form with the weights loaded once per subgroup and shuffled to its lanes
 * (shaders/conv2d-subgroup.wgsl): the same sums, the same bits. Its grid is conv2d-rows.wgsl's.
 */
const CONV2D_SUBGROUP = kernel('conv2d-subgroup', ROWS_PARAMS, io, weightsF32, directBlock, subgroupGrid, subgroupDirect, epilogue);
/**
 * CONV2D_SUBGROUP for 7x7 stride-2 convolutions (the stem), each kernel row's 21 inputs loaded once
 * for its 7 taps (shaders/conv2d-stem-subgroup.wgsl): the same sums, the same bits, the same grid.
 */
const CONV2D_STEM_SUBGROUP = kernel('conv2d-stem-subgroup', ROWS_PARAMS, io, weightsF32, directBlock, subgroupGrid, subgroupStem, epilogue);

/** Whether the subgroup form of convolution s takes the stem kernel: 7x7, stride 2, 7 lanes or more. */
export function stemRowsFor(s: Pick<Conv2dShape, 'kernel' | 'stride'>, lanes: number): boolean {
  return s.kernel === 7 && s.stride === 2 && lanes >= 7;
}

/** IEEE binary16 bits of the f16 nearest to `value` (ties to even; overflow to infinity; subnormals kept). */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal f16: m * 2^-24 with m = the 24-bit significand shifted right by 14 - e.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The number an f16 bit pattern holds. */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * packConv2dWeights in f16 (the layout the f16 kernel, CONV2D_F16, reads): each weight rounded to the
 * nearest f16. Returned as the f16 bits; `.buffer` is what to upload.
 */
export function packConv2dWeightsF16(weightOIHW: Float32Array, s: Conv2dShape): Uint16Array {
  const packed = packConv2dWeights(weightOIHW, s);
  const out = new Uint16Array(packed.length);
  for (let i = 0; i < packed.length; i++) out[i] = toFloat16Bits(packed[i]);
  return out;
}

/** Whether this context's device can run the f16 path ('shader-f16' requested and granted). */
export function supportsF16(ctx: GpuContext): boolean {
  return ctx.device.features.has('shader-f16');
}

/** {scale: 1, shift: bias or 0} per output channel, for a conv without BatchNorm. */
export function biasAsScaleShift(outChannels: number, bias?: Float32Array): { scale: Float32Array; shift: Float32Array } {
  if (bias && bias.length !== outChannels) throw new Error(`conv2d: bias has ${bias.length} elements, expected ${outChannels}`);
  return { scale: new Float32Array(outChannels).fill(1), shift: bias ? bias.slice() : new Float32Array(outChannels) };
}

/**
 * y[n,o,:,:] = (sum conv) * scale[o] + shift[o], then max(., 0) if relu. `weights` holds the output
 * of packConv2dWeights; scale and shift have outChannels elements; output has N*Cout*OH*OW.
 */
export function conv2dDispatch(
  ctx: GpuContext,
  s: Conv2dShape,
  b: { input: GPUBuffer; weights: GPUBuffer; scale: GPUBuffer; shift: GPUBuffer; output: GPUBuffer },
  opts: ReluOptions & {
    /** Cap on workgroups per grid dimension (tests pass a small one); default 65535. */
    maxWorkgroupsPerDimension?: number;
    /** Which kernel; default conv2dVariantFor(ctx.adapter). Ignored by the f16 path. */
    variant?: Conv2dVariant;
    /** 'f16': b.weights holds packConv2dWeightsF16 and conv2d.wgsl reads it as f16 (CONV2D_F16). Default 'f32'. */
    precision?: Conv2dPrecision;
    /**
     * conv2d.wgsl's loop over the taps ('direct' and f16): 'one' loop or 'nested' ci/ky/kx loops,
     * the same sums. Default directForm(ctx).
     */
    tapLoop?: 'one' | 'nested';
    /** conv2d.wgsl's output channels per thread ('direct' and f16), the same sums. Default directForm(ctx). */
    channelsPerThread?: 8 | 16;
    /** The epilogue's stores in a loop or written out ('direct', 'rows', f16), the same values. Default storeLoop(ctx). */
    storeLoop?: boolean;
    /**
     * 'direct' in its CPU form (one tap loop, 16 channels per thread) with the weights shared
     * across each subgroup by shuffles (shaders/conv2d-subgroup.wgsl), the same bits. Needs the
     * device's 'subgroups' feature. Default subgroupWeightsFor(ctx).
     */
    subgroupWeights?: boolean;
    /**
     * The subgroup form of a 7x7 stride-2 convolution with each kernel row's inputs loaded once
     * (shaders/conv2d-stem-subgroup.wgsl), the same bits. Default stemRowsFor(s, lanes).
     */
    stemRows?: boolean;
    /**
     * b.input holds the input zero-padded by s.padding on each side (zeroPadDispatch: N x Cin x
     * (H + 2P) x (W + 2P)), read without bounds checks (PADDED_INPUT), the same bits. 'direct' in
     * every form; 'rows' refuses it. The forward's default: paddedInputFor.
     */
    paddedInput?: boolean;
  },
  label = `conv2d ${s.kernel}x${s.kernel} s${s.stride}${opts.relu ? ' relu' : ''}`,
): Dispatch {
  const [oh, ow] = conv2dOutputSize(s);
  const cols = columnsPerThread(ow);
  const colBlocks = Math.ceil(ow / cols);
  const groups = Math.ceil(s.outChannels / CHANNELS_PER_THREAD);
  const vec4Groups = Math.ceil(s.outChannels / CONV2D_CHANNEL_BLOCK);
  const limit = opts.maxWorkgroupsPerDimension ?? 65535;
  // A padded input is the same convolution over the padded sizes with no padding.
  const padded = opts.paddedInput === true;
  const border = padded ? 2 * s.padding : 0;
  const shape = {
    inChannels: s.inChannels, inHeight: s.inHeight + border, inWidth: s.inWidth + border, outChannels: s.outChannels,
    outHeight: oh, outWidth: ow, padding: padded ? 0 : s.padding, colBlocks, groups, vec4Groups,
  };
  const paddedInput = padded ? 1 : 0;
  const { mode: relu, yRelu } = reluMode(ctx, opts, label);
  const buffers = [b.input, b.weights, b.scale, b.shift, b.output, yRelu];
  const stores = (opts.storeLoop ?? storeLoop(ctx)) ? 1 : 0;
  // 'gemm' convolutions are made by conv2dGemmDispatches (the forward plan does); a caller that
  // wants one dispatch (the backward pass) gets 'direct' for them.
  const variant = opts.variant ?? conv2dVariantFor(ctx.adapter);
  if (!CONV2D_VARIANTS.includes(variant)) throw new Error(`conv2d: unknown variant '${String(variant)}'`);
  const f16 = opts.precision === 'f16';
  if (f16 && !supportsF16(ctx)) throw new Error(`${label}: f16 weights need the 'shader-f16' feature, which ${ctx.adapter.name} does not offer`);
  // 'rows' covers 3x3 stride 1 only (see shaders/conv2d-rows.wgsl), and f32 weights only.
  if (conv2dVariantRun(variant, s, opts.precision) === 'rows') {
    if (padded) throw new Error(`${label}: a zero-padded input is read by 'direct' only, not by 'rows'`);
    // One (image, channel group) per workgroup; its threads walk the pixel blocks, so a workgroup
    // is no wider than the layer's block count rounded up to 4 (a SwiftShader SIMD group).
    const blocks = oh * colBlocks;
    const wg = Math.min(WORKGROUP_SIZE, Math.ceil(blocks / 4) * 4);
    const tiles = Math.ceil(blocks / wg);
    const count = s.batch * groups * tiles;
    if (count >= 2 ** 32) throw new Error(`${label}: ${count} workgroups exceed the 32-bit workgroup index`);
    const workgroups = splitGrid(count, limit);
    return ctx.dispatch(label, CONV2D_ROWS, {
      constants: { COLS: cols, WG: wg, STORE_LOOP: stores },
      params: { ...shape, tiles, workgroups: count, groupsX: workgroups[0], relu },
      buffers, workgroups,
    });
  }
  const form = directForm(ctx);
  const tapLoop = opts.tapLoop ?? form.tapLoop;
  const wide = (opts.channelsPerThread ?? form.channelsPerThread) === WIDE_CHANNELS_PER_THREAD;
  const directGroups = wide ? Math.ceil(s.outChannels / WIDE_CHANNELS_PER_THREAD) : groups;
  const shared = opts.subgroupWeights ?? (!f16 && wide && tapLoop === 'one' && subgroupWeightsFor(ctx));
  if (shared) {
    const lanes = ctx.requireFixedSubgroupSize(label, 'subgroup-shared weights');
    if (f16 || !wide || tapLoop !== 'one') throw new Error(`${label}: subgroup-shared weights exist for f32 weights in one tap loop with 16 channels per thread only`);
    // One (image, channel group) per workgroup, as 'rows', and one subgroup per workgroup: a
    // workgroup size that varied with the layer made one pipeline, and one compilation (about a
    // second each on lavapipe), per layer.
    const blocks = oh * colBlocks;
    const wg = lanes;
    const tiles = Math.ceil(blocks / wg);
    const count = s.batch * directGroups * tiles;
    if (count >= 2 ** 32) throw new Error(`${label}: ${count} workgroups exceed the 32-bit workgroup index`);
    const workgroups = splitGrid(count, limit);
    const stem = opts.stemRows ?? stemRowsFor(s, lanes);
    if (stem && !stemRowsFor(s, lanes)) throw new Error(`${label}: the stem kernel takes 7x7 stride-2 convolutions on subgroups of 7 lanes or more`);
    return ctx.dispatch(label, stem ? CONV2D_STEM_SUBGROUP : CONV2D_SUBGROUP, {
      constants: stem
        ? { COLS: cols, WG: wg, STORE_LOOP: stores, PADDED_INPUT: paddedInput }
        : { KSIZE: s.kernel, STRIDE: s.stride, COLS: cols, WG: wg, STORE_LOOP: stores, PADDED_INPUT: paddedInput },
      params: { ...shape, groups: directGroups, tiles, workgroups: count, groupsX: workgroups[0], relu },
      buffers, workgroups,
    });
  }
  const threads = s.batch * directGroups * oh * colBlocks;
  if (threads >= 2 ** 32) throw new Error(`${label}: ${threads} threads exceed the 32-bit thread index`);
  const workgroups = splitGrid(Math.ceil(threads / WORKGROUP_SIZE), limit);
  return ctx.dispatch(label, f16 ? CONV2D_F16 : CONV2D, {
    constants: {
      KSIZE: s.kernel, STRIDE: s.stride, COLS: cols, WG: WORKGROUP_SIZE, ONE_LOOP: tapLoop === 'one' ? 1 : 0, WIDE: wide ? 1 : 0, STORE_LOOP: stores,
      PADDED_INPUT: paddedInput,
    },
    params: { ...shape, groups: directGroups, threads, groupsX: workgroups[0], relu },
    buffers, workgroups,
  });
}
