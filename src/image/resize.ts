// PIL's Image.resize(size, Image.BILINEAR) on 8-bit images, byte for byte as Pillow 9.4 computes it
// (src/libImaging/Resample.c): the antialiased ("convolution") resampler, not textbook bilinear.
// Browser-safe, pure TypeScript.
//
// 1. Per output index xx, along one axis of length inSize -> outSize:
//      scale = inSize / outSize, filterscale = max(scale, 1), support = 1 * filterscale (bilinear
//      support is 1), ksize = ceil(support) * 2 + 1 (room per output index).
//      center = (xx + 0.5) * scale
//      xmin = max(trunc(center - support + 0.5), 0); xmax = min(trunc(center + support + 0.5), inSize) - xmin
//      w[x] = triangle((x + xmin - center + 0.5) / filterscale) for x in [0, xmax), then w /= sum(w).
// 2. The weights become fixed point with PRECISION_BITS = 32 - 8 - 2 = 22:
//      k = trunc(0.5 + w * 2^22) (w >= 0; bilinear weights are never negative).
// 3. Horizontal pass first (only over the rows the vertical pass will read), then the vertical pass:
//      out = clip8((2^21 + sum(in * k)) >> 22), clipped to 0..255. The intermediate image is uint8,
//      so the second pass sees rounded values, exactly as Pillow's does.
//    A pass is skipped when its axis keeps its size (Pillow: need_horizontal / need_vertical with the
//    default box (0, 0, width, height)); when neither is needed PIL returns a copy.
// All arithmetic below is exact in float64 (integers below 2^31 and the same double operations, in the
// same order, as the C code on x86-64, which has no fused multiply-add in Debian's baseline build).

import { type RgbImage, checkRgbImage } from './image';

export const PRECISION_BITS = 32 - 8 - 2;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

/** Pillow's `bilinear_filter`: the triangle on [-1, 1]. */
function triangle(x: number): number {
  if (x < 0) x = -x;
  return x < 1 ? 1 - x : 0;
}

/** Fixed-point weights of one axis: for output index i, taps in[bounds[2i] .. bounds[2i] + bounds[2i+1]). */
export interface AxisCoefficients {
  ksize: number;
  /** Pairs (xmin, count) per output index. */
  bounds: Int32Array;
  /** outSize * ksize fixed-point weights (2^22 = 1). */
  weights: Int32Array;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear filter and the box [in0, in1). */
export function bilinearCoefficients(inSize: number, outSize: number, in0 = 0, in1 = inSize): AxisCoefficients {
  // box coordinates are C floats; their difference is computed in float, then widened to double.
  const scale = Math.fround(Math.fround(in1) - Math.fround(in0)) / outSize;
  const filterscale = scale < 1 ? 1 : scale;
  const support = 1.0 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const ss = 1.0 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = Math.fround(in0) + (xx + 0.5) * scale;
    let ww = 0.0;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    for (let x = 0; x < xmax; x++) {
      const w = triangle((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      if (ww !== 0.0) k[x] /= ww;
      const v = k[x];
      weights[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
    }
    // Entries past xmax stay 0, as Pillow zeroes them.
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, weights };
}

/** Pillow's clip8: (ss >> 22) clipped to 0..255; ss is a C int (|ss| < 2^31 here). */
function clip8(ss: number): number {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Resample interleaved 8-bit pixels (`channels` per pixel) with PIL's BILINEAR filter.
 * Returns a new buffer of outWidth * outHeight * channels bytes.
 */
export function resampleBilinearU8(
  src: Uint8Array, width: number, height: number, channels: number, outWidth: number, outHeight: number,
): Uint8Array {
  for (const [name, v] of [['width', width], ['height', height], ['output width', outWidth], ['output height', outHeight], ['channels', channels]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new Error(`resize: ${name} ${v} is not a positive integer`);
  }
  if (src.length !== width * height * channels) {
    throw new Error(`resize: ${src.length} bytes do not hold ${width}x${height}x${channels}`);
  }
  const needHorizontal = outWidth !== width;
  const needVertical = outHeight !== height;
  if (!needHorizontal && !needVertical) return src.slice();

  const vert = bilinearCoefficients(height, outHeight);
  // Rows of the source the vertical pass reads: [yFirst, yLast).
  const yFirst = vert.bounds[0];
  const yLast = vert.bounds[outHeight * 2 - 2] + vert.bounds[outHeight * 2 - 1];

  let cur = src;
  let curWidth = width;
  let rowOffset = 0; // row of `cur` that vertical bounds (source rows) are relative to
  if (needHorizontal) {
    const horiz = bilinearCoefficients(width, outWidth);
    const rows = yLast - yFirst;
    const tmp = new Uint8Array(outWidth * rows * channels);
    const { ksize, bounds, weights } = horiz;
    for (let yy = 0; yy < rows; yy++) {
      const inRow = (yy + yFirst) * width * channels;
      const outRow = yy * outWidth * channels;
      for (let xx = 0; xx < outWidth; xx++) {
        const xmin = bounds[xx * 2];
        const xmax = bounds[xx * 2 + 1];
        const kBase = xx * ksize;
        for (let c = 0; c < channels; c++) {
          let ss = HALF;
          for (let x = 0; x < xmax; x++) ss += src[inRow + (x + xmin) * channels + c] * weights[kBase + x];
          tmp[outRow + xx * channels + c] = clip8(ss);
        }
      }
    }
    cur = tmp;
    curWidth = outWidth;
    rowOffset = yFirst;
  }
  if (!needVertical) return cur;

  const out = new Uint8Array(curWidth * outHeight * channels);
  const { ksize, bounds, weights } = vert;
  const stride = curWidth * channels;
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = bounds[yy * 2] - rowOffset;
    const ymax = bounds[yy * 2 + 1];
    const kBase = yy * ksize;
    const outRow = yy * stride;
    for (let i = 0; i < stride; i++) {
      let ss = HALF;
      for (let y = 0; y < ymax; y++) ss += cur[(y + ymin) * stride + i] * weights[kBase + y];
      out[outRow + i] = clip8(ss);
    }
  }
  return out;
}

/** PIL's `img.resize((width, height), Image.BILINEAR)` on an RGB image, byte-identical to Pillow 9.4. */
export function resizeBilinearPil(img: RgbImage, width: number, height: number): RgbImage {
  checkRgbImage(img, 'resize input');
  return { width, height, data: resampleBilinearU8(img.data, img.width, img.height, 3, width, height) };
}

/**
 * The output size of torchvision's Resize(size) with an int size (torchvision 0.14/0.15
 * `_compute_resized_output_size`): the shorter side becomes `size`, the longer int(size * long / short)
 * (a float64 division, truncated). Returns [width, height].
 */
export function resizedOutputSize(width: number, height: number, size: number): [number, number] {
  if (!Number.isSafeInteger(size) || size < 1) throw new Error(`resize: size ${size} is not a positive integer`);
  const [short, long] = width <= height ? [width, height] : [height, width];
  const newShort = size;
  const newLong = Math.trunc((size * long) / short);
  return width <= height ? [newShort, newLong] : [newLong, newShort];
}
