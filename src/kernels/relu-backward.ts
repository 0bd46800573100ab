// Gradient of ReLU: dx = dy where the activation is positive, else 0. See shaders/relu-backward.wgsl.

import source from '../../shaders/relu-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';

/** dx[i] = act[i] > 0 ? dy[i] : 0, with act the ReLU's output (or its input). */
export function reluBackwardDispatch(ctx: GpuContext, count: number,
  b: { gradOutput: GPUBuffer; activation: GPUBuffer; gradInput: GPUBuffer }, label = 'relu-backward'): Dispatch {
  const pipeline = ctx.pipelines.get('relu-backward', source);
  const params = ctx.createUniformBuffer(`${label} params`, [count]);
  return {
    label,
    pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.gradOutput, b.activation, b.gradInput]),
    workgroups: grid1d(count, 256),
  };
}
