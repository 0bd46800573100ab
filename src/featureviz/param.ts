// Lucent's image parameterisation (param.image(224, decorrelate=True)), rebuilt on WebGPU:
//
//   spectrum X [N, 3, H, Wf, 2]  (the optimised parameter, init randn * 0.01)
//     -> * scale[ky, kx] = 1 / max(|f|, 1 / max(H, W))       (Lucent's fft_image, decay_power 1)
//     -> irfft2(norm='ortho', s=(H, W)) / 4                   (irfft2-columns, irfft2-rows)
//     -> u = C t per pixel, C = color_correlation_svd_sqrt / max column norm
//     -> sigmoid                                               (colour-sigmoid)
//   = the image in [0, 1], NCHW [N, 3, H, W]: what is saved as the 8-bit PNG.
//
// The backward runs the adjoints in reverse order (colour-sigmoid-backward, irfft2-rows-backward,
// irfft2-columns-backward) and leaves dL/dX for the optimiser.

import { type Dispatch, type GpuContext } from '../gpu/context';
import { colourSigmoidDispatch } from '../kernels/colour-sigmoid';
import { colourSigmoidBackwardDispatch } from '../kernels/colour-sigmoid-backward';
import { type SpectrumShape, type SpectrumTables, irfft2ColumnsDispatch } from '../kernels/irfft2-columns';
import { irfft2ColumnsBackwardDispatch } from '../kernels/irfft2-columns-backward';
import { irfft2RowsDispatch } from '../kernels/irfft2-rows';
import { irfft2RowsBackwardDispatch } from '../kernels/irfft2-rows-backward';
import type { Rng } from '../util/random';

/** Lucent's color_correlation_svd_sqrt (row-major), stored there as float32. */
export const COLOR_CORRELATION_SVD_SQRT: readonly number[] = [
  0.26, 0.09, 0.02,
  0.27, 0.00, -0.05,
  0.27, -0.09, 0.03,
].map((v) => Math.fround(v));

/** Lucent's spectrum initialisation: randn * sd. */
export const SPECTRUM_SD = 0.01;

/**
 * The colour matrix C that is applied (row-major, u = C t): Lucent's matrix divided by the largest
 * Euclidean norm of its columns (np.max(np.linalg.norm(C, axis=0))).
 */
export function colourMatrix(): Float64Array {
  const c = COLOR_CORRELATION_SVD_SQRT;
  let maxNorm = 0;
  for (let col = 0; col < 3; col++) {
    maxNorm = Math.max(maxNorm, Math.hypot(c[col], c[3 + col], c[6 + col]));
  }
  return Float64Array.from(c, (v) => v / maxNorm);
}

/** Columns Lucent keeps of the half-spectrum: W/2 + 1 for even W, W/2 + 2 for odd W. */
export function spectrumWidth(width: number): number {
  return width % 2 === 1 ? Math.floor(width / 2) + 2 : Math.floor(width / 2) + 1;
}

/** numpy.fft.fftfreq(n)[i]: i / n for i < ceil(n/2), else (i - n) / n. */
export function fftFrequency(i: number, n: number): number {
  return (i < Math.ceil(n / 2) ? i : i - n) / n;
}

/** Lucent's rfft2d_freqs(h, w): sqrt(fx^2 + fy^2) on the [H, Wf] half-spectrum grid. */
export function rfft2dFrequencies(height: number, width: number): Float64Array {
  const wf = spectrumWidth(width);
  const f = new Float64Array(height * wf);
  for (let ky = 0; ky < height; ky++) {
    const fy = fftFrequency(ky, height);
    for (let kx = 0; kx < wf; kx++) {
      const fx = fftFrequency(kx, width);
      f[ky * wf + kx] = Math.sqrt(fx * fx + fy * fy);
    }
  }
  return f;
}

/** Lucent's spectrum weights: 1 / max(freq, 1 / max(W, H)) (decay_power 1), as float32. */
export function spectrumScale(height: number, width: number): Float32Array {
  const floor = 1 / Math.max(width, height);
  return Float32Array.from(rfft2dFrequencies(height, width), (f) => 1 / Math.max(f, floor));
}

/**
 * (cos, sin)(2 pi m / n) for m in [0, n), interleaved, as float32. Computed in float64 and rounded;
 * values within 1e-12 of 0 are set to exactly 0 (sin at m = 0, n/2; cos at n/4, 3n/4), so the
 * imaginary parts of the DC and Nyquist bins drop out exactly, as in a real inverse FFT.
 */
export function twiddleTable(n: number): Float32Array {
  const t = new Float32Array(2 * n);
  for (let m = 0; m < n; m++) {
    const angle = (2 * Math.PI * m) / n;
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    t[2 * m] = Math.abs(c) < 1e-12 ? 0 : c;
    t[2 * m + 1] = Math.abs(s) < 1e-12 ? 0 : s;
  }
  return t;
}

/** A fresh spectrum [N, 3, H, Wf, 2] of normal(0, sd) values, image after image from one generator. */
export function initialSpectrum(batch: number, height: number, width: number, rng: Rng, sd = SPECTRUM_SD): Float32Array {
  return initialSpectra(Array.from({ length: batch }, () => rng), height, width, sd);
}

/** A fresh spectrum [N, 3, H, Wf, 2], image n drawn from its own generator `rngs[n]`. */
export function initialSpectra(rngs: Rng[], height: number, width: number, sd = SPECTRUM_SD): Float32Array {
  const per = 3 * height * spectrumWidth(width) * 2;
  const x = new Float32Array(rngs.length * per);
  rngs.forEach((rng, n) => {
    for (let i = 0; i < per; i++) x[n * per + i] = rng.normal() * sd;
  });
  return x;
}

/**
 * The parameterisation of a batch of images on the GPU: the spectrum parameter and its gradient,
 * the sigmoid image (kept for the backward and for the PNGs), scratch, and the prepared forward
 * and backward dispatches. The image gradient goes into `imageGrad` before `backward` runs.
 */
export class FourierImage {
  readonly shape: SpectrumShape;
  readonly tables: SpectrumTables;
  /** The parameter X, [N, 3, H, Wf, 2] float32. */
  readonly spectrum: GPUBuffer;
  /** dL/dX, same layout. */
  readonly spectrumGrad: GPUBuffer;
  /** sigmoid(C irfft2(scale X) / 4), NCHW [N, 3, H, W]. */
  readonly image: GPUBuffer;
  /** dL/dimage, NCHW [N, 3, H, W], written by the transforms' backward. */
  readonly imageGrad: GPUBuffer;
  readonly forward: Dispatch[];
  readonly backward: Dispatch[];
  readonly colour: Float64Array = colourMatrix();
  private readonly owned: GPUBuffer[] = [];

  constructor(private readonly ctx: GpuContext, batch: number, height: number, width: number, initial: Float32Array) {
    const wf = spectrumWidth(width);
    this.shape = { batch, height, width, freqWidth: wf };
    const spectrumCount = batch * 3 * height * wf * 2;
    if (initial.length !== spectrumCount) {
      throw new Error(`spectrum has ${initial.length} values, [${batch}, 3, ${height}, ${wf}, 2] needs ${spectrumCount}`);
    }
    const imageCount = batch * 3 * height * width;
    const own = (b: GPUBuffer) => {
      this.owned.push(b);
      return b;
    };
    this.tables = {
      scale: own(ctx.createStorageBuffer(`spectrum scale ${height}x${wf}`, spectrumScale(height, width))),
      twiddleH: own(ctx.createStorageBuffer(`twiddle ${height}`, twiddleTable(height))),
      twiddleW: own(ctx.createStorageBuffer(`twiddle ${width}`, twiddleTable(width))),
    };
    this.spectrum = own(ctx.createStorageBuffer('fv spectrum (parameter)', initial));
    this.spectrumGrad = own(ctx.acquire('fv spectrum gradient', spectrumCount * 4));
    const z = own(ctx.acquire('fv column-transformed spectrum', spectrumCount * 4));
    const pre = own(ctx.acquire('fv irfft image', imageCount * 4));
    this.image = own(ctx.acquire('fv image (sigmoid)', imageCount * 4));
    this.imageGrad = own(ctx.acquire('fv image gradient', imageCount * 4));
    const s = this.shape;
    this.forward = [
      irfft2ColumnsDispatch(ctx, s, this.tables, { spectrum: this.spectrum, output: z }),
      irfft2RowsDispatch(ctx, s, this.tables, { input: z, image: pre }),
      colourSigmoidDispatch(ctx, s, this.colour, { input: pre, image: this.image }),
    ];
    // The backward reuses the forward's scratch: dt in `pre`, dZ in `z`.
    this.backward = [
      colourSigmoidBackwardDispatch(ctx, s, this.colour, { gradImage: this.imageGrad, image: this.image, gradInput: pre }),
      irfft2RowsBackwardDispatch(ctx, s, this.tables, { gradImage: pre, gradOutput: z }),
      irfft2ColumnsBackwardDispatch(ctx, s, this.tables, { gradOutput: z, gradSpectrum: this.spectrumGrad }),
    ];
  }

  get spectrumCount(): number {
    return this.shape.batch * 3 * this.shape.height * this.shape.freqWidth * 2;
  }

  get imageCount(): number {
    return this.shape.batch * 3 * this.shape.height * this.shape.width;
  }

  dispose(): void {
    for (const b of this.owned) {
      if (b === this.spectrum || b === this.tables.scale || b === this.tables.twiddleH || b === this.tables.twiddleW) b.destroy();
      else this.ctx.release(b);
    }
    this.owned.length = 0;
  }
}
