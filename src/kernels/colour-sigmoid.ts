// Lucent's colour decorrelation and sigmoid: img = sigmoid(C t) per pixel.
// See shaders/colour-sigmoid.wgsl.

import source from '../../shaders/colour-sigmoid.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';

const WORKGROUP_SIZE = 64;
/** The Params of colour-sigmoid.wgsl and colour-sigmoid-backward.wgsl. */
export const COLOUR_PARAMS = uniforms('Params', { batch: 'u32', spatial: 'u32', c: 'mat3x3<f32>' });
const COLOUR_SIGMOID = kernel('colour-sigmoid', COLOUR_PARAMS, source);

/** COLOUR_PARAMS' values for a row-major 3x3 C (the mat3x3 takes it column by column). */
export function colourParams(batch: number, spatial: number, c: ArrayLike<number>) {
  const columns: number[] = [];
  for (let col = 0; col < 3; col++) columns.push(c[0 * 3 + col], c[1 * 3 + col], c[2 * 3 + col]);
  return { batch, spatial, c: columns };
}

/** `matrix` is the row-major 3x3 colour matrix C (u = C t). */
export function colourSigmoidDispatch(ctx: GpuContext, s: { batch: number; height: number; width: number },
  matrix: ArrayLike<number>, b: { input: GPUBuffer; image: GPUBuffer }, label = 'colour + sigmoid'): Dispatch {
  const spatial = s.height * s.width;
  return ctx.dispatch(label, COLOUR_SIGMOID, {
    constants: { WG: WORKGROUP_SIZE }, params: colourParams(s.batch, spatial, matrix),
    buffers: [b.input, b.image], workgroups: grid1d(s.batch * spatial, WORKGROUP_SIZE),
  });
}
