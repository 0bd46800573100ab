// Gradient of the global average pool: dx[n,c,h,w] = dy[n,c] / (H*W).
// See shaders/global-avgpool-backward.wgsl.

import source from '../../shaders/global-avgpool-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';

const WORKGROUP_SIZE = 256;
const GLOBAL_AVGPOOL_BACKWARD = kernel('global-avgpool-backward', uniforms('Params', { count: 'u32', spatial: 'u32' }), source);

export function globalAvgPoolBackwardDispatch(ctx: GpuContext,
  s: { batch: number; channels: number; height: number; width: number },
  b: { gradOutput: GPUBuffer; gradInput: GPUBuffer }, label = 'global-avgpool-backward'): Dispatch {
  const spatial = s.height * s.width;
  const count = s.batch * s.channels * spatial;
  return ctx.dispatch(label, GLOBAL_AVGPOOL_BACKWARD, {
    constants: { WG: WORKGROUP_SIZE }, params: { count, spatial },
    buffers: [b.gradOutput, b.gradInput], workgroups: grid1d(count, WORKGROUP_SIZE),
  });
}
