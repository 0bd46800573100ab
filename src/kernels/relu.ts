// ReLU, element-wise: y = max(x, 0). See shaders/relu.wgsl.

import source from '../../shaders/relu.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';

const WORKGROUP_SIZE = 256;
const RELU = kernel('relu', uniforms('Params', { count: 'u32' }), source);

export function reluDispatch(ctx: GpuContext, count: number, x: GPUBuffer, y: GPUBuffer, label = 'relu'): Dispatch {
  return ctx.dispatch(label, RELU, {
    constants: { WG: WORKGROUP_SIZE }, params: { count }, buffers: [x, y], workgroups: grid1d(count, WORKGROUP_SIZE),
  });
}
