// Gradient of inference BatchNorm: dx = dy * gamma / sqrt(var + eps) per channel.
// See shaders/batchnorm-backward.wgsl.

import source from '../../shaders/batchnorm-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';

export function batchnormBackwardDispatch(ctx: GpuContext,
  s: { batch: number; channels: number; spatial: number; eps?: number },
  b: { gradOutput: GPUBuffer; gamma: GPUBuffer; variance: GPUBuffer; gradInput: GPUBuffer },
  label = 'batchnorm-backward'): Dispatch {
  const count = s.batch * s.channels * s.spatial;
  const pipeline = ctx.pipelines.get('batchnorm-backward', source);
  const params = ctx.createUniformBuffer(`${label} params`, [count, s.channels, s.spatial, s.eps ?? 1e-5],
    ['u32', 'u32', 'u32', 'f32']);
  return {
    label,
    pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.gradOutput, b.gamma, b.variance, b.gradInput]),
    workgroups: grid1d(count, 256),
  };
}
