// ReLU, element-wise: y = max(x, 0). See shaders/relu.wgsl.

import source from '../../shaders/relu.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';

const WORKGROUP_SIZE = 256;
const RELU = kernel('relu', uniforms('Params', { count: 'u32' }), source);

/** What a kernel with a fused ReLU does at its end: `relu` applies it; `reluOutput` keeps both. */
export interface ReluOptions {
  /** y = max(., 0). */
  relu: boolean;
  /**
   * Write the result before the ReLU to y and max(., 0) of it here, in the same pass (a plan that
   * reads back a tap before a ReLU and needs the tap after it). Not with `relu`.
   */
  reluOutput?: GPUBuffer;
}

/**
 * The ReLU mode of add, batchnorm and every conv2d forward kernel (their RELU constant or
 * params.relu: 0 none, 1 ReLU, 2 both outputs) and the buffer of their yRelu binding.
 */
export function reluMode(ctx: GpuContext, opts: ReluOptions, label: string): { mode: 0 | 1 | 2; yRelu: GPUBuffer } {
  if (opts.reluOutput && opts.relu) throw new Error(`${label}: relu and reluOutput exclude each other (reluOutput keeps y before the ReLU)`);
  if (opts.reluOutput) return { mode: 2, yRelu: opts.reluOutput };
  return { mode: opts.relu ? 1 : 0, yRelu: ctx.unusedReluOutput };
}

export function reluDispatch(ctx: GpuContext, count: number, x: GPUBuffer, y: GPUBuffer, label = 'relu'): Dispatch {
  return ctx.dispatch(label, RELU, {
    constants: { WG: WORKGROUP_SIZE }, params: { count }, buffers: [x, y], workgroups: grid1d(count, WORKGROUP_SIZE),
  });
}
