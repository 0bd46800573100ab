// Adjoint of colour + sigmoid: dt = C^T (dimg * img * (1 - img)).
// See shaders/colour-sigmoid-backward.wgsl.

import source from '../../shaders/colour-sigmoid-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { colourParams } from './colour-sigmoid';

export function colourSigmoidBackwardDispatch(ctx: GpuContext, s: { batch: number; height: number; width: number },
  matrix: ArrayLike<number>, b: { gradImage: GPUBuffer; image: GPUBuffer; gradInput: GPUBuffer },
  label = 'colour + sigmoid backward'): Dispatch {
  const spatial = s.height * s.width;
  const pipeline = ctx.pipelines.get('colour-sigmoid-backward', source);
  const { words, kinds } = colourParams(s.batch, spatial, matrix);
  const params = ctx.createUniformBuffer(`${label} params`, words, kinds);
  return {
    label, pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.gradImage, b.image, b.gradInput]),
    workgroups: grid1d(s.batch * spatial, 64),
  };
}
