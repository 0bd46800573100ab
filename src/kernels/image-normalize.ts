// torchvision Normalize on [0, 1] images: (x - mean[c]) / std[c]. See shaders/image-normalize.wgsl.

import source from '../../shaders/image-normalize.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';

const WORKGROUP_SIZE = 256;
/** The Params of image-normalize.wgsl and image-normalize-backward.wgsl. */
export const NORMALIZE_PARAMS = uniforms('Params', { count: 'u32', spatial: 'u32', mean: 'vec4<f32>', stdev: 'vec4<f32>' });
const IMAGE_NORMALIZE = kernel('image-normalize', NORMALIZE_PARAMS, source);

export interface NormalizeShape {
  batch: number;
  height: number;
  width: number;
  mean: readonly number[];
  std: readonly number[];
}

/** NORMALIZE_PARAMS' values (the fourth lane of mean and stdev is unused: 0 and 1). */
export function normalizeParams(s: NormalizeShape) {
  const count = s.batch * 3 * s.height * s.width;
  return { count, spatial: s.height * s.width, mean: [s.mean[0], s.mean[1], s.mean[2], 0], stdev: [s.std[0], s.std[1], s.std[2], 1] };
}

export function imageNormalizeDispatch(ctx: GpuContext, s: NormalizeShape, b: { input: GPUBuffer; output: GPUBuffer },
  label = 'imagenet normalize'): Dispatch {
  const params = normalizeParams(s);
  return ctx.dispatch(label, IMAGE_NORMALIZE, {
    constants: { WG: WORKGROUP_SIZE }, params, buffers: [b.input, b.output], workgroups: grid1d(params.count, WORKGROUP_SIZE),
  });
}
