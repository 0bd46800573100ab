// The transposed, scale-folded weights conv2d-backward reads, made on the GPU from the forward's
// packed weights and epilogue scale. See shaders/conv2d-weights-transpose.wgsl.

import source from '../../shaders/conv2d-weights-transpose.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';

const WORKGROUP_SIZE = 64;
const WEIGHTS_TRANSPOSE = kernel('conv2d-weights-transpose',
  uniforms('Params', { inChannels: 'u32', outChannels: 'u32', kernel: 'u32', flip: 'u32' }), source);

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
  return ctx.dispatch(label, WEIGHTS_TRANSPOSE, {
    constants: { WG: WORKGROUP_SIZE },
    params: { inChannels: s.inChannels, outChannels: s.outChannels, kernel: s.kernel, flip: opts.flip ? 1 : 0 },
    buffers: [b.weights, b.scale, b.output], workgroups: grid1d(Math.ceil(s.inChannels / 4) * s.outChannels * taps, WORKGROUP_SIZE),
  });
}
