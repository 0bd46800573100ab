// The transposed, scale-folded weights conv2d-backward reads, made on the GPU from the forward's
// packed weights and epilogue scale. See shaders/conv2d-weights-transpose.wgsl.

import source from '../../shaders/conv2d-weights-transpose.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';

export interface WeightsTransposeShape {
  inChannels: number;
  outChannels: number;
  kernel: number;
}

/** Float32 elements of the transposed weights: ceil(Cin/4) * Cout * K * K vec4s. */
export function transposedWeightsLength(s: WeightsTransposeShape): number {
  return Math.ceil(s.inChannels / 4) * s.outChannels * s.kernel * s.kernel * 4;
}

/**
 * Transposed weights (vec4s over input channels, scale folded) from the forward packing; `flip`
 * also rotates each filter by 180 degrees (for a stride-1 gradient run as a forward convolution).
 */
export function conv2dWeightsTransposeDispatch(ctx: GpuContext, s: WeightsTransposeShape,
  b: { weights: GPUBuffer; scale: GPUBuffer; output: GPUBuffer }, opts: { flip?: boolean } = {},
  label = `conv2d weights transpose${opts.flip ? ' (flipped)' : ''}`): Dispatch {
  const taps = s.kernel * s.kernel;
  const pipeline = ctx.pipelines.get('conv2d-weights-transpose', source);
  const params = ctx.createUniformBuffer(`${label} params`, [s.inChannels, s.outChannels, s.kernel, opts.flip ? 1 : 0]);
  return {
    label, pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.weights, b.scale, b.output]),
    workgroups: grid1d(Math.ceil(s.inChannels / 4) * s.outChannels * taps, 64),
  };
}
