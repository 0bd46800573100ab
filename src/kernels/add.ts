// Element-wise y = a + b with an optional fused ReLU. See shaders/add.wgsl.

import source from '../../shaders/add.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';

const WORKGROUP_SIZE = 256;

export function addDispatch(ctx: GpuContext, count: number, a: GPUBuffer, b: GPUBuffer, y: GPUBuffer,
  opts: { relu: boolean }, label = `add${opts.relu ? ' relu' : ''}`): Dispatch {
  if (!Number.isInteger(count) || count < 1) throw new Error(`${label}: count must be a positive integer, got ${count}`);
  const pipeline = ctx.pipelines.get('add', source, { RELU: opts.relu ? 1 : 0, WG: WORKGROUP_SIZE });
  const params = ctx.createUniformBuffer(`${label} params`, [count]);
  return {
    label,
    pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, a, b, y]),
    workgroups: grid1d(count, WORKGROUP_SIZE),
  };
}
