// Grouped convolution (ResNeXt's 3x3 with `groups`), forward with the affine epilogue
// (shaders/conv2d-grouped.wgsl) and backward to the input (shaders/conv2d-grouped-backward.wgsl).
// Weights stay in torchvision's layout [Cout, Cin/G, K, K]: no packing, since a group's handful
// of channels would not fill a vec4 of another group's.

import source from '../../shaders/conv2d-grouped.wgsl';
import backwardSource from '../../shaders/conv2d-grouped-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';
import { type ReluOptions, reluMode } from './relu';
import { type Conv2dShape, conv2dOutputSize } from './conv2d';

const GEOMETRY = {
  inChannels: 'u32', inHeight: 'u32', inWidth: 'u32', outChannels: 'u32', outHeight: 'u32', outWidth: 'u32', padding: 'i32', groups: 'u32',
} as const;
const FORWARD = kernel('conv2d-grouped', uniforms('Params', { ...GEOMETRY, colBlocks: 'u32', threads: 'u32', groupsX: 'u32', relu: 'u32' }), source);
const BACKWARD = kernel('conv2d-grouped-backward', uniforms('Params', { ...GEOMETRY, count: 'u32', groupsX: 'u32', add: 'u32', mask: 'u32' }), backwardSource);

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

function geometry(s: GroupedConv2dShape, outHeight: number, outWidth: number) {
  return {
    inChannels: s.inChannels, inHeight: s.inHeight, inWidth: s.inWidth, outChannels: s.outChannels,
    outHeight, outWidth, padding: s.padding, groups: s.groups,
  };
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
  opts: ReluOptions,
  label = `conv2d-grouped ${s.kernel}x${s.kernel} s${s.stride} g${s.groups}${opts.relu ? ' relu' : ''}`,
): Dispatch {
  checkGroups(s, label);
  const { mode, yRelu } = reluMode(ctx, opts, label);
  const [oh, ow] = conv2dOutputSize(s);
  const colBlocks = Math.ceil(ow / COLS);
  const threads = s.batch * s.outChannels * oh * colBlocks;
  const workgroups = grid(threads, label);
  return ctx.dispatch(label, FORWARD, {
    constants: { KSIZE: s.kernel, STRIDE: s.stride, WG: WORKGROUP_SIZE },
    params: { ...geometry(s, oh, ow), colBlocks, threads, groupsX: workgroups[0], relu: mode },
    buffers: [b.input, b.weights, b.scale, b.shift, b.output, yRelu],
    workgroups,
  });
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
  return ctx.dispatch(label, BACKWARD, {
    constants: { KSIZE: s.kernel, STRIDE: s.stride, WG: WORKGROUP_SIZE },
    params: { ...geometry(s, oh, ow), count, groupsX: workgroups[0], add: b.addend ? 1 : 0, mask: b.mask ? 1 : 0 },
    buffers: [b.dy, b.weights, b.scale, b.addend ?? ctx.placeholder, b.mask ?? ctx.placeholder, b.dx],
    workgroups,
  });
}
