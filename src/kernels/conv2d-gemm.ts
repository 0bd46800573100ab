// The tiled implicit-GEMM convolution (shaders/conv2d-gemm.wgsl) and, where a layer has too few
// output tiles to fill a GPU, its split over the taps (K) with a reduction pass
// (shaders/conv2d-splitk-reduce.wgsl). Same bindings, weight layout and epilogue as conv2dDispatch;
// results equal conv2d.wgsl's to float32 rounding (another summation order).
//
// Split-K: a layer with few output pixels and many taps (ResNet18's layer4 at batch 1: 64 x 8
// tiles of 64 channels x 64 pixels over 4,608 taps) gives a GPU a handful of workgroups, each a
// long serial loop. Splitting the taps into `splitK` chunks gives splitK times the workgroups;
// their raw sums go to a scratch buffer that the reduction sums in a fixed order.

import source from '../../shaders/conv2d-gemm.wgsl';
import reduceSource from '../../shaders/conv2d-splitk-reduce.wgsl';
import gemmTile from '../../shaders/parts/gemm-tile.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';
import { type ReluOptions, reluMode } from './relu';
import { type Conv2dShape, conv2dOutputSize } from './conv2d';
import { TILE as GEMM_TILE, gemmScratchBytes, gemmSplitK } from './conv2d-variants';

export { gemmScratchBytes, gemmSplitK };

const GEMM = kernel('conv2d-gemm', uniforms('Params', {
  inChannels: 'u32', inHeight: 'u32', inWidth: 'u32', outChannels: 'u32', outHeight: 'u32', outWidth: 'u32', padding: 'i32',
  taps: 'u32', pixels: 'u32', chunk: 'u32', splitK: 'u32', relu: 'u32',
}), source, gemmTile);
const REDUCE = kernel('conv2d-splitk-reduce', uniforms('Params', {
  outChannels: 'u32', pixels: 'u32', outPlane: 'u32', splitK: 'u32', groupsX: 'u32', relu: 'u32',
}), reduceSource);

const TILE = GEMM_TILE;
const STEP = 16;
const REDUCE_WG = 256;

/**
 * The dispatches of one convolution: the GEMM pass, and the reduction when split. `scratch` must
 * hold gemmScratchBytes(s) bytes where that is not 0 (it may be shared by convolutions that do not
 * run at the same time: the passes of a plan run in order).
 */
export function conv2dGemmDispatches(
  ctx: GpuContext,
  s: Conv2dShape,
  b: { input: GPUBuffer; weights: GPUBuffer; scale: GPUBuffer; shift: GPUBuffer; output: GPUBuffer; scratch?: GPUBuffer },
  opts: ReluOptions & { splitK?: number },
  label = `conv2d-gemm ${s.kernel}x${s.kernel} s${s.stride}${opts.relu ? ' relu' : ''}`,
): Dispatch[] {
  const [oh, ow] = conv2dOutputSize(s);
  const taps = s.inChannels * s.kernel * s.kernel;
  const pixels = s.batch * oh * ow;
  const splitK = opts.splitK ?? gemmSplitK(s);
  if (!Number.isInteger(splitK) || splitK < 1 || splitK > taps) throw new Error(`${label}: splitK must be 1 .. ${taps}, got ${splitK}`);
  const chunk = Math.ceil(taps / splitK / STEP) * STEP;
  const splits = Math.ceil(taps / chunk);
  const workgroups: [number, number, number] = [Math.ceil(pixels / TILE), Math.ceil(s.outChannels / TILE), splits];
  if (workgroups[0] > 65535 || workgroups[1] > 65535) throw new Error(`${label}: ${workgroups.join(' x ')} workgroups exceed the grid limit`);
  if (splits > 1) {
    const need = splits * s.outChannels * pixels * 4;
    if (!b.scratch || b.scratch.size < need) throw new Error(`${label}: a split over ${splits} chunks needs a scratch buffer of ${need} bytes`);
  }
  // Unsplit, the pass writes y and never touches `partial`, which gets the context's placeholder
  // (WebGPU does not let one buffer fill two writable bindings of a dispatch).
  const partial = splits > 1 ? b.scratch! : ctx.placeholder;
  const { mode, yRelu } = reluMode(ctx, opts, label);
  const gemm = ctx.dispatch(label, GEMM, {
    constants: { KSIZE: s.kernel, STRIDE: s.stride, WG: 256 },
    params: {
      inChannels: s.inChannels, inHeight: s.inHeight, inWidth: s.inWidth, outChannels: s.outChannels, outHeight: oh, outWidth: ow,
      padding: s.padding, taps, pixels, chunk, splitK: splits, relu: mode,
    },
    // Split, the pass writes neither y nor yRelu: the reduce does.
    buffers: [b.input, b.weights, b.scale, b.shift, b.output, partial, splits > 1 ? ctx.unusedReluOutput : yRelu],
    workgroups,
  });
  if (splits === 1) return [gemm];
  const reduceLabel = `${label} split-K ${splits} reduce`;
  const reduceGrid = grid1d(s.outChannels * pixels, REDUCE_WG);
  return [gemm, ctx.dispatch(reduceLabel, REDUCE, {
    constants: { WG: REDUCE_WG },
    params: { outChannels: s.outChannels, pixels, outPlane: oh * ow, splitK: splits, groupsX: reduceGrid[0], relu: mode },
    buffers: [b.scratch!, b.scale, b.shift, b.output, yRelu],
    workgroups: reduceGrid,
  })];
}
