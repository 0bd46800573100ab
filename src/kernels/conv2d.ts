// 2D convolution (NCHW, zero padding) with a per-output-channel scale/shift epilogue and optional
// ReLU: the hot kernel of the network. Two variants with the same bindings, weight layout and
// bit-identical results: 'direct' (shaders/conv2d.wgsl, 8 channels x 8 columns per thread, one tap
// at a time) and 'rows' (shaders/conv2d-rows.wgsl for 3x3 stride 1, the same blocking and summation
// order with input-row reuse and one channel group per workgroup; 'direct' for the other shapes).
// Which one runs is picked per adapter (conv2dVariantFor), overridable per context
// (setConv2dVariant, the engine's `convVariant` option) or per dispatch. A third path,
// f16Source below (conv2d.wgsl rewritten to read vec4<f16> weights), reads f16 weights ('shader-f16' adapters; the engine's `precision`).

import source from '../../shaders/conv2d.wgsl';
import rowsSource from '../../shaders/conv2d-rows.wgsl';
import { type AdapterDescription, type Dispatch, type GpuContext } from '../gpu/context';

export interface Conv2dShape {
  batch: number;
  inChannels: number;
  inHeight: number;
  inWidth: number;
  outChannels: number;
  kernel: number;
  stride: number;
  padding: number;
}

/** Output channels per packed weight group (one vec4 per tap). */
export const CONV2D_CHANNEL_BLOCK = 4;
/** Output channels per thread (two packed vec4 groups, accumulators a0..a7 and b0..b7 in the shader). */
const CHANNELS_PER_THREAD = 8;
/** Threads per workgroup (the shader's WG override); 'rows' uses fewer on layers with fewer pixel blocks. */
const WORKGROUP_SIZE = 64;

export type Conv2dVariant = 'direct' | 'rows';
export const CONV2D_VARIANTS: readonly Conv2dVariant[] = ['direct', 'rows'];
/**
 * What a context or engine may choose: a conv2dDispatch variant, or 'gemm', the tiled implicit
 * GEMM of src/kernels/conv2d-gemm.ts (one or two dispatches per convolution, which the forward
 * plan makes through conv2dGemmDispatches).
 */
export type ConvKernelChoice = Conv2dVariant | 'gemm';
export const CONV_KERNEL_CHOICES: readonly ConvKernelChoice[] = [...CONV2D_VARIANTS, 'gemm'];

/**
 * The kernel measured fastest on this adapter class: 'rows' on SwiftShader (its 3x3 stride-1
 * layers take 0.54-0.73x the CPU time, the forward 0.64x) and on lavapipe (those layers 0.71-0.96x,
 * the forward 0.83-0.90x; bench/results/2026-11-29-conv-variants.md); 'gemm' on a real GPU (an
 * NVIDIA H200: ResNet18's batch-1 forward 3.9 ms against 12.2 ms with 'direct', its convolutions
 * 1.5 ms of GPU time against 9.1 ms; bench/results/2026-12-04-node-nvidia-gemm.md). Compatibility
 * mode over ANGLE reports no adapter at all and keeps 'direct' (measured only on lavapipe there).
 */
export function conv2dVariantFor(adapter: AdapterDescription): ConvKernelChoice {
  // AdapterDescription.name is 'swiftshader' / 'lavapipe' from vendor, architecture, device and
  // description (llvmpipe included).
  if (adapter.name === 'swiftshader' || adapter.name === 'lavapipe') return 'rows';
  if (adapter.featureLevel === 'compatibility' && !adapter.vendor && !adapter.description) return 'direct';
  if (adapter.isFallbackAdapter) return 'direct';
  return 'gemm';
}

const chosen = new WeakMap<GpuContext, ConvKernelChoice>();

/** Force a variant for every convolution planned on this context; 'auto' returns to conv2dVariantFor. */
export function setConv2dVariant(ctx: GpuContext, variant: ConvKernelChoice | 'auto'): void {
  if (variant === 'auto') { chosen.delete(ctx); return; }
  if (!CONV_KERNEL_CHOICES.includes(variant)) {
    throw new Error(`conv2d: unknown variant '${String(variant)}' (expected ${CONV_KERNEL_CHOICES.join(', ')} or auto)`);
  }
  chosen.set(ctx, variant);
}

/** The kernel convolutions planned on this context use when a dispatch does not name one. */
export function conv2dVariant(ctx: GpuContext): ConvKernelChoice {
  return chosen.get(ctx) ?? conv2dVariantFor(ctx.adapter);
}

/**
 * Output columns per thread, 8 or 7 (the shader's COLS): whichever leaves fewer idle columns in the
 * last block of a row, 8 on a tie. ResNet18's rows of 28, 14 and 7 take 7; those of 112 and 56 take 8.
 */
export function columnsPerThread(outWidth: number): 7 | 8 {
  const idle = (c: number) => Math.ceil(outWidth / c) * c - outWidth;
  return idle(7) < idle(8) ? 7 : 8;
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

/**
 * conv2d.wgsl with its weights stored as f16 (the 'shader-f16' feature), every product and sum
 * still in f32: y = act(scale[o] * sum x * f32(W16) + shift[o]) with W16 = W rounded to the nearest
 * f16 (packConv2dWeightsF16). Derived from conv2d.wgsl rather than kept as a copy, so the two cannot
 * drift: binding 2 becomes array<vec4<f16>> (half the weight bytes) and each weight load is widened
 * to f32; blocking, dispatch grid, uniforms and invariants are conv2d.wgsl's. The error against the
 * f32 weights is at most 2^-11 * |scale[o]| * sum |x * W| per output, on top of conv2d.wgsl's.
 */
let f16SourceCache: string | null = null;
function f16Source(): string {
  if (f16SourceCache) return f16SourceCache;
  const edits: [string, string][] = [
    ['@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;', '@group(0) @binding(2) var<storage, read> w: array<vec4<f16>>;'],
    ['let wa = w[w0 + k];', 'let wa = vec4<f32>(w[w0 + k]);'],
    ['let wb = w[w1 + k];', 'let wb = vec4<f32>(w[w1 + k]);'],
  ];
  let out = source;
  for (const [from, to] of edits) {
    if (out.split(from).length !== 2) throw new Error(`conv2d.wgsl changed: the f16 variant expects exactly one '${from}'`);
    out = out.replace(from, to);
  }
  return (f16SourceCache = `enable f16;\n${out}`);
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
 * packConv2dWeights in f16 (the layout the f16 variant, f16Source, reads): each weight rounded to the
 * nearest f16. Returned as the f16 bits; `.buffer` is what to upload.
 */
export function packConv2dWeightsF16(weightOIHW: Float32Array, s: Conv2dShape): Uint16Array {
  const packed = packConv2dWeights(weightOIHW, s);
  const out = new Uint16Array(packed.length);
  for (let i = 0; i < packed.length; i++) out[i] = toFloat16Bits(packed[i]);
  return out;
}

/** f16 copies of f32 packed weight buffers (registerF16Weights); conv2dDispatch reads them instead. */
const f16Twins = new WeakMap<GPUBuffer, GPUBuffer>();

/**
 * From now on every conv2d dispatch given `f32Weights` reads `f16Weights` (packConv2dWeightsF16 of the
 * same weights) with the f16 variant (f16Source). The f32 buffer stays valid for the kernels that read
 * the f32 layout (conv2d-weights-transpose for the backward pass).
 */
export function registerF16Weights(f32Weights: GPUBuffer, f16Weights: GPUBuffer): void {
  f16Twins.set(f32Weights, f16Weights);
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
  opts: {
    relu: boolean;
    /** Cap on workgroups per grid dimension (tests pass a small one); default 65535. */
    maxWorkgroupsPerDimension?: number;
    /** Which kernel; default conv2dVariant(ctx). Ignored by the f16 path. */
    variant?: Conv2dVariant;
    /**
     * 'f16': b.weights holds packConv2dWeightsF16 and the f16 variant (f16Source) runs. Default: 'f16'
     * when b.weights has a registered f16 twin (registerF16Weights), which is then read; else 'f32'.
     */
    precision?: 'f32' | 'f16';
  },
  label = `conv2d ${s.kernel}x${s.kernel} s${s.stride}${opts.relu ? ' relu' : ''}`,
): Dispatch {
  const [oh, ow] = conv2dOutputSize(s);
  const cols = columnsPerThread(ow);
  const colBlocks = Math.ceil(ow / cols);
  const groups = Math.ceil(s.outChannels / CHANNELS_PER_THREAD);
  const vec4Groups = Math.ceil(s.outChannels / CONV2D_CHANNEL_BLOCK);
  const limit = opts.maxWorkgroupsPerDimension ?? 65535;
  const twin = opts.precision === undefined ? f16Twins.get(b.weights) : undefined;
  if (opts.precision === 'f16' || twin) {
    if (!supportsF16(ctx)) throw new Error(`${label}: f16 weights need the 'shader-f16' feature, which ${ctx.adapter.name} does not offer`);
    const weights = twin ?? b.weights;
    const threads = s.batch * groups * oh * colBlocks;
    if (threads >= 2 ** 32) throw new Error(`${label}: ${threads} threads exceed the 32-bit thread index`);
    const workgroups = splitGrid(Math.ceil(threads / WORKGROUP_SIZE), limit);
    const pipeline = ctx.pipelines.get('conv2d-f16', f16Source(), { KSIZE: s.kernel, STRIDE: s.stride, COLS: cols, WG: WORKGROUP_SIZE });
    const params = ctx.createUniformBuffer(`${label} params`, [
      s.inChannels, s.inHeight, s.inWidth, s.outChannels, oh, ow, s.padding, colBlocks, groups,
      vec4Groups, threads, workgroups[0], opts.relu ? 1 : 0,
    ], ['u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'i32', 'u32', 'u32', 'u32', 'u32', 'u32', 'u32']);
    return {
      label,
      pipeline,
      bindGroup: ctx.bindGroup(label, pipeline, [params, b.input, weights, b.scale, b.shift, b.output]),
      workgroups,
    };
  }
  const choice = opts.variant ?? conv2dVariant(ctx);
  // The forward plan makes 'gemm' convolutions itself (conv2dGemmDispatches); anything else that
  // asks for a single dispatch (the backward pass) gets 'direct'.
  const variant: Conv2dVariant = choice === 'gemm' ? 'direct' : choice;
  // 'rows' covers 3x3 stride 1 only (see shaders/conv2d-rows.wgsl); other shapes run 'direct'.
  if (variant === 'rows' && s.kernel === 3 && s.stride === 1) {
    // One (image, channel group) per workgroup; its threads walk the pixel blocks, so a workgroup
    // is no wider than the layer's block count rounded up to 4 (a SwiftShader SIMD group).
    const blocks = oh * colBlocks;
    const wg = Math.min(WORKGROUP_SIZE, Math.ceil(blocks / 4) * 4);
    const tiles = Math.ceil(blocks / wg);
    const count = s.batch * groups * tiles;
    if (count >= 2 ** 32) throw new Error(`${label}: ${count} workgroups exceed the 32-bit workgroup index`);
    const workgroups = splitGrid(count, limit);
    const pipeline = ctx.pipelines.get('conv2d-rows', rowsSource, { COLS: cols, WG: wg });
    const params = ctx.createUniformBuffer(`${label} params`, [
      s.inChannels, s.inHeight, s.inWidth, s.outChannels, oh, ow, s.padding, colBlocks, groups,
      vec4Groups, tiles, count, workgroups[0], opts.relu ? 1 : 0,
    ], ['u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'i32', 'u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'u32']);
    return {
      label,
      pipeline,
      bindGroup: ctx.bindGroup(label, pipeline, [params, b.input, b.weights, b.scale, b.shift, b.output]),
      workgroups,
    };
  }
  if (!CONV2D_VARIANTS.includes(variant)) throw new Error(`conv2d: unknown variant '${String(variant)}'`);
  const threads = s.batch * groups * oh * colBlocks;
  if (threads >= 2 ** 32) throw new Error(`${label}: ${threads} threads exceed the 32-bit thread index`);
  const workgroups = splitGrid(Math.ceil(threads / WORKGROUP_SIZE), limit);
  const pipeline = ctx.pipelines.get('conv2d', source, {
    KSIZE: s.kernel, STRIDE: s.stride, COLS: cols, WG: WORKGROUP_SIZE,
  });
  const params = ctx.createUniformBuffer(`${label} params`, [
    s.inChannels, s.inHeight, s.inWidth, s.outChannels, oh, ow, s.padding, colBlocks, groups,
    vec4Groups, threads, workgroups[0], opts.relu ? 1 : 0,
  ], ['u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'i32', 'u32', 'u32', 'u32', 'u32', 'u32', 'u32']);
  return {
    label,
    pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.input, b.weights, b.scale, b.shift, b.output]),
    workgroups,
  };
}
