// The zoom operators of METHOD.md on normalised float32 NCHW tensors (any N and C), with the tensor
// semantics of torchvision 0.15 / PyTorch (the reference file was made with F.interpolate and F.pad):
//   S = zoomIn:     CenterCrop(H/2, W/2), then bilinear resize back to H x W (align_corners = false).
//   S^-1 = zoomOut: bilinear resize to H/2 x W/2 without antialiasing (align_corners = false; for an
//                   exact factor 2 this is the mean of each 2x2 block), then reflect-pad back to H x W
//                   (PyTorch 'reflect': the edge sample is not repeated).
//   zoom(x, s):     the follow-up paper's zoom s in [1, 2): CenterCrop(int(H * (2 - s))) with
//                   torchvision's offsets, then bilinear resize back to H x W. Truncation, not rounding,
//                   because its code computes `int(IMAGE_SIZE * (scale - 1))`; s = 1.5 gives S exactly.
//                   On tensors torchvision 0.15's Resize does not antialias by default, and the resize
//                   is an enlargement, where antialiasing would change nothing anyway.
// For H = W = 224 these are exactly the paper's operators. On non-square inputs each axis is treated
// on its own (the paper only uses 224 x 224).
// Arithmetic, float32 as PyTorch 1.13's CPU kernel (upsample_generic_Nd, the AVX2 build) does it:
//   source index = ratio * (o + 0.5) - 0.5 and the weights in float32 (ratio = in / out in float32);
//   t0 = fma(x00, w0, x01 * w1), t1 = fma(x10, w0, x11 * w1), out = fma(t0, h0, t1 * h1), where the
//   compiler fused the multiply-adds. With that order the operators reproduce the reference file's
//   zoom_in and zoom_out bit for bit; a PyTorch build that does not fuse differs by 1 ulp (< 1e-6 on
//   normalised images), so tests allow 1e-6. Browser-safe.

import type { HostTensor } from '../util/tensor';
import { centerCropBox, nchw } from './transforms';

interface AxisTaps {
  i0: Int32Array;
  i1: Int32Array;
  l0: Float64Array;
  l1: Float64Array;
}

/**
 * fmaf(a, b, c) for float32 a, b, c: a * b + c rounded once to float32. The product is exact in
 * float64 and s = p + c is its nearest double; rounding s to float32 is then correct unless s lies
 * exactly halfway between two float32 values, where the sign of the rounding error e of s (TwoSum)
 * breaks the tie.
 */
export function fma32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = Math.fround(s);
  if (s === r || !Number.isFinite(s)) return r;
  const t = 2 * s - r; // the other float32 neighbour when s is a midpoint (exact)
  if (Math.fround(t) !== t) return r; // s is not a midpoint
  const bb = s - p;
  const e = (p - (s - bb)) + (c - bb);
  if (e === 0) return r; // a true tie: fround already rounded half to even
  return e > 0 === s > r ? t : r;
}

/** PyTorch's compute_source_index_and_lambda for linear interpolation, align_corners = false. */
function linearTaps(inSize: number, outSize: number): AxisTaps {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const l0 = new Float64Array(outSize);
  const l1 = new Float64Array(outSize);
  const f = Math.fround;
  const ratio = f(inSize / outSize);
  for (let o = 0; o < outSize; o++) {
    if (inSize === outSize) {
      i0[o] = o;
      i1[o] = o;
      l0[o] = 1;
      l1[o] = 0;
      continue;
    }
    let real = f(f(ratio * f(o + 0.5)) - 0.5);
    if (real < 0) real = 0;
    const a = Math.trunc(real);
    i0[o] = a;
    i1[o] = a + (a < inSize - 1 ? 1 : 0);
    const lam = Math.min(Math.max(f(real - a), 0), 1);
    l1[o] = lam;
    l0[o] = f(1 - lam);
  }
  return { i0, i1, l0, l1 };
}

/** F.interpolate(x, size=(outH, outW), mode='bilinear', align_corners=False), no antialiasing. */
export function interpolateBilinear(x: HostTensor, outH: number, outW: number): HostTensor {
  const [n, c, h, w] = nchw(x, 'interpolateBilinear');
  for (const [k, v] of [['height', outH], ['width', outW]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new Error(`interpolateBilinear: output ${k} ${v} is not a positive integer`);
  }
  const ty = linearTaps(h, outH);
  const tx = linearTaps(w, outW);
  const out = new Float32Array(n * c * outH * outW);
  const src = x.data;
  for (let p = 0; p < n * c; p++) {
    const sb = p * h * w;
    const ob = p * outH * outW;
    for (let oy = 0; oy < outH; oy++) {
      const r0 = sb + ty.i0[oy] * w;
      const r1 = sb + ty.i1[oy] * w;
      const h0 = ty.l0[oy];
      const h1 = ty.l1[oy];
      for (let ox = 0; ox < outW; ox++) {
        const a = tx.i0[ox];
        const b = tx.i1[ox];
        const w0 = tx.l0[ox];
        const w1 = tx.l1[ox];
        const t0 = fma32(src[r0 + a], w0, Math.fround(src[r0 + b] * w1));
        const t1 = fma32(src[r1 + a], w0, Math.fround(src[r1 + b] * w1));
        out[ob + oy * outW + ox] = fma32(t0, h0, Math.fround(t1 * h1));
      }
    }
  }
  return { shape: [n, c, outH, outW], data: out };
}

/** F.pad(x, (left, right, top, bottom), mode='reflect'); every pad must be smaller than its axis. */
export function reflectPad(x: HostTensor, pad: number | [number, number, number, number]): HostTensor {
  const [n, c, h, w] = nchw(x, 'reflectPad');
  const [left, right, top, bottom] = typeof pad === 'number' ? [pad, pad, pad, pad] : pad;
  for (const v of [left, right, top, bottom]) {
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`reflectPad: padding ${v} is not a non-negative integer`);
  }
  if (left >= w || right >= w || top >= h || bottom >= h) {
    throw new Error(`reflectPad: padding (${left}, ${right}, ${top}, ${bottom}) must be smaller than the ${h}x${w} input`);
  }
  const oh = h + top + bottom;
  const ow = w + left + right;
  const reflect = (i: number, size: number): number => (i < 0 ? -i : i >= size ? 2 * (size - 1) - i : i);
  const xs = Int32Array.from({ length: ow }, (_, o) => reflect(o - left, w));
  const out = new Float32Array(n * c * oh * ow);
  for (let p = 0; p < n * c; p++) {
    for (let oy = 0; oy < oh; oy++) {
      const sr = p * h * w + reflect(oy - top, h) * w;
      const or = (p * oh + oy) * ow;
      for (let ox = 0; ox < ow; ox++) out[or + ox] = x.data[sr + xs[ox]];
    }
  }
  return { shape: [n, c, oh, ow], data: out };
}

/** torchvision F.center_crop on a tensor: output height x width, zero padding where the crop is larger. */
export function centerCropTensor(x: HostTensor, height: number, width = height): HostTensor {
  const [n, c, h, w] = nchw(x, 'centerCropTensor');
  for (const v of [height, width]) {
    if (!Number.isSafeInteger(v) || v < 1) throw new Error(`centerCropTensor: size ${v} is not a positive integer`);
  }
  const { pad, left, top } = centerCropBox(w, h, width, height);
  const out = new Float32Array(n * c * height * width);
  for (let p = 0; p < n * c; p++) {
    for (let y = 0; y < height; y++) {
      const sy = top + y - pad[1];
      if (sy < 0 || sy >= h) continue;
      for (let xo = 0; xo < width; xo++) {
        const sx = left + xo - pad[0];
        if (sx < 0 || sx >= w) continue;
        out[(p * height + y) * width + xo] = x.data[(p * h + sy) * w + sx];
      }
    }
  }
  return { shape: [n, c, height, width], data: out };
}

/** S: zoom in 2x. Centre crop H/2 x W/2, bilinear resize back to H x W. */
export function zoomIn(x: HostTensor): HostTensor {
  const [, , h, w] = nchw(x, 'zoomIn');
  if (h < 2 || w < 2) throw new Error(`zoomIn: ${h}x${w} is too small`);
  return interpolateBilinear(centerCropTensor(x, Math.floor(h / 2), Math.floor(w / 2)), h, w);
}

/** S^-1: zoom out 2x. Bilinear resize to H/2 x W/2 (no antialiasing), reflect-pad back to H x W. */
export function zoomOut(x: HostTensor): HostTensor {
  const [, , h, w] = nchw(x, 'zoomOut');
  if (h < 4 || w < 4) throw new Error(`zoomOut: ${h}x${w} is too small`);
  const hh = Math.floor(h / 2);
  const hw = Math.floor(w / 2);
  const top = Math.floor((h - hh) / 2);
  const left = Math.floor((w - hw) / 2);
  return reflectPad(interpolateBilinear(x, hh, hw), [left, w - hw - left, top, h - hh - top]);
}

/** The crop of the follow-up's zoom s on an axis of `size`: int(size * (2 - s)). */
export function zoomCropSize(size: number, s: number): number {
  if (!(s >= 1 && s < 2)) throw new RangeError(`zoom factor ${s} is outside [1, 2)`);
  return Math.max(1, Math.trunc(size * (2 - s)));
}

/** The follow-up's zoom s: CenterCrop(int(H (2 - s)), int(W (2 - s))), bilinear resize back to H x W. */
export function zoom(x: HostTensor, s: number): HostTensor {
  const [, , h, w] = nchw(x, 'zoom');
  const ch = zoomCropSize(h, s);
  const cw = zoomCropSize(w, s);
  if (ch === h && cw === w) return { shape: [...x.shape], data: x.data.slice() };
  return interpolateBilinear(centerCropTensor(x, ch, cw), h, w);
}

/** The follow-up's sweep: zoom factors 1.0, 1.05, ..., 1.5 (rounded to 2 decimals, no drift). */
export const ZOOM_SWEEP_FACTORS: readonly number[] = Array.from({ length: 11 }, (_, i) => Math.round(100 + 5 * i) / 100);

/** zoom(x, s) for every factor, in order. */
export function zoomSweep(x: HostTensor, factors: readonly number[] = ZOOM_SWEEP_FACTORS): { factor: number; tensor: HostTensor }[] {
  return factors.map((factor) => ({ factor, tensor: zoom(x, factor) }));
}
