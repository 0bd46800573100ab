// Gradient of max pooling, routed to each window's argmax with PyTorch's tie rule (first maximum in
// scan order), as a gather that re-derives the argmax from the forward input.
// See shaders/maxpool2d-backward.wgsl.

import source from '../../shaders/maxpool2d-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';

const WORKGROUP_SIZE = 256;
const MAXPOOL2D_BACKWARD = kernel('maxpool2d-backward', uniforms('Params', {
  /** N*C*H*W */
  count: 'u32', inHeight: 'u32', inWidth: 'u32', outHeight: 'u32', outWidth: 'u32', padding: 'i32',
}), source);

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

/**
 * dx (NCHW like x) from dy (NCHW [N, C, OH, OW]) and the forward input x. With `reluMask`, x is a
 * ReLU output and that ReLU's backward is fused: dx = 0 where x <= 0.
 */
export function maxpool2dBackwardDispatch(ctx: GpuContext, s: MaxPool2dShape,
  b: { input: GPUBuffer; gradOutput: GPUBuffer; gradInput: GPUBuffer }, opts: { reluMask?: boolean } = {},
  label = `maxpool2d-backward ${s.kernel}x${s.kernel} s${s.stride}${opts.reluMask ? ' relu-mask' : ''}`): Dispatch {
  if (s.padding * 2 > s.kernel) throw new Error(`${label}: padding ${s.padding} exceeds half the kernel ${s.kernel} (as torch forbids)`);
  const [oh, ow] = maxpool2dOutputSize(s);
  const count = s.batch * s.channels * s.inHeight * s.inWidth;
  return ctx.dispatch(label, MAXPOOL2D_BACKWARD, {
    constants: { KSIZE: s.kernel, STRIDE: s.stride, RELU_MASK: opts.reluMask ? 1 : 0, WG: WORKGROUP_SIZE },
    params: { count, inHeight: s.inHeight, inWidth: s.inWidth, outHeight: oh, outWidth: ow, padding: s.padding },
    buffers: [b.input, b.gradOutput, b.gradInput], workgroups: grid1d(count, WORKGROUP_SIZE),
  });
}
