// Adjoint of colour + sigmoid: dt = C^T (dimg * img * (1 - img)).
// See shaders/colour-sigmoid-backward.wgsl.

import source from '../../shaders/colour-sigmoid-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { COLOUR_PARAMS, colourParams } from './colour-sigmoid';

const WORKGROUP_SIZE = 64;
const COLOUR_SIGMOID_BACKWARD = kernel('colour-sigmoid-backward', COLOUR_PARAMS, source);

export function colourSigmoidBackwardDispatch(ctx: GpuContext, s: { batch: number; height: number; width: number },
  matrix: ArrayLike<number>, b: { gradImage: GPUBuffer; image: GPUBuffer; gradInput: GPUBuffer },
  label = 'colour + sigmoid backward'): Dispatch {
  const spatial = s.height * s.width;
  return ctx.dispatch(label, COLOUR_SIGMOID_BACKWARD, {
    constants: { WG: WORKGROUP_SIZE }, params: colourParams(s.batch, spatial, matrix),
    buffers: [b.gradImage, b.image, b.gradInput], workgroups: grid1d(s.batch * spatial, WORKGROUP_SIZE),
  });
}
