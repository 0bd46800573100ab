// Element-wise y = a + b with an optional fused ReLU. See shaders/add.wgsl.

import source from '../../shaders/add.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';
import { type ReluOptions, reluMode } from './relu';

const WORKGROUP_SIZE = 256;
const ADD = kernel('add', uniforms('Params', { count: 'u32' }), source);

export function addDispatch(ctx: GpuContext, count: number, a: GPUBuffer, b: GPUBuffer, y: GPUBuffer,
  opts: ReluOptions, label = `add${opts.relu ? ' relu' : ''}`): Dispatch {
  if (!Number.isInteger(count) || count < 1) throw new Error(`${label}: count must be a positive integer, got ${count}`);
  const { mode, yRelu } = reluMode(ctx, opts, label);
  return ctx.dispatch(label, ADD, {
    constants: { RELU: mode, WG: WORKGROUP_SIZE }, params: { count },
    buffers: [a, b, y, yRelu], workgroups: grid1d(count, WORKGROUP_SIZE),
  });
}
