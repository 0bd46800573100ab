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
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { type Conv2dShape, conv2dOutputSize } from './conv2d';

const TILE = 64;
const STEP = 16;
const REDUCE_WG = 256;
/** Workgroups a split aims for: enough to fill a large GPU (over 100 compute units) twice. */
const TARGET_WORKGROUPS = 256;
/** The smallest chunk of taps worth a split of its own. */
const MIN_CHUNK = 4 * STEP;

/** How many chunks to split the taps into (1: no split, the epilogue runs in the GEMM pass). */
export function gemmSplitK(s: Conv2dShape): number {
  const [oh, ow] = conv2dOutputSize(s);
  const tiles = Math.ceil((s.batch * oh * ow) / TILE) * Math.ceil(s.outChannels / TILE);
  const taps = s.inChannels * s.kernel * s.kernel;
  if (tiles >= TARGET_WORKGROUPS / 2) return 1;
  return Math.max(1, Math.min(Math.ceil(TARGET_WORKGROUPS / tiles), Math.floor(taps / MIN_CHUNK)));
}

/** Bytes of the scratch buffer a split needs (0 when gemmSplitK(s) is 1). */
export function gemmScratchBytes(s: Conv2dShape): number {
  const split = gemmSplitK(s);
  if (split === 1) return 0;
  const [oh, ow] = conv2dOutputSize(s);
  return split * s.outChannels * s.batch * oh * ow * 4;
}

/**
 * The dispatches of one convolution: the GEMM pass, and the reduction when split. `scratch` must
 * hold gemmScratchBytes(s) bytes where that is not 0 (it may be shared by convolutions that do not
 * run at the same time: the passes of a plan run in order).
 */
export function conv2dGemmDispatches(
  ctx: GpuContext,
  s: Conv2dShape,
  b: { input: GPUBuffer; weights: GPUBuffer; scale: GPUBuffer; shift: GPUBuffer; output: GPUBuffer; scratch?: GPUBuffer },
  opts: { relu: boolean; splitK?: number },
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
  const pipeline = ctx.pipelines.get('conv2d-gemm', source, { KSIZE: s.kernel, STRIDE: s.stride });
  const params = ctx.createUniformBuffer(`${label} params`, [
    s.inChannels, s.inHeight, s.inWidth, s.outChannels, oh, ow, s.padding, taps, pixels, chunk, splits, opts.relu ? 1 : 0,
  ], ['u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'i32', 'u32', 'u32', 'u32', 'u32', 'u32']);
  // Unsplit, the pass writes y and never touches `partial`, which gets a 4-byte stand-in (WebGPU
  // does not let one buffer fill two writable bindings of a dispatch).
  const partial = splits > 1 ? b.scratch! : ctx.createStorageBuffer(`${label} unused partial`, new Float32Array(1));
  const gemm: Dispatch = {
    label,
    pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.input, b.weights, b.scale, b.shift, b.output, partial]),
    workgroups,
  };
  if (splits === 1) return [gemm];
  const reduceLabel = `${label} split-K ${splits} reduce`;
  const reduceGrid = grid1d(s.outChannels * pixels, REDUCE_WG);
  const reducePipeline = ctx.pipelines.get('conv2d-splitk-reduce', reduceSource, { WG: REDUCE_WG });
  const reduceParams = ctx.createUniformBuffer(`${reduceLabel} params`, [s.outChannels, pixels, oh * ow, splits, reduceGrid[0], opts.relu ? 1 : 0]);
  return [gemm, {
    label: reduceLabel,
    pipeline: reducePipeline,
    bindGroup: ctx.bindGroup(reduceLabel, reducePipeline, [reduceParams, b.scratch!, b.scale, b.shift, b.output]),
    workgroups: reduceGrid,
  }];
}
