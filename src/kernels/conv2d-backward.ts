// Gradient of conv2d with respect to its input (weights fixed): the transposed convolution of the
// output gradient, as a gather, with optional fused residual addend and ReLU mask. The weights are
// the forward's, transposed to vec4s over input channels with the epilogue scale folded in
// (conv2d-weights-transpose, once per convolution). See shaders/conv2d-backward.wgsl.

import source from '../../shaders/conv2d-backward.wgsl';
import { type Dispatch, type GpuContext } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';
import { CONV2D_GEOMETRY_PARAMS, type Conv2dShape, conv2dOutputSize } from './conv2d';

const WORKGROUP_SIZE = 64;
/** Input columns per thread (the shader's COLS). */
const COLUMN_BLOCK = 8;
/** Output gradients a thread's row holds (the shader's RMAX): COLS + column taps - 1 at most. */
const ROW_MAX = 16;
/** Rows of output gradients a thread holds (the shader's DROWS): rows + row taps - 1 at most. */
const GRADIENT_ROWS_MAX = 8;
/** Accumulator blocks a thread owns (the shader's GMAX): channel groups x rows at most. */
export const MAX_ACCUMULATOR_BLOCKS = 8;

/** How a thread's work is blocked: the shader's CGROUPS and ROWS. Every form gives the same bits. */
export interface Conv2dBackwardForm {
  /** Groups of 4 input channels per thread. */
  channelGroups: number;
  /** Rows of its stride class per thread. */
  rows: number;
}

/**
 * The form for `s` on `ctx`'s adapter. On the CPU adapters a thread's output gradients are loaded
 * lane by lane, so the more channels and rows share them, the fewer loads per multiply-add: 8
 * groups (32 channels) where the convolution has them, and for the stem (3 channels, one group)
 * 2 rows. Against the kernel before these forms, ResNet18's stride-2 gradients ran 1.6-2.5x faster
 * on lavapipe (the stem 1.2x) and 1.5-2.6x on SwiftShader (the stem 0.96x; bench/results/
 * 2026-12-05-conv-backward-*.md). On GPUs one group and one row per thread keep the grid large;
 * not yet measured there.
 */
export function conv2dBackwardForm(ctx: GpuContext, s: Conv2dShape): Conv2dBackwardForm {
  const cpu = ctx.adapter.name === 'lavapipe' || ctx.adapter.name === 'swiftshader';
  if (!cpu) return { channelGroups: 1, rows: 1 };
  const groups = Math.ceil(s.inChannels / 4);
  return groups > 1 ? { channelGroups: Math.min(MAX_ACCUMULATOR_BLOCKS, groups), rows: 1 } : { channelGroups: 1, rows: 2 };
}

/** The kernel `label` of a conv2d-backward `source` with its Params (the tests' per-tap reference shares them). */
export function conv2dBackwardKernel(label: string, wgsl: string) {
  return kernel(label, uniforms('Params', {
    ...CONV2D_GEOMETRY_PARAMS,
    /** 1: add the addend */
    add: 'u32',
    /** 1: zero where mask <= 0 */
    mask: 'u32',
  }), wgsl);
}

const CONV2D_BACKWARD = conv2dBackwardKernel('conv2d-backward', source);

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
 * dx = conv_transpose(dy * scale) [+ addend] [* (mask > 0)]: one thread per `form.channelGroups` x 4
 * input channels x `form.rows` rows x 8 input columns of one stride class (see the shader),
 * workgroups split by image and class. `form` (default conv2dBackwardForm) changes the speed
 * only: every form gives the same bits.
 */
export function conv2dBackwardDispatch(ctx: GpuContext, s: Conv2dShape, b: Conv2dBackwardBuffers,
  label = `conv2d-backward ${s.kernel}x${s.kernel} s${s.stride}${b.addend ? ' +addend' : ''}${b.mask ? ' relu-mask' : ''}`,
  form: Conv2dBackwardForm = conv2dBackwardForm(ctx, s)): Dispatch {
  const { channelGroups, rows } = form;
  const taps = Math.ceil(s.kernel / s.stride);
  if (![channelGroups, rows].every((v) => Number.isInteger(v) && v >= 1) || channelGroups * rows > MAX_ACCUMULATOR_BLOCKS) {
    throw new Error(`${label}: channelGroups and rows must be positive integers with channelGroups x rows <= ${MAX_ACCUMULATOR_BLOCKS}, got ${channelGroups} and ${rows}`);
  }
  // The shader's registers: COLS + taps - 1 <= RMAX gradients per row, rows + taps - 1 <= DROWS rows.
  if (taps > ROW_MAX - COLUMN_BLOCK + 1 || rows + taps - 1 > GRADIENT_ROWS_MAX) {
    throw new Error(`${label}: kernel ${s.kernel} at stride ${s.stride} has ${taps} taps per stride class and row; `
      + `at most ${GRADIENT_ROWS_MAX + 1 - rows} fit ${rows} row${rows > 1 ? 's' : ''} per thread`);
  }
  const [oh, ow] = conv2dOutputSize(s);
  // Blocks of the largest stride class (see the shader): ceil(ceil(H/S) / rows) row blocks x
  // ceil(ceil(W/S) / 8) column blocks.
  const rowBlocks = Math.ceil(Math.ceil(s.inHeight / s.stride) / rows);
  const colBlocks = Math.ceil(Math.ceil(s.inWidth / s.stride) / COLUMN_BLOCK);
  const groups: [number, number, number] = [
    Math.ceil((rowBlocks * colBlocks) / WORKGROUP_SIZE), Math.ceil(Math.ceil(s.inChannels / 4) / channelGroups),
    s.batch * s.stride * s.stride,
  ];
  const limit = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (groups.some((g) => g > limit)) {
    throw new Error(`${label}: grid ${groups.join('x')} exceeds ${limit} workgroups per dimension`);
  }
  // One pipeline per (K, S, form); P and the switches are uniforms (see the shader).
  return ctx.dispatch(label, CONV2D_BACKWARD, {
    constants: { KSIZE: s.kernel, STRIDE: s.stride, WG: WORKGROUP_SIZE, CGROUPS: channelGroups, ROWS: rows },
    params: {
      inChannels: s.inChannels, inHeight: s.inHeight, inWidth: s.inWidth, outChannels: s.outChannels,
      outHeight: oh, outWidth: ow, padding: s.padding, add: b.addend ? 1 : 0, mask: b.mask ? 1 : 0,
    },
    buffers: [b.gradOutput, b.weightsTransposed, b.addend ?? ctx.placeholder, b.mask ?? ctx.placeholder, b.gradInput],
    workgroups: groups,
  });
}
