// Adjoint of Normalize: dx = dy / std[c]. See shaders/image-normalize-backward.wgsl.

import source from '../../shaders/image-normalize-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { NORMALIZE_PARAMS, type NormalizeShape, normalizeParams } from './image-normalize';

const WORKGROUP_SIZE = 256;
const IMAGE_NORMALIZE_BACKWARD = kernel('image-normalize-backward', NORMALIZE_PARAMS, source);

export function imageNormalizeBackwardDispatch(ctx: GpuContext, s: NormalizeShape,
  b: { gradOutput: GPUBuffer; gradInput: GPUBuffer }, label = 'imagenet normalize backward'): Dispatch {
  const params = normalizeParams(s);
  return ctx.dispatch(label, IMAGE_NORMALIZE_BACKWARD, {
    constants: { WG: WORKGROUP_SIZE }, params, buffers: [b.gradOutput, b.gradInput], workgroups: grid1d(params.count, WORKGROUP_SIZE),
  });
}
