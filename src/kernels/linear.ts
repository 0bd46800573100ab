// Fully connected layer, y[n,o] = sum_i x[n,i] * W[o,i] + bias[o] (torch.nn.Linear layout).
// See shaders/linear.wgsl.

import source from '../../shaders/linear.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';

const WORKGROUP_SIZE = 64;

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
  const outputs = s.batch * s.outFeatures;
  const pipeline = ctx.pipelines.get('linear', source, { WG: WORKGROUP_SIZE });
  const params = ctx.createUniformBuffer(`${label} params`, [s.batch, s.inFeatures, s.outFeatures]);
  return {
    label,
    pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.x, b.weight, b.bias, b.y]),
    workgroups: grid1d(outputs, WORKGROUP_SIZE),
  };
}
