// Lucent's Fourier image parameterisation on the GPU: the inverse real FFT (two dense DFT passes),
// the colour decorrelation and the sigmoid, their adjoints, and the float64 references they are
// checked against (themselves pinned to numpy's irfftn and to finite differences).

import { describe, expect, it } from 'vitest';
import { writeBuffer } from '../src/gpu/context';
import { irfft2ColumnsDispatch } from '../src/kernels/irfft2-columns';
import { irfft2ColumnsBackwardDispatch } from '../src/kernels/irfft2-columns-backward';
import { irfft2RowsDispatch } from '../src/kernels/irfft2-rows';
import { irfft2RowsBackwardDispatch } from '../src/kernels/irfft2-rows-backward';
import {
  COLOR_CORRELATION_SVD_SQRT, FourierImage, colourMatrix, rfft2dFrequencies, spectrumScale, spectrumWidth, twiddleTable,
} from '../src/featureviz/param';
import {
  colourSigmoidBackwardReference, colourSigmoidReference, dot, finiteDifferenceError, irfft2AdjointReference,
  irfft2Reference, sampleIndices,
} from './reference/backward';
import { download, freshSeed, makeRng, poisoned, randomArray, relativeError, upload } from './helpers/gpu';
import { testContext } from './fv-context';

// GPU against float64: each output is a float32 sum of at most H (columns) then W/2 + 1 (rows)
// terms with twiddles rounded to float32 (relative error 6e-8 each). The error relative to the
// output's scale is about sqrt(terms) * eps per pass, ~1e-6 at 224 and far less at the small sizes
// here: 1e-5 leaves a wide margin. The same bound serves the adjoint identities, measured relative
// to |A x| |y| (the Cauchy-Schwarz scale of both inner products).
const TOLERANCE = 1e-5;

function spectrumTables(ctx: Awaited<ReturnType<typeof testContext>>, height: number, width: number) {
  return {
    scale: upload(ctx, spectrumScale(height, width), 'scale'),
    twiddleH: upload(ctx, twiddleTable(height), 'twiddle H'),
    twiddleW: upload(ctx, twiddleTable(width), 'twiddle W'),
  };
}

const norm = (a: ArrayLike<number>) => Math.sqrt(dot(a, a));

describe('Lucent parameterisation: constants and references', () => {
  it('frequencies and spectrum weights follow Lucent (rfft2d_freqs, 1 / max(f, 1 / max(W, H)))', () => {
    expect(spectrumWidth(224)).toBe(113);
    expect(spectrumWidth(7)).toBe(5);
    const f = rfft2dFrequencies(224, 224);
    expect(f[0]).toBe(0);
    expect(f[1]).toBeCloseTo(1 / 224, 15);
    // Row 112 is frequency -0.5 (numpy's fftfreq), column 112 is -0.5 as well.
    expect(f[112 * 113 + 112]).toBeCloseTo(Math.SQRT1_2, 15);
    const s = spectrumScale(224, 224);
    expect(s[0]).toBe(224); // DC clamped to 1 / (1/224)
    expect(s[1]).toBe(224);
    expect(s[2]).toBe(112);
    expect(s[112 * 113 + 112]).toBe(Math.fround(Math.SQRT2));
  });

  it('colour matrix is Lucent color_correlation_svd_sqrt over its largest column norm', () => {
    const c = colourMatrix();
    const maxNorm = Math.sqrt(Math.fround(0.26) ** 2 + Math.fround(0.27) ** 2 + Math.fround(0.27) ** 2);
    expect(c[0]).toBeCloseTo(Math.fround(0.26) / maxNorm, 12);
    expect(c[5]).toBeCloseTo(COLOR_CORRELATION_SVD_SQRT[5] / maxNorm, 12);
    expect(Math.hypot(c[0], c[3], c[6])).toBeCloseTo(1, 12);
  });

  it('twiddle tables are exact at the axes', () => {
    const t = twiddleTable(224);
    expect([t[0], t[1], t[2 * 56], t[2 * 56 + 1], t[2 * 112], t[2 * 112 + 1]]).toEqual([1, 0, 0, 1, -1, 0]);
  });

  it('float64 irfft2 reference equals numpy.fft.irfftn(scale * X, s=(H, W), norm="ortho") / 4', () => {
    // Oracle values computed once with numpy 2.4 for X[i] = sin(0.37 i + 0.1) (flat [1, 3, H, Wf, 2]).
    const oracle = [
      { h: 6, w: 8, at: [0, 1, 5, 17, 143], values: [0.7926023352933089, -0.6439979381019171, -0.06130052954599614, 0.9001156541803799, 1.05771301727219], sumSq: 117.6859781812219 },
      { h: 5, w: 7, at: [0, 1, 5, 17, 104], values: [0.26367362948184253, 0.004448932222269037, 0.18233932277670342, -0.5007189402549274, 0.20188088439910354], sumSq: 64.43474740799132 },
    ];
    for (const o of oracle) {
      const wf = spectrumWidth(o.w);
      const x = Float64Array.from({ length: 3 * o.h * wf * 2 }, (_, i) => Math.sin(0.37 * i + 0.1));
      const scale = Float64Array.from(rfft2dFrequencies(o.h, o.w), (f) => 1 / Math.max(f, 1 / Math.max(o.h, o.w)));
      const img = irfft2Reference(x, scale, 3, o.h, o.w);
      o.at.forEach((i, k) => expect(img[i]).toBeCloseTo(o.values[k], 12));
      expect(dot(img, img)).toBeCloseTo(o.sumSq, 9);
    }
  });

  it('float64 adjoint references are the transposes (<A x, y> = <x, A^T y>) and match finite differences', () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    for (const [h, w] of [[6, 8], [5, 7]]) {
      const wf = spectrumWidth(w);
      const scale = spectrumScale(h, w);
      const x = Float64Array.from(randomArray(2 * 3 * h * wf * 2, rng));
      const y = Float64Array.from(randomArray(2 * 3 * h * w, rng));
      const ax = irfft2Reference(x, scale, 6, h, w);
      const aty = irfft2AdjointReference(y, scale, 6, h, w);
      expect(Math.abs(dot(ax, y) - dot(x, aty)) / (norm(ax) * norm(y)), `seed ${seed}`).toBeLessThan(1e-12);
      // The whole chain X -> sigmoid(C irfft2(X)) against finite differences.
      const c = colourMatrix();
      const f = (v: Float64Array) => colourSigmoidReference(irfft2Reference(v, scale, 6, h, w), c, 2, h * w);
      const img = f(x);
      const grad = irfft2AdjointReference(colourSigmoidBackwardReference(y, img, c, 2, h * w), scale, 6, h, w);
      expect(finiteDifferenceError(f, x, y, grad, sampleIndices(x.length, 25, rng)), `seed ${seed}`).toBeLessThan(1e-6);
    }
  });
});

describe('Lucent parameterisation on the GPU', () => {
  // 1x13x17: odd H and W, an odd number of rows (39, the row kernels take rows in pairs) and
  // partial blocks on every axis of the blocked kernels.
  for (const [batch, h, w] of [[2, 6, 8], [2, 5, 7], [1, 12, 10], [1, 13, 17]]) {
    it(`forward image matches the float64 reference (batch ${batch}, ${h}x${w})`, async () => {
      const ctx = await testContext();
      const seed = freshSeed();
      const rng = makeRng(seed);
      const wf = spectrumWidth(w);
      // Spectra of unit scale (not 0.01) so the sigmoid is exercised away from 0.5.
      const x = randomArray(batch * 3 * h * wf * 2, rng, -0.2, 0.2);
      const fi = new FourierImage(ctx, batch, h, w, x);
      ctx.run(fi.forward);
      const got = await download(ctx, fi.image, fi.imageCount);
      const pre = irfft2Reference(x, spectrumScale(h, w), batch * 3, h, w);
      const expected = colourSigmoidReference(pre, colourMatrix(), batch, h * w);
      expect(relativeError(got, expected), `seed ${seed}`).toBeLessThanOrEqual(TOLERANCE);
      // Backward from a random image gradient to the spectrum.
      const dimg = randomArray(fi.imageCount, rng);
      writeBuffer(ctx.device, fi.imageGrad, dimg);
      ctx.run(fi.backward);
      const grad = await download(ctx, fi.spectrumGrad, fi.spectrumCount);
      const expectedGrad = irfft2AdjointReference(
        colourSigmoidBackwardReference(dimg, expected, colourMatrix(), batch, h * w), spectrumScale(h, w), batch * 3, h, w);
      expect(relativeError(grad, expectedGrad), `seed ${seed}`).toBeLessThanOrEqual(TOLERANCE);
      fi.dispose();
    });
  }

  it('224x224: forward at sampled pixels matches the direct 2D sum', async () => {
    const ctx = await testContext();
    const seed = freshSeed();
    const rng = makeRng(seed);
    const [h, w] = [224, 224];
    const wf = spectrumWidth(w);
    const x = randomArray(3 * h * wf * 2, rng, -0.01, 0.01);
    const fi = new FourierImage(ctx, 1, h, w, x);
    ctx.run(fi.forward);
    const got = await download(ctx, fi.image, fi.imageCount);
    const scale = spectrumScale(h, w);
    const c = colourMatrix();
    let worst = 0;
    let size = 0;
    for (const p of sampleIndices(h * w, 12, rng)) {
      const [py, px] = [Math.floor(p / w), p % w];
      const t = [0, 1, 2].map((ch) => {
        let sum = 0;
        for (let ky = 0; ky < h; ky++) {
          for (let kx = 0; kx <= w / 2; kx++) {
            const m = kx === 0 || 2 * kx === w ? 1 : 2;
            const k = (ch * h + ky) * wf + kx;
            const a = 2 * Math.PI * ((ky * py) / h + (kx * px) / w);
            sum += m * scale[ky * wf + kx] * (x[2 * k] * Math.cos(a) - x[2 * k + 1] * Math.sin(a));
          }
        }
        return sum / (4 * Math.sqrt(h * w));
      });
      for (let i = 0; i < 3; i++) {
        const u = c[3 * i] * t[0] + c[3 * i + 1] * t[1] + c[3 * i + 2] * t[2];
        // Compare the pre-sigmoid value u (the sigmoid would hide errors near 0.5).
        const gotU = Math.log(got[i * h * w + p] / (1 - got[i * h * w + p]));
        worst = Math.max(worst, Math.abs(gotU - u));
        size = Math.max(size, Math.abs(u));
      }
    }
    // The float32 sigmoid and its inversion here cost ~1e-7 absolute on values of order 0.1..1.
    expect(worst / size, `seed ${seed}`).toBeLessThan(1e-4);
    fi.dispose();
  });

  for (const [batch, h, w] of [[2, 6, 8], [1, 5, 7], [1, 224, 224]]) {
    it(`irfft2 adjoint identity on the GPU: <A x, y> = <x, A^T y> (batch ${batch}, ${h}x${w})`, async () => {
      const ctx = await testContext();
      const seed = freshSeed();
      const rng = makeRng(seed);
      const wf = spectrumWidth(w);
      const s = { batch, height: h, width: w, freqWidth: wf };
      const t = spectrumTables(ctx, h, w);
      const nSpec = batch * 3 * h * wf * 2;
      const nImg = batch * 3 * h * w;
      const x = randomArray(nSpec, rng);
      const y = randomArray(nImg, rng);
      const z = poisoned(ctx, nSpec);
      const ax = poisoned(ctx, nImg);
      const dz = poisoned(ctx, nSpec);
      const aty = poisoned(ctx, nSpec);
      ctx.run([
        irfft2ColumnsDispatch(ctx, s, t, { spectrum: upload(ctx, x), output: z }),
        irfft2RowsDispatch(ctx, s, t, { input: z, image: ax }),
        irfft2RowsBackwardDispatch(ctx, s, t, { gradImage: upload(ctx, y), gradOutput: dz }),
        irfft2ColumnsBackwardDispatch(ctx, s, t, { gradOutput: dz, gradSpectrum: aty }),
      ]);
      const [axv, atyv] = await ctx.readback([{ buffer: ax, byteLength: nImg * 4 }, { buffer: aty, byteLength: nSpec * 4 }]);
      const gap = Math.abs(dot(axv, y) - dot(x, atyv)) / (norm(axv) * norm(y));
      expect(gap, `seed ${seed}`).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});
