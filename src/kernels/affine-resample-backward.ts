// Adjoint of affine-resample as a gather (no atomics). See shaders/affine-resample-backward.wgsl.

import source from '../../shaders/affine-resample-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { type ResampleLayout, resampleKernel, resampleParams } from './affine-resample';

const WORKGROUP_SIZE = 64;
const AFFINE_RESAMPLE_BACKWARD = resampleKernel('affine-resample-backward', source);

export function affineResampleBackwardDispatch(ctx: GpuContext, l: ResampleLayout,
  b: { images: GPUBuffer; gradOutput: GPUBuffer; gradInput: GPUBuffer }, label = 'affine resample backward'): Dispatch {
  // One layer of workgroups per plane (the shader takes the plane from workgroup_id.z, so the
  // image's geometry is a uniform load); a thread per 4 source pixels of a row.
  const planes = l.batch * l.channels;
  if (planes > 65535) throw new Error(`${label}: ${planes} planes exceed 65535 workgroups along z`);
  const [gx, gy] = grid1d(l.srcStrideH * Math.ceil(l.srcStrideW / 4), WORKGROUP_SIZE);
  return ctx.dispatch(label, AFFINE_RESAMPLE_BACKWARD, {
    constants: { WG: WORKGROUP_SIZE }, params: resampleParams(l),
    buffers: [b.images, b.gradOutput, b.gradInput], workgroups: [gx, gy, planes],
  });
}
