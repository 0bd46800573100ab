// Adjoint of affine-resample as a gather (no atomics). See shaders/affine-resample-backward.wgsl.

import source from '../../shaders/affine-resample-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { type ResampleLayout, resampleKernel, resampleParams } from './affine-resample';

const WORKGROUP_SIZE = 64;
const AFFINE_RESAMPLE_BACKWARD = resampleKernel('affine-resample-backward', source);

export function affineResampleBackwardDispatch(ctx: GpuContext, l: ResampleLayout,
  b: { images: GPUBuffer; gradOutput: GPUBuffer; gradInput: GPUBuffer }, label = 'affine resample backward'): Dispatch {
  return ctx.dispatch(label, AFFINE_RESAMPLE_BACKWARD, {
    constants: { WG: WORKGROUP_SIZE }, params: resampleParams(l),
    buffers: [b.images, b.gradOutput, b.gradInput], workgroups: grid1d(l.batch * l.channels * l.srcStrideH * l.srcStrideW, WORKGROUP_SIZE),
  });
}
