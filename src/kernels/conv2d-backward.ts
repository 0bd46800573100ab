// Gradient of conv2d with respect to its input (weights fixed): the transposed convolution of the
// output gradient, as a gather, with optional fused residual addend and ReLU mask. The weights are
// the forward's, transposed to vec4s over input channels with the epilogue scale folded in
// (conv2d-weights-transpose, once per convolution). See shaders/conv2d-backward.wgsl.

import subgroupSource from '../../shaders/conv2d-backward-subgroup.wgsl';
import source from '../../shaders/conv2d-backward.wgsl';
import store from '../../shaders/parts/conv2d-backward-store.wgsl';
import { type Dispatch, type GpuContext } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';
import { CONV2D_GEOMETRY_PARAMS, type Conv2dShape, conv2dOutputSize, subgroupWeightsFor } from './conv2d';
import { isCpuAdapter } from './conv2d-variants';

const WORKGROUP_SIZE = 64;
/** Input columns per thread (the shader's COLS). */
const COLUMN_BLOCK = 8;
/** Output gradients a thread's row holds (the shader's RMAX): COLS + column taps - 1 at most. */
const ROW_MAX = 16;
/** Groups of 4 input channels a thread can own (the shader's GMAX). */
export const MAX_CHANNEL_GROUPS = 8;

/**
 * Groups of 4 input channels per thread for `s` on `ctx`'s adapter (the shader's CGROUPS; every
 * count gives the same bits). On the CPU adapters a thread's row of output gradients is loaded
 * lane by lane, so sharing it among 8 groups (32 channels) cuts the loads per multiply-add:
 * ResNet18's stride-2 gradients ran 1.5-2.0x faster on lavapipe and 1.2-3.2x on SwiftShader than
 * with one group, 1.3-2.6x and 1.5-3.2x than before groups (bench/results/
 * 2026-12-05-conv-backward-*.md). On GPUs one group per thread keeps the grid large; not yet
 * measured there.
 */
export function conv2dBackwardChannelGroups(ctx: GpuContext, s: Conv2dShape): number {
  return isCpuAdapter(ctx.adapter) ? Math.min(MAX_CHANNEL_GROUPS, Math.ceil(s.inChannels / 4)) : 1;
}

/** The kernel `label` of conv2d-backward sources (joined in order) with its Params (the tests' per-tap reference shares them). */
export function conv2dBackwardKernel(label: string, ...wgsl: string[]) {
  return kernel(label, uniforms('Params', {
    ...CONV2D_GEOMETRY_PARAMS,
    /** 1: add the addend */
    add: 'u32',
    /** 1: zero where mask <= 0 */
    mask: 'u32',
  }), ...wgsl);
}

/** The kernel sized for one group of input channels per thread, and for up to MAX_CHANNEL_GROUPS (the shader's GMAX). */
const CONV2D_BACKWARD_ONE_GROUP = conv2dBackwardKernel('conv2d-backward', 'const GMAX: u32 = 1u;', source, store);
const CONV2D_BACKWARD_GROUPS = conv2dBackwardKernel('conv2d-backward-groups', `const GMAX: u32 = ${MAX_CHANNEL_GROUPS}u;`, source, store);
/** The same two with the weights shared across each subgroup (conv2d-backward-subgroup.wgsl): the same bits. */
const CONV2D_BACKWARD_SUBGROUP_ONE_GROUP = conv2dBackwardKernel('conv2d-backward-subgroup', 'const GMAX: u32 = 1u;', subgroupSource, store);
const CONV2D_BACKWARD_SUBGROUP_GROUPS = conv2dBackwardKernel('conv2d-backward-subgroup-groups', `const GMAX: u32 = ${MAX_CHANNEL_GROUPS}u;`, subgroupSource, store);

/**
 * Whether the gradients share their weights across each subgroup (conv2d-backward-subgroup.wgsl;
 * the same bits): wherever 'direct' does in the forward (subgroupWeightsFor in conv2d.ts: lavapipe,
 * with 'subgroups'). ResNet18's stride-2 gradients at 224 ran 1.36-1.67x faster there at batch 1
 * (the stem, 3 channels: 1.01x). Elsewhere not: on SwiftShader, whose shuffles cost more than its
 * loads, 0.67-1.15x
 * (bench/results/2026-12-05-subgroup-kernels.md); not yet measured on a GPU.
 */
export function conv2dBackwardSubgroupWeights(ctx: GpuContext): boolean {
  return subgroupWeightsFor(ctx);
}

/**
 * Host-side transposed weights (what conv2d-weights-transpose computes on the GPU): OIHW weights
 * and the epilogue scale -> [ceil(Cin/4), Cout, K, K] vec4s over input channels of W * scale[o].
 */
export function packConv2dWeightsTransposed(weightOIHW: Float32Array, scale: ArrayLike<number> | null, s: Conv2dShape,
  flip = false): Float32Array {
  const { inChannels: cin, outChannels: cout, kernel: k } = s;
  const taps = k * k;
  if (weightOIHW.length !== cout * cin * taps) {
    throw new Error(`conv2d-backward: weight has ${weightOIHW.length} elements, expected ${cout}x${cin}x${k}x${k}`);
  }
  const groups = Math.ceil(cin / 4);
  const out = new Float32Array(groups * cout * taps * 4);
  for (let ci = 0; ci < cin; ci++) {
    const cg = Math.floor(ci / 4);
    for (let o = 0; o < cout; o++) {
      const sc = scale ? scale[o] : 1;
      for (let t = 0; t < taps; t++) {
        const src = flip ? taps - 1 - t : t; // (K-1-ky)*K + (K-1-kx) = K*K - 1 - (ky*K + kx)
        out[((cg * cout + o) * taps + t) * 4 + (ci % 4)] = Math.fround(weightOIHW[(o * cin + ci) * taps + src] * sc);
      }
    }
  }
  return out;
}

export interface Conv2dBackwardBuffers {
  /** dL/dy, NCHW [N, Cout, OH, OW], for y = scale * conv(x) + shift. */
  gradOutput: GPUBuffer;
  /** Transposed weights with the scale folded in (conv2dWeightsTransposeDispatch / packConv2dWeightsTransposed). */
  weightsTransposed: GPUBuffer;
  /** dL/dx, NCHW [N, Cin, H, W]. */
  gradInput: GPUBuffer;
  /** Optional: a second gradient of x (residual fan-out), added before the mask. */
  addend?: GPUBuffer;
  /** Optional: ReLU mask; dL/dx is zeroed where mask <= 0 (mask = the ReLU's output or input). */
  mask?: GPUBuffer;
}

/**
 * dx = conv_transpose(dy * scale) [+ addend] [* (mask > 0)]: one thread per `channelGroups` x 4 input
 * channels x 8 input columns of one stride class (see the shader), workgroups split by image and
 * class. ceil(K / S) <= 9. `channelGroups` (1 to 8; default conv2dBackwardChannelGroups) and
 * `subgroupWeights` (default conv2dBackwardSubgroupWeights; needs 'subgroups') change the speed
 * only: every form gives the same bits.
 */
export function conv2dBackwardDispatch(ctx: GpuContext, s: Conv2dShape, b: Conv2dBackwardBuffers,
  label = `conv2d-backward ${s.kernel}x${s.kernel} s${s.stride}${b.addend ? ' +addend' : ''}${b.mask ? ' relu-mask' : ''}`,
  channelGroups = conv2dBackwardChannelGroups(ctx, s), subgroupWeights = conv2dBackwardSubgroupWeights(ctx)): Dispatch {
  if (!Number.isInteger(channelGroups) || channelGroups < 1 || channelGroups > MAX_CHANNEL_GROUPS) {
    throw new Error(`${label}: channelGroups must be an integer from 1 to ${MAX_CHANNEL_GROUPS}, got ${channelGroups}`);
  }
  const lanes = subgroupWeights ? ctx.requireFixedSubgroupSize(label, 'subgroup-shared weights') : null;
  const [oh, ow] = conv2dOutputSize(s);
  // Blocks of the largest stride class (see the shader): ceil(H/S) rows x ceil(ceil(W/S) / 8) column blocks.
  const classRows = Math.ceil(s.inHeight / s.stride);
  const colBlocks = Math.ceil(Math.ceil(s.inWidth / s.stride) / COLUMN_BLOCK);
  // The subgroup form's threads past their class's blocks compute (see its shader) rather than
  // leave, so its workgroup is one subgroup: wider, a small class's workgroup computed mostly
  // nothing (layer4's gradient ran 4x slower at 64); sized by the class, each layer compiled a
  // pipeline of its own.
  const wg = lanes ?? WORKGROUP_SIZE;
  const groups: [number, number, number] = [
    Math.ceil((classRows * colBlocks) / wg), Math.ceil(Math.ceil(s.inChannels / 4) / channelGroups),
    s.batch * s.stride * s.stride,
  ];
  // The shader's row of output gradients holds COLS + ceil(K/S) - 1 <= RMAX values.
  if (Math.ceil(s.kernel / s.stride) > ROW_MAX - COLUMN_BLOCK + 1) {
    throw new Error(`${label}: kernel ${s.kernel} at stride ${s.stride} has more than ${ROW_MAX - COLUMN_BLOCK + 1} column taps per stride class`);
  }
  const limit = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (groups.some((g) => g > limit)) {
    throw new Error(`${label}: grid ${groups.join('x')} exceeds ${limit} workgroups per dimension`);
  }
  // One pipeline per (K, S, channel groups); P and the switches are uniforms (see the shader).
  const pipelineKernel = subgroupWeights
    ? (channelGroups > 1 ? CONV2D_BACKWARD_SUBGROUP_GROUPS : CONV2D_BACKWARD_SUBGROUP_ONE_GROUP)
    : (channelGroups > 1 ? CONV2D_BACKWARD_GROUPS : CONV2D_BACKWARD_ONE_GROUP);
  return ctx.dispatch(label, pipelineKernel, {
    constants: { KSIZE: s.kernel, STRIDE: s.stride, WG: wg, CGROUPS: channelGroups },
    params: {
      inChannels: s.inChannels, inHeight: s.inHeight, inWidth: s.inWidth, outChannels: s.outChannels,
      outHeight: oh, outWidth: ow, padding: s.padding, add: b.addend ? 1 : 0, mask: b.mask ? 1 : 0,
    },
    buffers: [b.gradOutput, b.weightsTransposed, b.addend ?? ctx.placeholder, b.mask ?? ctx.placeholder, b.gradInput],
    workgroups: groups,
  });
}
