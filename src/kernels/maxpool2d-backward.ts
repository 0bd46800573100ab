// Gradient of max pooling, routed to each window's argmax with PyTorch's tie rule (first maximum in
// scan order), as a gather that re-derives the argmax from the forward input.
// See shaders/maxpool2d-backward.wgsl.

import source from '../../shaders/maxpool2d-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';

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
  const pipeline = ctx.pipelines.get('maxpool2d-backward', source, {
    KSIZE: s.kernel, STRIDE: s.stride, RELU_MASK: opts.reluMask ? 1 : 0,
  });
  const params = ctx.createUniformBuffer(`${label} params`, [count, s.inHeight, s.inWidth, oh, ow, s.padding],
    ['u32', 'u32', 'u32', 'u32', 'u32', 'i32']);
  return {
    label,
    pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.input, b.gradOutput, b.gradInput]),
    workgroups: grid1d(count, 256),
  };
}
