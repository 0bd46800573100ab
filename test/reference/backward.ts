// Float64 CPU references for the backward kernels (gradients to the input, weights fixed) and a
// finite-difference checker for the references themselves. Written for obviousness: each backward
// is the forward's loops run again with the data flow reversed (a scatter), independent of the
// GPU kernels' gathers. Tensors are NCHW.

import { type RefConvShape, windowOutputSize } from './cpu';

/**
 * dL/dx of y = scale[o] * conv2d(x, w)[o] (+ shift), given dL/dy: every forward product
 * x[iy,ix] * w[o,c,ky,kx] that fed y[o,oy,ox] sends dy[o,oy,ox] * scale[o] * w back to x[iy,ix].
 */
export function conv2dBackwardData(dy: ArrayLike<number>, w: ArrayLike<number>, scale: ArrayLike<number> | null,
  s: RefConvShape): Float64Array {
  const oh = windowOutputSize(s.inHeight, s.kernel, s.stride, s.padding);
  const ow = windowOutputSize(s.inWidth, s.kernel, s.stride, s.padding);
  const dx = new Float64Array(s.batch * s.inChannels * s.inHeight * s.inWidth);
  for (let n = 0; n < s.batch; n++) {
    for (let o = 0; o < s.outChannels; o++) {
      const sc = scale ? scale[o] : 1;
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          const g = dy[((n * s.outChannels + o) * oh + oy) * ow + ox] * sc;
          for (let c = 0; c < s.inChannels; c++) {
            for (let ky = 0; ky < s.kernel; ky++) {
              const iy = oy * s.stride - s.padding + ky;
              if (iy < 0 || iy >= s.inHeight) continue;
              for (let kx = 0; kx < s.kernel; kx++) {
                const ix = ox * s.stride - s.padding + kx;
                if (ix < 0 || ix >= s.inWidth) continue;
                dx[((n * s.inChannels + c) * s.inHeight + iy) * s.inWidth + ix] +=
                  g * w[((o * s.inChannels + c) * s.kernel + ky) * s.kernel + kx];
              }
            }
          }
        }
      }
    }
  }
  return dx;
}

/** dL/dx of y = relu(x): dy where act > 0 (act = x or y), else 0 (PyTorch: 0 at x = 0). */
export function reluBackward(dy: ArrayLike<number>, act: ArrayLike<number>): Float64Array {
  const dx = new Float64Array(dy.length);
  for (let i = 0; i < dy.length; i++) dx[i] = act[i] > 0 ? dy[i] : 0;
  return dx;
}

/** dL/dx of inference BatchNorm: dy * gamma / sqrt(var + eps) per channel. */
export function batchnormBackward(dy: ArrayLike<number>, gamma: ArrayLike<number>, variance: ArrayLike<number>,
  batch: number, channels: number, spatial: number, eps = 1e-5): Float64Array {
  const dx = new Float64Array(dy.length);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      const slope = gamma[c] / Math.sqrt(variance[c] + eps);
      for (let i = 0; i < spatial; i++) dx[(n * channels + c) * spatial + i] = dy[(n * channels + c) * spatial + i] * slope;
    }
  }
  return dx;
}

export interface RefPoolShape {
  batch: number;
  channels: number;
  inHeight: number;
  inWidth: number;
  kernel: number;
  stride: number;
  padding: number;
}

/**
 * The flat in-plane index (iy * W + ix) each max-pool window picks, PyTorch's way: scan the
 * window's in-image positions row by row, keep the first strictly greater value.
 */
export function maxpool2dArgmax(x: ArrayLike<number>, s: RefPoolShape): Int32Array {
  const oh = windowOutputSize(s.inHeight, s.kernel, s.stride, s.padding);
  const ow = windowOutputSize(s.inWidth, s.kernel, s.stride, s.padding);
  const arg = new Int32Array(s.batch * s.channels * oh * ow);
  for (let nc = 0; nc < s.batch * s.channels; nc++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let best = -Infinity;
        let at = -1;
        for (let ky = 0; ky < s.kernel; ky++) {
          const iy = oy * s.stride - s.padding + ky;
          if (iy < 0 || iy >= s.inHeight) continue;
          for (let kx = 0; kx < s.kernel; kx++) {
            const ix = ox * s.stride - s.padding + kx;
            if (ix < 0 || ix >= s.inWidth) continue;
            const v = x[(nc * s.inHeight + iy) * s.inWidth + ix];
            if (at < 0 || v > best) {
              best = v;
              at = iy * s.inWidth + ix;
            }
          }
        }
        arg[(nc * oh + oy) * ow + ox] = at;
      }
    }
  }
  return arg;
}

/** dL/dx of max pooling: each window's dy goes to its argmax (scatter-add). */
export function maxpool2dBackward(x: ArrayLike<number>, dy: ArrayLike<number>, s: RefPoolShape): Float64Array {
  const oh = windowOutputSize(s.inHeight, s.kernel, s.stride, s.padding);
  const ow = windowOutputSize(s.inWidth, s.kernel, s.stride, s.padding);
  const arg = maxpool2dArgmax(x, s);
  const plane = s.inHeight * s.inWidth;
  const dx = new Float64Array(s.batch * s.channels * plane);
  for (let nc = 0; nc < s.batch * s.channels; nc++) {
    for (let j = 0; j < oh * ow; j++) dx[nc * plane + arg[nc * oh * ow + j]] += dy[nc * oh * ow + j];
  }
  return dx;
}

/** dL/dx of the global average pool: dy[n,c] / (H*W) everywhere in the plane. */
export function globalAvgPoolBackward(dy: ArrayLike<number>, batch: number, channels: number, spatial: number): Float64Array {
  const dx = new Float64Array(batch * channels * spatial);
  for (let nc = 0; nc < batch * channels; nc++) {
    for (let i = 0; i < spatial; i++) dx[nc * spatial + i] = dy[nc] / spatial;
  }
  return dx;
}

// ---------------------------------------------------------------------------------------------
// Checking a backward against finite differences

/**
 * Checks grad = J^T r for f at x, where L(x) = <r, f(x)>: at each listed index i the central
 * difference (L(x + h e_i) - L(x - h e_i)) / 2h is compared with grad[i]. Returns the largest
 * |difference| divided by the largest |grad| (the scale of the gradient).
 */
export function finiteDifferenceError(f: (x: Float64Array) => ArrayLike<number>, x: ArrayLike<number>,
  r: ArrayLike<number>, grad: ArrayLike<number>, indices: number[], h = 1e-6): number {
  const loss = (v: Float64Array) => {
    const y = f(v);
    let sum = 0;
    for (let i = 0; i < y.length; i++) sum += r[i] * y[i];
    return sum;
  };
  let scale = 0;
  for (let i = 0; i < grad.length; i++) scale = Math.max(scale, Math.abs(grad[i]));
  let worst = 0;
  const v = Float64Array.from(x);
  for (const i of indices) {
    const keep = v[i];
    v[i] = keep + h;
    const up = loss(v);
    v[i] = keep - h;
    const down = loss(v);
    v[i] = keep;
    worst = Math.max(worst, Math.abs((up - down) / (2 * h) - grad[i]));
  }
  return worst / Math.max(scale, 1e-30);
}

/** `count` distinct random indices below `n` (all of them when n <= count). */
export function sampleIndices(n: number, count: number, rng: () => number): number[] {
  if (n <= count) return Array.from({ length: n }, (_, i) => i);
  const picked = new Set<number>();
  while (picked.size < count) picked.add(Math.floor(rng() * n));
  return [...picked];
}

// ---------------------------------------------------------------------------------------------
// Feature visualisation: Lucent's Fourier parameterisation, colour, transforms, Adam

/** Columns of Lucent's half-spectrum for width W (W/2 + 1, or W/2 + 2 for odd W). */
export function refSpectrumWidth(width: number): number {
  return width % 2 === 1 ? Math.floor(width / 2) + 2 : Math.floor(width / 2) + 1;
}

/** Multiplicity of half-spectrum column kx in a real inverse DFT of width W (0: ignored). */
function hermitianWeight(kx: number, width: number): number {
  if (kx > Math.floor(width / 2)) return 0;
  return kx === 0 || 2 * kx === width ? 1 : 2;
}

/**
 * torch.fft.irfftn(scale * X, s=(H, W), norm='ortho') / 4 for X [planes, H, Wf, 2], evaluated as the
 * direct 2D sum img[y,x] = sum_{ky,kx} m[kx] Re(scale X e^{2 pi i (ky y / H + kx x / W)}) / (4 sqrt(HW)).
 */
export function irfft2Reference(x: ArrayLike<number>, scale: ArrayLike<number>, planes: number, height: number, width: number): Float64Array {
  const wf = refSpectrumWidth(width);
  const norm = 1 / (4 * Math.sqrt(height * width));
  const img = new Float64Array(planes * height * width);
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < height; y++) {
      for (let xx = 0; xx < width; xx++) {
        let sum = 0;
        for (let ky = 0; ky < height; ky++) {
          for (let kx = 0; kx < wf; kx++) {
            const m = hermitianWeight(kx, width);
            if (!m) continue;
            const k = (p * height + ky) * wf + kx;
            const angle = 2 * Math.PI * ((ky * y) / height + (kx * xx) / width);
            sum += m * scale[ky * wf + kx] * (x[2 * k] * Math.cos(angle) - x[2 * k + 1] * Math.sin(angle));
          }
        }
        img[(p * height + y) * width + xx] = sum * norm;
      }
    }
  }
  return img;
}

/** The transpose of irfft2Reference: dX (re, im) from dimg. */
export function irfft2AdjointReference(dimg: ArrayLike<number>, scale: ArrayLike<number>, planes: number, height: number, width: number): Float64Array {
  const wf = refSpectrumWidth(width);
  const norm = 1 / (4 * Math.sqrt(height * width));
  const dx = new Float64Array(planes * height * wf * 2);
  for (let p = 0; p < planes; p++) {
    for (let ky = 0; ky < height; ky++) {
      for (let kx = 0; kx < wf; kx++) {
        const m = hermitianWeight(kx, width);
        if (!m) continue;
        let re = 0;
        let im = 0;
        for (let y = 0; y < height; y++) {
          for (let xx = 0; xx < width; xx++) {
            const g = dimg[(p * height + y) * width + xx];
            const angle = 2 * Math.PI * ((ky * y) / height + (kx * xx) / width);
            re += g * Math.cos(angle);
            im -= g * Math.sin(angle);
          }
        }
        const k = (p * height + ky) * wf + kx;
        const f = m * scale[ky * wf + kx] * norm;
        dx[2 * k] = re * f;
        dx[2 * k + 1] = im * f;
      }
    }
  }
  return dx;
}

/** img = sigmoid(C t) per pixel; C row-major 3x3; t NCHW [N, 3, H, W]. */
export function colourSigmoidReference(t: ArrayLike<number>, c: ArrayLike<number>, batch: number, spatial: number): Float64Array {
  const img = new Float64Array(batch * 3 * spatial);
  for (let n = 0; n < batch; n++) {
    for (let p = 0; p < spatial; p++) {
      for (let i = 0; i < 3; i++) {
        let u = 0;
        for (let j = 0; j < 3; j++) u += c[i * 3 + j] * t[(n * 3 + j) * spatial + p];
        img[(n * 3 + i) * spatial + p] = 1 / (1 + Math.exp(-u));
      }
    }
  }
  return img;
}

/** dL/dt of colourSigmoidReference, given dL/dimg and the forward's img. */
export function colourSigmoidBackwardReference(dimg: ArrayLike<number>, img: ArrayLike<number>, c: ArrayLike<number>,
  batch: number, spatial: number): Float64Array {
  const dt = new Float64Array(batch * 3 * spatial);
  for (let n = 0; n < batch; n++) {
    for (let p = 0; p < spatial; p++) {
      for (let j = 0; j < 3; j++) {
        let sum = 0;
        for (let i = 0; i < 3; i++) {
          const k = (n * 3 + i) * spatial + p;
          sum += c[i * 3 + j] * dimg[k] * img[k] * (1 - img[k]);
        }
        dt[(n * 3 + j) * spatial + p] = sum;
      }
    }
  }
  return dt;
}

/** <a, b> in float64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`dot: length ${a.length} != ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** F.pad(x, [p]*4, mode='reflect') over [planes, H, W]. */
export function reflectPadReference(x: ArrayLike<number>, planes: number, h: number, w: number, p: number): Float64Array {
  const oh = h + 2 * p;
  const ow = w + 2 * p;
  const reflect = (t: number, len: number) => (t < 0 ? -t : t >= len ? 2 * (len - 1) - t : t);
  const y = new Float64Array(planes * oh * ow);
  for (let q = 0; q < planes; q++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        y[(q * oh + oy) * ow + ox] = x[(q * h + reflect(oy - p, h)) * w + reflect(ox - p, w)];
      }
    }
  }
  return y;
}

/** Transpose of reflectPadReference (scatter-add). */
export function reflectPadAdjointReference(dy: ArrayLike<number>, planes: number, h: number, w: number, p: number): Float64Array {
  const oh = h + 2 * p;
  const ow = w + 2 * p;
  const reflect = (t: number, len: number) => (t < 0 ? -t : t >= len ? 2 * (len - 1) - t : t);
  const dx = new Float64Array(planes * h * w);
  for (let q = 0; q < planes; q++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        dx[(q * h + reflect(oy - p, h)) * w + reflect(ox - p, w)] += dy[(q * oh + oy) * ow + ox];
      }
    }
  }
  return dx;
}

export interface RefResampleImage {
  srcHeight: number;
  srcWidth: number;
  dstHeight: number;
  dstWidth: number;
  window: { x0: number; y0: number; x1: number; y1: number };
  map: readonly number[];
}

export interface RefResampleLayout {
  batch: number;
  channels: number;
  srcStrideH: number;
  srcStrideW: number;
  dstStrideH: number;
  dstStrideW: number;
}

/**
 * Where destination pixel (x, y) of image `im` samples, as the kernels compute it: the map's
 * coefficients as float32 (as they are uploaded) and `a * x + b * y + e` rounded to float32 after
 * each operation, in WGSL's order. `slack` bounds, per axis, how far another float32 evaluation of
 * the same expression can land: each of the two evaluations is within 1.5 ulp of the exact value
 * (three roundings, each at most half an ulp of |a x| + |b y| + |e|), whatever order or fused
 * multiply-adds a shader compiler picks, so they differ by at most 3 ulp. lavapipe's positions
 * differ from this order's by one ulp at some pixels (measured: 4e-6 pixels at y = 32), which
 * moves a value by up to one ulp times the data's slope there: 7e-6 of the scale between
 * neighbours of opposite sign.
 */
function resamplePosition(im: RefResampleImage, x: number, y: number) {
  const f32 = Math.fround;
  const [a, b, e, c, d, f] = im.map.map(f32);
  const ulp = (m: number) => (m > 0 ? 2 ** (Math.floor(Math.log2(m)) - 23) : 0);
  return {
    px: f32(f32(f32(a * x) + f32(b * y)) + e),
    py: f32(f32(f32(c * x) + f32(d * y)) + f),
    slackX: 3 * ulp(Math.abs(a * x) + Math.abs(b * y) + Math.abs(e)),
    slackY: 3 * ulp(Math.abs(c * x) + Math.abs(d * y) + Math.abs(f)),
  };
}

const insideWindow = (im: RefResampleImage, x: number, y: number) =>
  x < im.dstWidth && y < im.dstHeight && x >= im.window.x0 && y >= im.window.y0 && x < im.window.x1 && y < im.window.y1;

/**
 * The (source flat index, weight) pairs destination pixel (x, y) of image `im` reads: bilinear
 * interpolation at the mapped position (grid_sample, zeros padding), nothing outside the window.
 * The position is float32 (resamplePosition); the weights are float64.
 */
function resampleTaps(im: RefResampleImage, x: number, y: number, strideW: number): [number, number][] {
  if (!insideWindow(im, x, y)) return [];
  const { px, py } = resamplePosition(im, x, y);
  const x0 = Math.floor(px);
  const y0 = Math.floor(py);
  const taps: [number, number][] = [];
  for (const [tx, wx] of [[x0, 1 - (px - x0)], [x0 + 1, px - x0]]) {
    for (const [ty, wy] of [[y0, 1 - (py - y0)], [y0 + 1, py - y0]]) {
      if (tx < 0 || ty < 0 || tx >= im.srcWidth || ty >= im.srcHeight) continue;
      taps.push([ty * strideW + tx, wx * wy]);
    }
  }
  return taps;
}

/** Every destination pixel (x, y) of image n inside its extent and window, with its sampling position and cell. */
function* windowSamples(images: RefResampleImage[], l: RefResampleLayout) {
  for (let n = 0; n < l.batch; n++) {
    for (let y = 0; y < l.dstStrideH; y++) {
      for (let x = 0; x < l.dstStrideW; x++) {
        if (!insideWindow(images[n], x, y)) continue;
        const position = resamplePosition(images[n], x, y);
        yield { n, x, y, ...position, x0: Math.floor(position.px), y0: Math.floor(position.py) };
      }
    }
  }
}

/**
 * Per destination element, how far a float32 implementation may differ from resampleReference
 * because its sampling position may differ by the slack of resamplePosition: the slack times the
 * steepest step between neighbouring source values (zeros outside) in the 4x4 block around the
 * sampled cell, per axis. The slack is far below a pixel, so a moved position stays in that block.
 */
export function resampleSlack(src: ArrayLike<number>, images: RefResampleImage[], l: RefResampleLayout): Float64Array {
  const out = new Float64Array(l.batch * l.channels * l.dstStrideH * l.dstStrideW);
  for (const { n, x, y, slackX, slackY, x0, y0 } of windowSamples(images, l)) {
    const im = images[n];
    const at = (base: number, u: number, v: number) =>
      (u < 0 || v < 0 || u >= im.srcWidth || v >= im.srcHeight ? 0 : src[base + v * l.srcStrideW + u]);
    for (let c = 0; c < l.channels; c++) {
      const base = (n * l.channels + c) * l.srcStrideH * l.srcStrideW;
      let [stepX, stepY] = [0, 0];
      for (let v = y0 - 1; v <= y0 + 2; v++) {
        for (let u = x0 - 1; u <= x0 + 2; u++) {
          stepX = Math.max(stepX, Math.abs(at(base, u + 1, v) - at(base, u, v)));
          stepY = Math.max(stepY, Math.abs(at(base, u, v + 1) - at(base, u, v)));
        }
      }
      out[((n * l.channels + c) * l.dstStrideH + y) * l.dstStrideW + x] = slackX * stepX + slackY * stepY;
    }
  }
  return out;
}

/** Batched bilinear affine resampling (the contract of affine-resample.wgsl), float64. */
export function resampleReference(src: ArrayLike<number>, images: RefResampleImage[], l: RefResampleLayout): Float64Array {
  const dst = new Float64Array(l.batch * l.channels * l.dstStrideH * l.dstStrideW);
  for (let n = 0; n < l.batch; n++) {
    for (let y = 0; y < l.dstStrideH; y++) {
      for (let x = 0; x < l.dstStrideW; x++) {
        const taps = resampleTaps(images[n], x, y, l.srcStrideW);
        for (let c = 0; c < l.channels; c++) {
          const srcBase = (n * l.channels + c) * l.srcStrideH * l.srcStrideW;
          let sum = 0;
          for (const [k, w] of taps) sum += src[srcBase + k] * w;
          dst[((n * l.channels + c) * l.dstStrideH + y) * l.dstStrideW + x] = sum;
        }
      }
    }
  }
  return dst;
}

/** Transpose of resampleReference (scatter-add of each destination gradient to its taps). */
export function resampleAdjointReference(ddst: ArrayLike<number>, images: RefResampleImage[], l: RefResampleLayout): Float64Array {
  const dsrc = new Float64Array(l.batch * l.channels * l.srcStrideH * l.srcStrideW);
  for (let n = 0; n < l.batch; n++) {
    for (let y = 0; y < l.dstStrideH; y++) {
      for (let x = 0; x < l.dstStrideW; x++) {
        const taps = resampleTaps(images[n], x, y, l.srcStrideW);
        for (let c = 0; c < l.channels; c++) {
          const g = ddst[((n * l.channels + c) * l.dstStrideH + y) * l.dstStrideW + x];
          const srcBase = (n * l.channels + c) * l.srcStrideH * l.srcStrideW;
          for (const [k, w] of taps) dsrc[srcBase + k] += g * w;
        }
      }
    }
  }
  return dsrc;
}

/**
 * Per source element, how far a float32 implementation of the adjoint may differ from
 * resampleAdjointReference because of the sampling positions' slack (resamplePosition): each
 * destination gradient g reaches the source through tent weights of slope 1, so it moves each
 * weight by at most slackX + slackY; that times |g| is spread over the 4x4 block around its cell
 * (a moved position may touch a neighbouring cell).
 */
export function resampleAdjointSlack(ddst: ArrayLike<number>, images: RefResampleImage[], l: RefResampleLayout): Float64Array {
  const out = new Float64Array(l.batch * l.channels * l.srcStrideH * l.srcStrideW);
  for (const { n, x, y, slackX, slackY, x0, y0 } of windowSamples(images, l)) {
    const im = images[n];
    for (let c = 0; c < l.channels; c++) {
      const g = Math.abs(ddst[((n * l.channels + c) * l.dstStrideH + y) * l.dstStrideW + x]) * (slackX + slackY);
      const base = (n * l.channels + c) * l.srcStrideH * l.srcStrideW;
      for (let v = Math.max(0, y0 - 1); v <= Math.min(im.srcHeight - 1, y0 + 2); v++) {
        for (let u = Math.max(0, x0 - 1); u <= Math.min(im.srcWidth - 1, x0 + 2); u++) out[base + v * l.srcStrideW + u] += g;
      }
    }
  }
  return out;
}

/** torchvision Normalize over NCHW with 3 channels. */
export function normalizeReference(x: ArrayLike<number>, batch: number, spatial: number,
  mean: readonly number[], std: readonly number[]): Float64Array {
  const y = new Float64Array(x.length);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < spatial; i++) {
        const k = (n * 3 + c) * spatial + i;
        y[k] = (x[k] - mean[c]) / std[c];
      }
    }
  }
  return y;
}

/** One torch.optim.Adam step (float64), returning the new (param, m, v). */
export function adamReference(p: ArrayLike<number>, g: ArrayLike<number>, m: ArrayLike<number>, v: ArrayLike<number>,
  step: number, s: { lr: number; beta1: number; beta2: number; eps: number }) {
  const np = new Float64Array(p.length);
  const nm = new Float64Array(p.length);
  const nv = new Float64Array(p.length);
  const bc1 = 1 - s.beta1 ** step;
  const bc2 = 1 - s.beta2 ** step;
  for (let i = 0; i < p.length; i++) {
    nm[i] = s.beta1 * m[i] + (1 - s.beta1) * g[i];
    nv[i] = s.beta2 * v[i] + (1 - s.beta2) * g[i] * g[i];
    np[i] = p[i] - (s.lr / bc1) * nm[i] / (Math.sqrt(nv[i]) / Math.sqrt(bc2) + s.eps);
  }
  return { p: np, m: nm, v: nv };
}

// ---------------------------------------------------------------------------------------------
// ResNet18: the input gradient of a seed on one tap

/**
 * dL/d(input) for dL/d(target) = seed, through ResNet18 in float64 (BN in eval mode, unfolded).
 * The ReLU masks and max-pool argmaxes are taken from `activations` (tap -> values: 'relu', each
 * block's bn1 and output up to the target), so a caller can pass the GPU's own forward values and
 * compare the backward arithmetic alone. Accumulates into every tap's gradient in reverse order,
 * the way autograd does, so any tap can be the target.
 */
export function resnetInputGradient(weights: Map<string, { data: ArrayLike<number> }>, activations: Map<string, ArrayLike<number>>,
  target: string, seed: ArrayLike<number>, batch: number, height: number, width: number,
  arch: { blocks: readonly { name: string; inChannels: number; outChannels: number; stride: number;
    conv1: RefConvSpec; conv2: RefConvSpec; downsample?: RefConvSpec }[]; stem: RefConvSpec }): Float64Array {
  const w = (name: string) => weights.get(name)!.data;
  const slope = (bn: string, channels: number) => {
    const g = w(`${bn}.weight`);
    const v = w(`${bn}.running_var`);
    return Float64Array.from({ length: channels }, (_, c) => g[c] / Math.sqrt(v[c] + 1e-5));
  };
  const grads = new Map<string, Float64Array>();
  grads.set(target, Float64Array.from(seed));
  const take = (name: string, size: number) => grads.get(name) ?? new Float64Array(size);
  const addInto = (a: Float64Array, b: ArrayLike<number>) => {
    for (let i = 0; i < a.length; i++) a[i] += b[i];
    return a;
  };
  const size = (s: number) => windowOutputSize(s, 7, 2, 3);
  const stemH = size(height);
  const stemW = size(width);
  const poolH = windowOutputSize(stemH, 3, 2, 1);
  const poolW = windowOutputSize(stemW, 3, 2, 1);
  const sizes: [number, number][] = [];
  let [h, wd] = [poolH, poolW];
  for (const b of arch.blocks) {
    const oh = windowOutputSize(h, 3, b.stride, 1);
    const ow = windowOutputSize(wd, 3, b.stride, 1);
    sizes.push([h, wd], [oh, ow]);
    [h, wd] = [oh, ow];
  }
  const convBackward = (spec: RefConvSpec, dy: ArrayLike<number>, inH: number, inW: number, bn: string | null) =>
    conv2dBackwardData(dy, w(`${spec.conv}.weight`), bn ? slope(bn, spec.outChannels) : null, {
      batch, inChannels: spec.inChannels, inHeight: inH, inWidth: inW, outChannels: spec.outChannels,
      kernel: spec.kernel, stride: spec.stride, padding: spec.padding,
    });
  // The last block the target needs (-1: a stem target).
  const last = target === 'avgpool' ? arch.blocks.length - 1
    : arch.blocks.findIndex((b) => target === b.name || target.startsWith(`${b.name}.`));
  if (target === 'avgpool') {
    const b = arch.blocks[last];
    const [oh, ow] = sizes[2 * last + 1];
    const n = batch * b.outChannels * oh * ow;
    const g = new Float64Array(n);
    for (let i = 0; i < n; i++) g[i] = seed[Math.floor(i / (oh * ow))] / (oh * ow);
    grads.set(b.name, g);
  }
  for (let i = last; i >= 0; i--) {
    const b = arch.blocks[i];
    const [inH, inW] = sizes[2 * i];
    const [oh, ow] = sizes[2 * i + 1];
    const outN = batch * b.outChannels * oh * ow;
    const inN = batch * b.inChannels * inH * inW;
    const gOut = take(b.name, outN);
    const gSum = addInto(reluBackward(gOut, activations.get(b.name) ?? new Float64Array(outN)), take(`${b.name}.sum`, outN));
    const gBn2 = addInto(Float64Array.from(gSum), take(`${b.name}.bn2`, outN));
    const gSkip = addInto(Float64Array.from(gSum), take(`${b.name}.skip`, outN));
    const gx = new Float64Array(inN);
    if (b.downsample) {
      const gDs = addInto(gSkip, take(`${b.name}.downsample.1`, outN));
      addInto(gx, convBackward(b.downsample, gDs, inH, inW, `${b.downsample.bn}`));
    } else {
      addInto(gx, gSkip);
    }
    const gh = convBackward(b.conv2, gBn2, oh, ow, b.conv2.bn);
    const gBn1 = addInto(reluBackward(gh, activations.get(`${b.name}.bn1`)!), take(`${b.name}.bn1`, outN));
    addInto(gx, convBackward(b.conv1, gBn1, inH, inW, b.conv1.bn));
    const into = i > 0 ? arch.blocks[i - 1].name : 'maxpool';
    grads.set(into, addInto(take(into, inN), gx));
  }
  const stemN = batch * 64 * stemH * stemW;
  const pool = { batch, channels: 64, inHeight: stemH, inWidth: stemW, kernel: 3, stride: 2, padding: 1 };
  const gRelu = take('relu', stemN);
  if (grads.has('maxpool')) addInto(gRelu, maxpool2dBackward(activations.get('relu')!, grads.get('maxpool')!, pool));
  const gBn1 = grads.has('relu') || grads.has('maxpool')
    ? addInto(reluBackward(gRelu, activations.get('relu')!), take('bn1', stemN)) : take('bn1', stemN);
  const s = slope(arch.stem.bn, 64);
  const gConv1 = addInto(gBn1.map((v, i) => v * s[Math.floor(i / (stemH * stemW)) % 64]), take('conv1', stemN));
  return convBackward(arch.stem, gConv1, height, width, null);
}

export interface RefConvSpec {
  conv: string;
  bn: string;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  padding: number;
}
