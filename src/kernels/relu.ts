// ReLU, element-wise: y = max(x, 0). See shaders/relu.wgsl.

import source from '../../shaders/relu.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';

export function reluDispatch(ctx: GpuContext, count: number, x: GPUBuffer, y: GPUBuffer, label = 'relu'): Dispatch {
  const pipeline = ctx.pipelines.get('relu', source);
  const params = ctx.createUniformBuffer(`${label} params`, [count]);
  return { label, pipeline, bindGroup: ctx.bindGroup(label, pipeline, [params, x, y]), workgroups: grid1d(count, 256) };
}
