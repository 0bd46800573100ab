// Bilinear resampling of a batch through per-image affine sampling maps, zeros outside the source
// and outside a destination window. See shaders/affine-resample.wgsl.

import source from '../../shaders/affine-resample.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';

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

/** Bytes of one ResampleImage struct in the shader (24 words). */
export const RESAMPLE_IMAGE_BYTES = 96;

/** Pack per-image geometry into the shader's array<ResampleImage> (inverse maps included). */
export function packResampleGeometry(images: ResampleGeometry[]): ArrayBuffer {
  const raw = new ArrayBuffer(Math.max(1, images.length) * RESAMPLE_IMAGE_BYTES);
  const u = new Uint32Array(raw);
  const i32 = new Int32Array(raw);
  const f = new Float32Array(raw);
  images.forEach((g, n) => {
    const o = n * 24;
    u[o] = g.srcWidth;
    u[o + 1] = g.srcHeight;
    u[o + 2] = g.dstWidth;
    u[o + 3] = g.dstHeight;
    i32[o + 4] = g.window.x0;
    i32[o + 5] = g.window.y0;
    i32[o + 6] = g.window.x1;
    i32[o + 7] = g.window.y1;
    const [a, b, e, c, d, ff] = g.map;
    f.set([a, b, e, 0, c, d, ff, 0], o + 8);
    const det = a * d - b * c;
    if (!(Math.abs(det) > 1e-12)) throw new Error(`resample: sampling map of image ${n} is not invertible`);
    // Inverse of [[a, b], [c, d]] with translation (e, f): x = A^-1 (p - t).
    const ia = d / det;
    const ib = -b / det;
    const ic = -c / det;
    const id = a / det;
    f.set([ia, ib, -(ia * e + ib * ff), 0, ic, id, -(ic * e + id * ff), 0], o + 16);
  });
  return raw;
}

export function affineResampleDispatch(ctx: GpuContext, l: ResampleLayout,
  b: { images: GPUBuffer; input: GPUBuffer; output: GPUBuffer }, label = 'affine resample'): Dispatch {
  const pipeline = ctx.pipelines.get('affine-resample', source);
  const params = ctx.createUniformBuffer(`${label} params`,
    [l.batch, l.channels, l.srcStrideH, l.srcStrideW, l.dstStrideH, l.dstStrideW]);
  return {
    label, pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.images, b.input, b.output]),
    workgroups: grid1d(l.batch * l.channels * l.dstStrideH * l.dstStrideW, 64),
  };
}
