// The fan-out rule: a tensor read by two consumers gets the sum of their gradients. This kernel adds
// one more gradient into an accumulator in place and, optionally, applies the backward of the ReLU
// that produced the tensor. See shaders/add-backward.wgsl.

import source from '../../shaders/add-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';

const WORKGROUP_SIZE = 256;
const ADD_BACKWARD = kernel('add-backward', uniforms('Params', { count: 'u32', add: 'u32', mask: 'u32' }), source);

/** acc[i] += g[i] (if `gradient`), then acc[i] = 0 where mask[i] <= 0 (if `mask`), over `count` elements. */
export function addBackwardDispatch(ctx: GpuContext, count: number,
  b: { gradient?: GPUBuffer; mask?: GPUBuffer; accumulator: GPUBuffer },
  label = `add-backward${b.gradient ? ' (fan-out accumulate)' : ''}${b.mask ? ' relu-mask' : ''}`): Dispatch {
  return ctx.dispatch(label, ADD_BACKWARD, {
    constants: { WG: WORKGROUP_SIZE },
    params: { count, add: b.gradient ? 1 : 0, mask: b.mask ? 1 : 0 },
    buffers: [b.gradient ?? ctx.placeholder, b.mask ?? ctx.placeholder, b.accumulator],
    workgroups: grid1d(count, WORKGROUP_SIZE),
  });
}
