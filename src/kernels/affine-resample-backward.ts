// Adjoint of affine-resample as a gather (no atomics). See shaders/affine-resample-backward.wgsl.

import source from '../../shaders/affine-resample-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import type { ResampleLayout } from './affine-resample';

export function affineResampleBackwardDispatch(ctx: GpuContext, l: ResampleLayout,
  b: { images: GPUBuffer; gradOutput: GPUBuffer; gradInput: GPUBuffer }, label = 'affine resample backward'): Dispatch {
  const pipeline = ctx.pipelines.get('affine-resample-backward', source);
  const params = ctx.createUniformBuffer(`${label} params`,
    [l.batch, l.channels, l.srcStrideH, l.srcStrideW, l.dstStrideH, l.dstStrideW]);
  return {
    label, pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.images, b.gradOutput, b.gradInput]),
    workgroups: grid1d(l.batch * l.channels * l.srcStrideH * l.srcStrideW, 64),
  };
}
