// Gradient of ReLU: dx = dy where the activation is positive, else 0. See shaders/relu-backward.wgsl.

import source from '../../shaders/relu-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';

const WORKGROUP_SIZE = 256;
const RELU_BACKWARD = kernel('relu-backward', uniforms('Params', { count: 'u32' }), source);

/** dx[i] = act[i] > 0 ? dy[i] : 0, with act the ReLU's output (or its input). */
export function reluBackwardDispatch(ctx: GpuContext, count: number,
  b: { gradOutput: GPUBuffer; activation: GPUBuffer; gradInput: GPUBuffer }, label = 'relu-backward'): Dispatch {
  return ctx.dispatch(label, RELU_BACKWARD, {
    constants: { WG: WORKGROUP_SIZE }, params: { count },
    buffers: [b.gradOutput, b.activation, b.gradInput], workgroups: grid1d(count, WORKGROUP_SIZE),
  });
}
