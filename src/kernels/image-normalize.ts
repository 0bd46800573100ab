// torchvision Normalize on [0, 1] images: (x - mean[c]) / std[c]. See shaders/image-normalize.wgsl.

import source from '../../shaders/image-normalize.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';

export interface NormalizeShape {
  batch: number;
  height: number;
  width: number;
  mean: readonly number[];
  std: readonly number[];
}

export function normalizeParams(s: NormalizeShape): { words: number[]; kinds: ('u32' | 'f32')[] } {
  const count = s.batch * 3 * s.height * s.width;
  return {
    words: [count, s.height * s.width, 0, 0, s.mean[0], s.mean[1], s.mean[2], 0, s.std[0], s.std[1], s.std[2], 1],
    kinds: ['u32', 'u32', 'u32', 'u32', 'f32', 'f32', 'f32', 'f32', 'f32', 'f32', 'f32', 'f32'],
  };
}

export function imageNormalizeDispatch(ctx: GpuContext, s: NormalizeShape, b: { input: GPUBuffer; output: GPUBuffer },
  label = 'imagenet normalize'): Dispatch {
  const pipeline = ctx.pipelines.get('image-normalize', source);
  const { words, kinds } = normalizeParams(s);
  const params = ctx.createUniformBuffer(`${label} params`, words, kinds);
  return {
    label, pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.input, b.output]),
    workgroups: grid1d(words[0], 256),
  };
}
