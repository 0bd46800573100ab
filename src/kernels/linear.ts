// Fully connected layer, y[n,o] = sum_i x[n,i] * W[o,i] + bias[o] (torch.nn.Linear layout).
// See shaders/linear.wgsl.

import source from '../../shaders/linear.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';

const WORKGROUP_SIZE = 64;
const LINEAR = kernel('linear', uniforms('Params', { batch: 'u32', inFeatures: 'u32', outFeatures: 'u32' }), source);

export interface LinearShape {
  batch: number;
  inFeatures: number;
  outFeatures: number;
}

export function linearDispatch(ctx: GpuContext, s: LinearShape,
  b: { x: GPUBuffer; weight: GPUBuffer; bias: GPUBuffer; y: GPUBuffer }, label = 'linear'): Dispatch {
  for (const key of ['batch', 'inFeatures', 'outFeatures'] as const) {
    if (!Number.isInteger(s[key]) || s[key] < 1) throw new Error(`${label}: ${key} must be a positive integer, got ${s[key]}`);
  }
  return ctx.dispatch(label, LINEAR, {
    constants: { WG: WORKGROUP_SIZE }, params: { batch: s.batch, inFeatures: s.inFeatures, outFeatures: s.outFeatures },
    buffers: [b.x, b.weight, b.bias, b.y], workgroups: grid1d(s.batch * s.outFeatures, WORKGROUP_SIZE),
  });
}
