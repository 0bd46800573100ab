// Gradient of the global average pool: dx[n,c,h,w] = dy[n,c] / (H*W).
// See shaders/global-avgpool-backward.wgsl.

import source from '../../shaders/global-avgpool-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';

export function globalAvgPoolBackwardDispatch(ctx: GpuContext,
  s: { batch: number; channels: number; height: number; width: number },
  b: { gradOutput: GPUBuffer; gradInput: GPUBuffer }, label = 'global-avgpool-backward'): Dispatch {
  const spatial = s.height * s.width;
  const count = s.batch * s.channels * spatial;
  const pipeline = ctx.pipelines.get('global-avgpool-backward', source);
  const params = ctx.createUniformBuffer(`${label} params`, [count, spatial]);
  return {
    label,
    pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.gradOutput, b.gradInput]),
    workgroups: grid1d(count, 256),
  };
}
