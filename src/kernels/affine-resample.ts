// Bilinear resampling of a batch through per-image affine sampling maps, zeros outside the source
// and outside a destination window. See shaders/affine-resample.wgsl.

import source from '../../shaders/affine-resample.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';

/** One image's geometry: sizes, window, and the sampling map destination pixel -> source pixel. */
export interface ResampleGeometry {
  srcHeight: number;
  srcWidth: number;
  dstHeight: number;
  dstWidth: number;
  /** Destination pixels outside [x0, x1) x [y0, y1) are 0 (e.g. Lucent's zero pad after scaling down). */
  window: { x0: number; y0: number; x1: number; y1: number };
  /** (a, b, e, c, d, f): px = a x + b y + e, py = c x + d y + f. */
  map: readonly [number, number, number, number, number, number];
}

/** Batch tensor layout: [N, C, strideH, strideW] for source and destination. */
export interface ResampleLayout {
  batch: number;
  channels: number;
  srcStrideH: number;
  srcStrideW: number;
  dstStrideH: number;
  dstStrideW: number;
}

/** Threads per workgroup of both passes (their WG). */
export const WORKGROUP_SIZE = 64;
/** Destination pixels per thread of affine-resample.wgsl (its COLS). */
const RESAMPLE_COLUMNS = 8;

/** The Params of affine-resample.wgsl and affine-resample-backward.wgsl: the batch's tensor layout. */
const RESAMPLE_PARAMS = uniforms('Params', {
  batch: 'u32', channels: 'u32', srcStrideH: 'u32', srcStrideW: 'u32', dstStrideH: 'u32', dstStrideW: 'u32',
});

/** One image's geometry as both kernels read it from their array<ResampleImage> (binding 1). */
const RESAMPLE_IMAGE = uniforms('ResampleImage', {
  /** (width, height) of the source image */
  srcSize: 'vec2<u32>',
  /** (width, height) of the destination image */
  dstSize: 'vec2<u32>',
  /** (x0, y0, x1, y1): destination pixels outside are 0 */
  window: 'vec4<i32>',
  /** (a, b, e, 0): px = a x + b y + e */
  mapX: 'vec4<f32>',
  /** (c, d, f, 0): py = c x + d y + f */
  mapY: 'vec4<f32>',
  /** the inverse map (used by the adjoint only) */
  inverseX: 'vec4<f32>',
  inverseY: 'vec4<f32>',
});

/** The resampling kernel `label` of `source`: its Params and the ResampleImage struct, then the file. */
export function resampleKernel(label: string, source: string) {
  return kernel(label, RESAMPLE_PARAMS, RESAMPLE_IMAGE.wgsl, source);
}

const AFFINE_RESAMPLE = resampleKernel('affine-resample', source);

/** Bytes of one ResampleImage struct in the shader (24 words). */
export const RESAMPLE_IMAGE_BYTES = RESAMPLE_IMAGE.structBytes;

/** Pack per-image geometry into the shader's array<ResampleImage> (inverse maps included). */
export function packResampleGeometry(images: ResampleGeometry[]): ArrayBuffer {
  const raw = new ArrayBuffer(Math.max(1, images.length) * RESAMPLE_IMAGE_BYTES);
  const view = new DataView(raw);
  images.forEach((g, n) => {
    const [a, b, e, c, d, f] = g.map;
    const det = a * d - b * c;
    if (!(Math.abs(det) > 1e-12)) throw new Error(`resample: sampling map of image ${n} is not invertible`);
    // Inverse of [[a, b], [c, d]] with translation (e, f): x = A^-1 (p - t).
    const ia = d / det;
    const ib = -b / det;
    const ic = -c / det;
    const id = a / det;
    RESAMPLE_IMAGE.write(view, n * RESAMPLE_IMAGE_BYTES, {
      srcSize: [g.srcWidth, g.srcHeight],
      dstSize: [g.dstWidth, g.dstHeight],
      window: [g.window.x0, g.window.y0, g.window.x1, g.window.y1],
      mapX: [a, b, e, 0],
      mapY: [c, d, f, 0],
      inverseX: [ia, ib, -(ia * e + ib * f), 0],
      inverseY: [ic, id, -(ic * e + id * f), 0],
    });
  });
  return raw;
}

/** RESAMPLE_PARAMS' values. */
export function resampleParams(l: ResampleLayout) {
  return { batch: l.batch, channels: l.channels, srcStrideH: l.srcStrideH, srcStrideW: l.srcStrideW, dstStrideH: l.dstStrideH, dstStrideW: l.dstStrideW };
}

/**
 * The grid of both passes: one layer of workgroups per plane (the shaders take the plane from
 * workgroup_id.z, so the image's geometry is a uniform load), `threadsPerPlane` threads in each.
 */
export function resamplePlaneGrid(l: ResampleLayout, threadsPerPlane: number, label: string): [number, number, number] {
  const planes = l.batch * l.channels;
  if (planes > 65535) throw new Error(`${label}: ${planes} planes exceed 65535 workgroups along z`);
  const [gx, gy] = grid1d(threadsPerPlane, WORKGROUP_SIZE);
  return [gx, gy, planes];
}

export function affineResampleDispatch(ctx: GpuContext, l: ResampleLayout,
  b: { images: GPUBuffer; input: GPUBuffer; output: GPUBuffer }, label = 'affine resample'): Dispatch {
  // A thread per 8 destination pixels of a row.
  return ctx.dispatch(label, AFFINE_RESAMPLE, {
    constants: { WG: WORKGROUP_SIZE }, params: resampleParams(l),
    buffers: [b.images, b.input, b.output], workgroups: resamplePlaneGrid(l, l.dstStrideH * Math.ceil(l.dstStrideW / RESAMPLE_COLUMNS), label),
  });
}
