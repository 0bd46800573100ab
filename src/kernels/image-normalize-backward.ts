// Adjoint of Normalize: dx = dy / std[c]. See shaders/image-normalize-backward.wgsl.

import source from '../../shaders/image-normalize-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { type NormalizeShape, normalizeParams } from './image-normalize';

export function imageNormalizeBackwardDispatch(ctx: GpuContext, s: NormalizeShape,
  b: { gradOutput: GPUBuffer; gradInput: GPUBuffer }, label = 'imagenet normalize backward'): Dispatch {
  const pipeline = ctx.pipelines.get('image-normalize-backward', source);
  const { words, kinds } = normalizeParams(s);
  const params = ctx.createUniformBuffer(`${label} params`, words, kinds);
  return {
    label, pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.gradOutput, b.gradInput]),
    workgroups: grid1d(words[0], 256),
  };
}
