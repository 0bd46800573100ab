// 2D convolution (NCHW, zero padding) with a per-output-channel scale/shift epilogue and optional
// ReLU: the hot kernel of the network. See shaders/conv2d.wgsl for the blocking and the index math.

import source from '../../shaders/conv2d.wgsl';
import { type Dispatch, type GpuContext } from '../gpu/context';

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
/** Threads per workgroup (the shader's WG override). */
const WORKGROUP_SIZE = 64;

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
  opts: { relu: boolean; /** Cap on workgroups per grid dimension (tests pass a small one); default 65535. */ maxWorkgroupsPerDimension?: number },
  label = `conv2d ${s.kernel}x${s.kernel} s${s.stride}${opts.relu ? ' relu' : ''}`,
): Dispatch {
  const [oh, ow] = conv2dOutputSize(s);
  const cols = columnsPerThread(ow);
  const colBlocks = Math.ceil(ow / cols);
  const groups = Math.ceil(s.outChannels / CHANNELS_PER_THREAD);
  const threads = s.batch * groups * oh * colBlocks;
  if (threads >= 2 ** 32) throw new Error(`${label}: ${threads} threads exceed the 32-bit thread index`);
  const workgroups = splitGrid(Math.ceil(threads / WORKGROUP_SIZE), opts.maxWorkgroupsPerDimension ?? 65535);
  const pipeline = ctx.pipelines.get('conv2d', source, {
    KSIZE: s.kernel, STRIDE: s.stride, COLS: cols, WG: WORKGROUP_SIZE,
  });
  const params = ctx.createUniformBuffer(`${label} params`, [
    s.inChannels, s.inHeight, s.inWidth, s.outChannels, oh, ow, s.padding, colBlocks, groups,
    Math.ceil(s.outChannels / CONV2D_CHANNEL_BLOCK), threads, workgroups[0], opts.relu ? 1 : 0,
  ], ['u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'i32', 'u32', 'u32', 'u32', 'u32', 'u32', 'u32']);
  return {
    label,
    pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.input, b.weights, b.scale, b.shift, b.output]),
    workgroups,
  };
}
