// Gradient of inference BatchNorm: dx = dy * gamma / sqrt(var + eps) per channel.
// See shaders/batchnorm-backward.wgsl.

import source from '../../shaders/batchnorm-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';

const WORKGROUP_SIZE = 256;
const BATCHNORM_BACKWARD = kernel('batchnorm-backward',
  uniforms('Params', { count: 'u32', channels: 'u32', spatial: 'u32', eps: 'f32' }), source);

export function batchnormBackwardDispatch(ctx: GpuContext,
  s: { batch: number; channels: number; spatial: number; eps?: number },
  b: { gradOutput: GPUBuffer; gamma: GPUBuffer; variance: GPUBuffer; gradInput: GPUBuffer },
  label = 'batchnorm-backward'): Dispatch {
  const count = s.batch * s.channels * s.spatial;
  return ctx.dispatch(label, BATCHNORM_BACKWARD, {
    constants: { WG: WORKGROUP_SIZE }, params: { count, channels: s.channels, spatial: s.spatial, eps: s.eps ?? 1e-5 },
    buffers: [b.gradOutput, b.gamma, b.variance, b.gradInput], workgroups: grid1d(count, WORKGROUP_SIZE),
  });
}
