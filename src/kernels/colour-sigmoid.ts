// Lucent's colour decorrelation and sigmoid: img = sigmoid(C t) per pixel.
// See shaders/colour-sigmoid.wgsl.

import source from '../../shaders/colour-sigmoid.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';

/** Uniform words { batch, spatial, pad, pad, mat3x3 column-major with padded columns } for a row-major 3x3 C. */
export function colourParams(batch: number, spatial: number, c: ArrayLike<number>): { words: number[]; kinds: ('u32' | 'f32')[] } {
  const words = [batch, spatial, 0, 0];
  const kinds: ('u32' | 'f32')[] = ['u32', 'u32', 'u32', 'u32'];
  for (let col = 0; col < 3; col++) {
    words.push(c[0 * 3 + col], c[1 * 3 + col], c[2 * 3 + col], 0);
    kinds.push('f32', 'f32', 'f32', 'f32');
  }
  return { words, kinds };
}

/** `matrix` is the row-major 3x3 colour matrix C (u = C t). */
export function colourSigmoidDispatch(ctx: GpuContext, s: { batch: number; height: number; width: number },
  matrix: ArrayLike<number>, b: { input: GPUBuffer; image: GPUBuffer }, label = 'colour + sigmoid'): Dispatch {
  const spatial = s.height * s.width;
  const pipeline = ctx.pipelines.get('colour-sigmoid', source);
  const { words, kinds } = colourParams(s.batch, spatial, matrix);
  const params = ctx.createUniformBuffer(`${label} params`, words, kinds);
  return {
    label, pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.input, b.image]),
    workgroups: grid1d(s.batch * spatial, 64),
  };
}
