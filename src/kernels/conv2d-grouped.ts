// Grouped convolution (ResNeXt's 3x3 with `groups`), forward with the affine epilogue
// (shaders/conv2d-grouped.wgsl) and backward to the input (shaders/conv2d-grouped-backward.wgsl).
// Weights stay in torchvision's layout [Cout, Cin/G, K, K]: no packing, since a group's handful
// of channels would not fill a vec4 of another group's.

import source from '../../shaders/conv2d-grouped.wgsl';
import backwardSource from '../../shaders/conv2d-grouped-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { type Conv2dShape, conv2dOutputSize } from './conv2d';
import { placeholderBuffer } from './conv2d-backward';

export interface GroupedConv2dShape extends Conv2dShape {
  groups: number;
}

const WORKGROUP_SIZE = 64;
const COLS = 4;

function checkGroups(s: GroupedConv2dShape, label: string): void {
  if (!Number.isInteger(s.groups) || s.groups < 1 || s.inChannels % s.groups !== 0 || s.outChannels % s.groups !== 0) {
    throw new Error(`${label}: ${s.inChannels} -> ${s.outChannels} channels do not split into ${s.groups} groups`);
  }
}

function grid(count: number, label: string): [number, number, number] {
  if (count >= 2 ** 32) throw new Error(`${label}: ${count} threads exceed the 32-bit thread index`);
  return grid1d(count, WORKGROUP_SIZE);
}

/** y = act(scale[o] * groupedConv(x, W)[o] + shift[o]); `weights` in [Cout, Cin/G, K, K]. */
export function groupedConv2dDispatch(
  ctx: GpuContext,
  s: GroupedConv2dShape,
  b: { input: GPUBuffer; weights: GPUBuffer; scale: GPUBuffer; shift: GPUBuffer; output: GPUBuffer },
  opts: { relu: boolean },
  label = `conv2d-grouped ${s.kernel}x${s.kernel} s${s.stride} g${s.groups}${opts.relu ? ' relu' : ''}`,
): Dispatch {
  checkGroups(s, label);
  const [oh, ow] = conv2dOutputSize(s);
  const colBlocks = Math.ceil(ow / COLS);
  const threads = s.batch * s.outChannels * oh * colBlocks;
  const workgroups = grid(threads, label);
  const pipeline = ctx.pipelines.get('conv2d-grouped', source, { KSIZE: s.kernel, STRIDE: s.stride, WG: WORKGROUP_SIZE });
  const params = ctx.createUniformBuffer(`${label} params`, [
    s.inChannels, s.inHeight, s.inWidth, s.outChannels, oh, ow, s.padding, s.groups, colBlocks, threads, workgroups[0], opts.relu ? 1 : 0,
  ], ['u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'i32', 'u32', 'u32', 'u32', 'u32', 'u32']);
  return {
    label,
    pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.input, b.weights, b.scale, b.shift, b.output]),
    workgroups,
  };
}

/**
 * dx of y = scale * groupedConv(x, W) + shift, given dy; optionally dx += addend, then dx = 0 where
 * mask <= 0 (as conv2dBackwardDispatch).
 */
export function groupedConv2dBackwardDispatch(
  ctx: GpuContext,
  s: GroupedConv2dShape,
  b: { dy: GPUBuffer; weights: GPUBuffer; scale: GPUBuffer; dx: GPUBuffer; addend?: GPUBuffer; mask?: GPUBuffer },
  label = `conv2d-grouped-backward ${s.kernel}x${s.kernel} s${s.stride} g${s.groups}`,
): Dispatch {
  checkGroups(s, label);
  const [oh, ow] = conv2dOutputSize(s);
  const count = s.batch * s.inChannels * s.inHeight * s.inWidth;
  const workgroups = grid(count, label);
  const pipeline = ctx.pipelines.get('conv2d-grouped-backward', backwardSource, { KSIZE: s.kernel, STRIDE: s.stride, WG: WORKGROUP_SIZE });
  const params = ctx.createUniformBuffer(`${label} params`, [
    s.inChannels, s.inHeight, s.inWidth, s.outChannels, oh, ow, s.padding, s.groups, count, workgroups[0], b.addend ? 1 : 0, b.mask ? 1 : 0,
  ], ['u32', 'u32', 'u32', 'u32', 'u32', 'u32', 'i32', 'u32', 'u32', 'u32', 'u32', 'u32']);
  const unused = placeholderBuffer(ctx);
  return {
    label,
    pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.dy, b.weights, b.scale, b.addend ?? unused, b.mask ?? unused, b.dx]),
    workgroups,
  };
}
