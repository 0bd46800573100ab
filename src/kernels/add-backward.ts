// The fan-out rule: a tensor read by two consumers gets the sum of their gradients. This kernel adds
// one more gradient into an accumulator in place and, optionally, applies the backward of the ReLU
// that produced the tensor. See shaders/add-backward.wgsl.

import source from '../../shaders/add-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { placeholderBuffer } from './conv2d-backward';

/** acc[i] += g[i] (if `gradient`), then acc[i] = 0 where mask[i] <= 0 (if `mask`), over `count` elements. */
export function addBackwardDispatch(ctx: GpuContext, count: number,
  b: { gradient?: GPUBuffer; mask?: GPUBuffer; accumulator: GPUBuffer },
  label = `add-backward${b.gradient ? ' (fan-out accumulate)' : ''}${b.mask ? ' relu-mask' : ''}`): Dispatch {
  const pipeline = ctx.pipelines.get('add-backward', source);
  const params = ctx.createUniformBuffer(`${label} params`, [count, b.gradient ? 1 : 0, b.mask ? 1 : 0]);
  const none = placeholderBuffer(ctx);
  return {
    label,
    pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.gradient ?? none, b.mask ?? none, b.accumulator]),
    workgroups: grid1d(count, 256),
  };
}
