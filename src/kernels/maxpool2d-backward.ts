// Gradient of max pooling, routed to each window's argmax with PyTorch's tie rule (first maximum in
// scan order), in two passes without atomics: maxpool2d-argmax writes each window's pick (the
// optional ReLU mask folded in), maxpool2d-backward gathers dy through the picks.
// See shaders/maxpool2d-argmax.wgsl and shaders/maxpool2d-backward.wgsl.

import argmaxSource from '../../shaders/maxpool2d-argmax.wgsl';
import gatherSource from '../../shaders/maxpool2d-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';

const WORKGROUP_SIZE = 256;
/** The Params of both passes. */
const PARAMS = uniforms('Params', {
  /** N*C*OH*OW: the argmax pass's threads */
  windows: 'u32',
  /** N*C*blocksY*blocksX: the gather's threads */
  blocks: 'u32',
  inHeight: 'u32', inWidth: 'u32', outHeight: 'u32', outWidth: 'u32', padding: 'i32',
  /** gather blocks per plane, down and across */
  blocksY: 'u32', blocksX: 'u32',
  /** the first block's top-left is (-offset, -offset): P mod S when BLOCK == S, so a block's elements share their windows */
  offset: 'i32',
});
const MAXPOOL2D_ARGMAX = kernel('maxpool2d-argmax', PARAMS, argmaxSource);
const MAXPOOL2D_BACKWARD = kernel('maxpool2d-backward', PARAMS, gatherSource);

export interface MaxPool2dShape {
  batch: number;
  channels: number;
  inHeight: number;
  inWidth: number;
  kernel: number;
  stride: number;
  padding: number;
}

export function maxpool2dOutputSize(s: MaxPool2dShape): [number, number] {
  return [Math.floor((s.inHeight + 2 * s.padding - s.kernel) / s.stride) + 1,
    Math.floor((s.inWidth + 2 * s.padding - s.kernel) / s.stride) + 1];
}

/** Elements (u32) of the argmax scratch the backward needs: one per window, N*C*OH*OW. */
export function maxpool2dArgmaxLength(s: MaxPool2dShape): number {
  const [oh, ow] = maxpool2dOutputSize(s);
  return s.batch * s.channels * oh * ow;
}

/** The gather's blocking: block side, origin offset, and the most windows along one side of any block. */
function gatherBlocking(s: MaxPool2dShape): { block: number; offset: number; nwin: number } {
  const block = Math.min(s.stride, 2); // the gather's accumulators hold at most 2x2 elements
  const offset = block === s.stride ? s.padding % s.stride : 0;
  const ceilDiv = (t: number) => Math.ceil(t / s.stride);
  let nwin = 0;
  // The window count of a block depends on its origin modulo the stride: one period suffices.
  for (let b = 0; b < s.stride; b++) {
    const r0 = b * block - offset;
    nwin = Math.max(nwin, Math.floor((r0 + block - 1 + s.padding) / s.stride) - ceilDiv(r0 + s.padding - s.kernel + 1) + 1);
  }
  return { block, offset, nwin };
}

/**
 * dx (NCHW like x) from dy (NCHW [N, C, OH, OW]) and the forward input x, through `argmax`, a
 * scratch of maxpool2dArgmaxLength(s) u32s the first dispatch writes and the second reads. With
 * `reluMask`, x is a ReLU output and that ReLU's backward is fused: dx = 0 where x <= 0.
 */
export function maxpool2dBackwardDispatches(ctx: GpuContext, s: MaxPool2dShape,
  b: { input: GPUBuffer; gradOutput: GPUBuffer; gradInput: GPUBuffer; argmax: GPUBuffer }, opts: { reluMask?: boolean } = {},
  label = `maxpool2d-backward ${s.kernel}x${s.kernel} s${s.stride}${opts.reluMask ? ' relu-mask' : ''}`): Dispatch[] {
  if (s.padding * 2 > s.kernel) throw new Error(`${label}: padding ${s.padding} exceeds half the kernel ${s.kernel} (as torch forbids)`);
  const [oh, ow] = maxpool2dOutputSize(s);
  const windows = maxpool2dArgmaxLength(s);
  if (b.argmax.size < windows * 4) throw new Error(`${label}: argmax scratch holds ${b.argmax.size} bytes, needs ${windows * 4}`);
  const { block, offset, nwin } = gatherBlocking(s);
  const blocksY = Math.ceil((s.inHeight + offset) / block);
  const blocksX = Math.ceil((s.inWidth + offset) / block);
  const blocks = s.batch * s.channels * blocksY * blocksX;
  const params = {
    windows, blocks, inHeight: s.inHeight, inWidth: s.inWidth, outHeight: oh, outWidth: ow, padding: s.padding, blocksY, blocksX, offset,
  };
  return [
    ctx.dispatch(`${label} argmax`, MAXPOOL2D_ARGMAX, {
      constants: { KSIZE: s.kernel, STRIDE: s.stride, RELU_MASK: opts.reluMask ? 1 : 0, WG: WORKGROUP_SIZE },
      params, buffers: [b.input, b.argmax], workgroups: grid1d(windows, WORKGROUP_SIZE),
    }),
    ctx.dispatch(`${label} gather`, MAXPOOL2D_BACKWARD, {
      constants: { KSIZE: s.kernel, STRIDE: s.stride, BLOCK: block, NWIN: nwin, WG: WORKGROUP_SIZE },
      params, buffers: [b.argmax, b.gradOutput, b.gradInput], workgroups: grid1d(blocks, WORKGROUP_SIZE),
    }),
  ];
}
