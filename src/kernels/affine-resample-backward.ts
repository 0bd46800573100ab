// Adjoint of affine-resample as a gather (no atomics). See shaders/affine-resample-backward.wgsl.

import source from '../../shaders/affine-resample-backward.wgsl';
import type { Dispatch, GpuContext } from '../gpu/context';
import { type ResampleLayout, WORKGROUP_SIZE, resampleKernel, resampleParams, resamplePlaneGrid } from './affine-resample';

const AFFINE_RESAMPLE_BACKWARD = resampleKernel('affine-resample-backward', source);

export function affineResampleBackwardDispatch(ctx: GpuContext, l: ResampleLayout,
  b: { images: GPUBuffer; gradOutput: GPUBuffer; gradInput: GPUBuffer }, label = 'affine resample backward'): Dispatch {
  // A thread per 4 source pixels of a row.
  return ctx.dispatch(label, AFFINE_RESAMPLE_BACKWARD, {
    constants: { WG: WORKGROUP_SIZE }, params: resampleParams(l),
    buffers: [b.images, b.gradOutput, b.gradInput], workgroups: resamplePlaneGrid(l, l.srcStrideH * Math.ceil(l.srcStrideW / 4), label),
  });
}
