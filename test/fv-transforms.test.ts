// Lucent's transforms on the GPU: the geometry (kornia 0.4.1 / F.interpolate semantics), the
// resampling and reflect-pad kernels and their adjoints, and the whole per-layer transform
// pipeline against a float64 composition of references.

import { describe, expect, it } from 'vitest';
import { mat3d } from 'wgpu-matrix';
import { type GpuContext, grid1d, writeBuffer } from '../src/gpu/context';
import {
  type ResampleGeometry, type ResampleLayout, affineResampleDispatch, packResampleGeometry, resampleKernel, resampleParams,
} from '../src/kernels/affine-resample';
import { affineResampleBackwardDispatch } from '../src/kernels/affine-resample-backward';
import { reflectPadDispatch } from '../src/kernels/reflect-pad';
import { reflectPadBackwardDispatch } from '../src/kernels/reflect-pad-backward';
import {
  affineRows, applySampling, interpolateSampling, korniaWarpSampling, rotateSampling, scaledExtent, translateSampling,
} from '../src/featureviz/affine';
import { Rng } from '../src/util/random';
import {
  TransformPipeline, drawTransforms, jitterForTap, lucentTransformConfig, networkInputSize, possibleInputSizes,
} from '../src/featureviz/transforms';
import { IMAGENET_MEAN, IMAGENET_STD } from '../src/model/architecture';
import {
  dot, normalizeReference, reflectPadAdjointReference, reflectPadReference, resampleAdjointReference, resampleAdjointSlack,
  resampleReference, resampleSlack,
} from './reference/backward';
import { download, freshSeed, makeRng, poisoned, randomArray, relativeError, upload } from './helpers/gpu';
import { testContext } from './fv-context';
import perPixelResample from './reference/affine-resample-per-pixel.wgsl';

const PER_PIXEL_RESAMPLE = resampleKernel('affine-resample-per-pixel', perPixelResample);

// Bilinear resampling sums 4 products with weights computed in float32 from a float32 sampling
// map: the position is off by ~1e-7 * size pixels, so the values by ~1e-5 of the data's scale at
// the sizes here in the worst case (a steep gradient between neighbours), typically far less;
// the adjoint identity is checked relative to |A x| |y|. 1e-5 for both.
const TOLERANCE = 1e-5;
const norm = (a: ArrayLike<number>) => Math.sqrt(dot(a, a));

// Against the references element by element, the position's rounding is taken out: the references
// sample where the kernels do up to the slack of a float32 evaluation order (resampleSlack in
// test/reference/backward.ts), and what is left is the float32 arithmetic of the weights and the
// sum: 4 products of 3 rounded factors, about 5e-7 of the scale at worst for the forward; the
// adjoint adds up to 9 tent-weighted gradients per output at these scales (0.4 or more), 1e-6 of
// the scale for both. (Measured: SwiftShader 1e-7 of the scale; lavapipe, whose positions differ
// by an ulp at some pixels, 7e-6 of the scale, all within that pixel's slack.)
const ARITHMETIC = 1e-6;

/** The largest |got - want| / (ARITHMETIC * scale + slack), elementwise; at most 1 passes. */
function slackRatio(got: ArrayLike<number>, want: ArrayLike<number>, slack: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const ratio = Math.abs(got[i] - want[i]) / (ARITHMETIC * scale + slack[i]);
    if (!(ratio <= worst)) worst = Number.isNaN(ratio) ? Infinity : ratio;
  }
  return worst;
}

describe('transform geometry (kornia 0.4.1, F.interpolate, METHOD.md)', () => {
  it('jitter per layer follows METHOD.md', () => {
    expect(['layer1.0.bn1', 'layer1.1', 'layer2.0.downsample.1', 'layer2.0.sum'].map(jitterForTap)).toEqual([0, 0, 0, 0]);
    expect(['layer2.1.bn2', 'layer2.1', 'layer3.0.skip', 'layer3.0'].map(jitterForTap)).toEqual([4, 4, 4, 4]);
    expect(['layer3.1.bn2', 'layer4.0', 'layer4.1.sum'].map(jitterForTap)).toEqual([16, 16, 16]);
    // The family's deeper stages, by position ("Beyond ResNet18"): layer2.2+ like 2.1, layer3.12+ like 3.1.
    expect(['layer1.2.bn3', 'layer2.3', 'layer2.7.bn3', 'layer3.0.downsample.1', 'layer3.12', 'layer3.35.bn3', 'layer4.2'].map(jitterForTap))
      .toEqual([0, 4, 4, 4, 16, 16, 16]);
  });

  it("random_scale sizes as Lucent computes them (ceil, then a zero pad when shrinking)", () => {
    expect([1, 0.975, 1.025, 0.95, 1.05].map((s) => scaledExtent(224, s).out)).toEqual([224, 225, 230, 225, 236]);
    expect([1, 0.975, 1.025, 0.95, 1.05].map((s) => scaledExtent(256, s).out)).toEqual([256, 256, 263, 256, 269]);
    expect(scaledExtent(224, 0.95)).toEqual({ scaled: 213, pad: 6, out: 225 });
    expect(possibleInputSizes(lucentTransformConfig(0))).toEqual([224, 225, 230, 236]);
    expect(possibleInputSizes(lucentTransformConfig(16))).toEqual([224]);
  });

  it('interpolate (align_corners=True) maps the corners onto the corners, after the pad', () => {
    const a = interpolateSampling(224, 224, 213, 213, 6);
    expect(applySampling(a, 6, 6)).toEqual([0, 0]);
    const [px, py] = applySampling(a, 6 + 212, 6 + 212);
    expect(px).toBeCloseTo(223, 10);
    expect(py).toBeCloseTo(223, 10);
  });

  it('warp_affine with the identity is the identity; a translation moves by t W / (W - 1) (kornia 0.4.1)', () => {
    const id = korniaWarpSampling(mat3d.identity(), 10, 12, 10, 12);
    const [x, y] = applySampling(id, 3, 7);
    expect(x).toBeCloseTo(3, 12);
    expect(y).toBeCloseTo(7, 12);
    const t = translateSampling(4, 2, 256, 256);
    const [tx, ty] = applySampling(t, 100, 50);
    expect(tx).toBeCloseTo(100 - 4 * 256 / 255, 10);
    expect(ty).toBeCloseTo(50 - 2 * 256 / 255, 10);
  });

  it('rotation is about the centre, counter-clockwise for positive angles, exact under kornia normalisation', () => {
    // +90 degrees on a 5x5 image: destination (x, y) reads source (4 - y, x); the centre is fixed.
    const r = rotateSampling(90, 5, 5);
    for (const [x, y] of [[0, 0], [1, 3], [4, 2], [2, 2]]) {
      const [px, py] = applySampling(r, x, y);
      expect(px).toBeCloseTo(4 - y, 10);
      expect(py).toBeCloseTo(x, 10);
    }
    const [cx, cy] = applySampling(rotateSampling(5, 224, 224), 111.5, 111.5);
    expect(cx).toBeCloseTo(111.5, 10);
    expect(cy).toBeCloseTo(111.5, 10);
  });
});

/** Random per-image geometries with different extents in one strided batch. */
function randomGeometries(rng: () => number, batch: number, srcMax: number, dstMax: number): ResampleGeometry[] {
  const images: ResampleGeometry[] = [];
  for (let n = 0; n < batch; n++) {
    const src = srcMax - Math.floor(rng() * 3);
    const dst = dstMax - Math.floor(rng() * 3);
    const kind = n % 3;
    let map: ResampleGeometry['map'];
    if (kind === 0) map = affineRows(rotateSampling(-5 + 10 * rng(), src, src));
    else if (kind === 1) map = affineRows(translateSampling(Math.floor(rng() * 4), Math.floor(rng() * 4), src, src));
    else map = affineRows(interpolateSampling(src, src, dst - 2, dst - 2, 1));
    const window = kind === 2 ? { x0: 1, y0: 1, x1: dst - 1, y1: dst - 1 } : { x0: 0, y0: 0, x1: dst, y1: dst };
    images.push({ srcHeight: src, srcWidth: src, dstHeight: dst, dstWidth: dst, window, map });
  }
  return images;
}

/**
 * The resample and its adjoint on the GPU, on fresh random data for layout `l`, against the float64
 * references, and each other's transposes (<A x, y> = <x, A^T y>). Returns the data used.
 */
async function checkResample(ctx: GpuContext, rng: () => number, images: Parameters<typeof packResampleGeometry>[0], l: ResampleLayout, seed: number) {
  const nSrc = l.batch * l.channels * l.srcStrideH * l.srcStrideW;
  const nDst = l.batch * l.channels * l.dstStrideH * l.dstStrideW;
  const x = randomArray(nSrc, rng);
  const y = randomArray(nDst, rng);
  const geometry = ctx.createStorageBuffer('geometry', new Float32Array(packResampleGeometry(images)));
  const ax = poisoned(ctx, nDst);
  const aty = poisoned(ctx, nSrc);
  ctx.run([
    affineResampleDispatch(ctx, l, { images: geometry, input: upload(ctx, x), output: ax }),
    affineResampleBackwardDispatch(ctx, l, { images: geometry, gradOutput: upload(ctx, y), gradInput: aty }),
  ]);
  const [axv, atyv] = await ctx.readback([{ buffer: ax, byteLength: nDst * 4 }, { buffer: aty, byteLength: nSrc * 4 }]);
  expect(slackRatio(axv, resampleReference(x, images, l), resampleSlack(x, images, l)), `seed ${seed}`).toBeLessThanOrEqual(1);
  expect(slackRatio(atyv, resampleAdjointReference(y, images, l), resampleAdjointSlack(y, images, l)), `seed ${seed}`).toBeLessThanOrEqual(1);
  expect(Math.abs(dot(axv, y) - dot(x, atyv)) / (norm(axv) * norm(y)), `seed ${seed}`).toBeLessThanOrEqual(TOLERANCE);
  return { x, y };
}

describe('affine resample and reflect pad kernels', () => {
  for (const [srcMax, dstMax] of [[13, 13], [11, 15], [16, 12]]) {
    it(`resample forward and adjoint match the references (batch 3, source ${srcMax}, destination ${dstMax})`, async () => {
      const ctx = await testContext();
      const seed = freshSeed();
      const rng = makeRng(seed);
      const images = randomGeometries(rng, 3, srcMax, dstMax);
      const l: ResampleLayout = { batch: 3, channels: 3, srcStrideH: srcMax, srcStrideW: srcMax, dstStrideH: dstMax, dstStrideW: dstMax };
      const { x, y } = await checkResample(ctx, rng, images, l, seed);
      // The float64 references are each other's transposes.
      const ax64 = resampleReference(x, images, l);
      expect(Math.abs(dot(ax64, y) - dot(x, resampleAdjointReference(y, images, l))) / (norm(ax64) * norm(y))).toBeLessThan(1e-12);
    });
  }

  it('resample forward is bit-identical to its per-pixel form (odd strides, steep maps, windows)', async () => {
    // The kernel's arithmetic per output is pinned, not just its accuracy: it must equal the
    // per-pixel form's outputs bit for bit (both compiled by the adapter under test).
    const ctx = await testContext();
    const seed = freshSeed();
    const rng = makeRng(seed);
    const [srcMax, dstMax] = [37, 35];
    const images: ResampleGeometry[] = [
      ...randomGeometries(rng, 3, srcMax, dstMax),
      ...Array.from({ length: 2 }, (_, k) => {
        const t = (-40 + 80 * rng()) * Math.PI / 180;
        const s = 0.5 + 1.5 * rng();
        const [a, b, c, d] = [Math.cos(t) * s, -Math.sin(t) * s, Math.sin(t) * s, Math.cos(t) * s];
        const map = [a, b, 3 * rng() - 1.5, c, d, 2 * rng() - 1] as const;
        return { srcHeight: srcMax - k, srcWidth: srcMax - 2 * k, dstHeight: dstMax - 3 * k, dstWidth: dstMax - k,
          window: { x0: 2 * k, y0: k, x1: dstMax - k, y1: dstMax - 1 }, map };
      }),
    ];
    const l: ResampleLayout = { batch: images.length, channels: 3, srcStrideH: srcMax, srcStrideW: srcMax, dstStrideH: dstMax, dstStrideW: dstMax };
    const x = randomArray(l.batch * l.channels * srcMax * srcMax, rng);
    const geometry = ctx.createStorageBuffer('geometry', new Float32Array(packResampleGeometry(images)));
    const nDst = l.batch * l.channels * dstMax * dstMax;
    const ax = poisoned(ctx, nDst);
    ctx.run([affineResampleDispatch(ctx, l, { images: geometry, input: upload(ctx, x), output: ax })]);
    const got = await download(ctx, ax, nDst);
    // The per-pixel form (test/reference/affine-resample-per-pixel.wgsl) on the same adapter.
    const old = poisoned(ctx, nDst);
    ctx.run([ctx.dispatch('affine resample per pixel', PER_PIXEL_RESAMPLE, {
      constants: { WG: 64 }, params: resampleParams(l), buffers: [geometry, upload(ctx, x), old],
      workgroups: grid1d(nDst, 64),
    })]);
    const want = await download(ctx, old, nDst);
    expect(slackRatio(got, resampleReference(x, images, l), resampleSlack(x, images, l)), `seed ${seed}`).toBeLessThanOrEqual(1);
    let mismatches = 0;
    for (let i = 0; i < nDst; i++) if (!Object.is(got[i], want[i])) mismatches++;
    expect(mismatches, `seed ${seed}`).toBe(0);
  });

  it('resample adjoint matches the reference for steep maps (rotations to 60 degrees, scales 0.4 to 2.5, shear, windows)', async () => {
    // The adjoint walks the bounding box of each source pixel's preimage, whose size follows the
    // map: Lucent's near-identity maps give 2 or 3 candidates per axis, these up to 8.
    const ctx = await testContext();
    const seed = freshSeed();
    const rng = makeRng(seed);
    const [srcMax, dstMax] = [17, 14];
    const images: ResampleGeometry[] = Array.from({ length: 3 }, () => {
      const src = srcMax - Math.floor(rng() * 3);
      const dst = dstMax - Math.floor(rng() * 3);
      const t = (-60 + 120 * rng()) * Math.PI / 180;
      const [sx, sy, k] = [0.4 + 2.1 * rng(), 0.4 + 2.1 * rng(), -0.5 + rng()];
      // M = R(t) [[sx, k], [0, sy]], centre of the destination onto the centre of the source.
      const [a, b, c, d] = [Math.cos(t) * sx, Math.cos(t) * k - Math.sin(t) * sy, Math.sin(t) * sx, Math.sin(t) * k + Math.cos(t) * sy];
      const [cx, cy] = [(dst - 1) / 2, (dst - 1) / 2];
      const map = [a, b, (src - 1) / 2 - a * cx - b * cy, c, d, (src - 1) / 2 - c * cx - d * cy] as const;
      return { srcHeight: src, srcWidth: src, dstHeight: dst, dstWidth: dst, window: { x0: 1, y0: 0, x1: dst, y1: dst - 1 }, map };
    });
    const l: ResampleLayout = { batch: 3, channels: 2, srcStrideH: srcMax, srcStrideW: srcMax, dstStrideH: dstMax, dstStrideW: dstMax };
    await checkResample(ctx, rng, images, l, seed);
  });

  for (const [h, w, p] of [[9, 11, 4], [6, 6, 5], [20, 17, 16]]) {
    it(`reflect pad ${p} on ${h}x${w}: forward, adjoint, adjoint identity`, async () => {
      const ctx = await testContext();
      const seed = freshSeed();
      const rng = makeRng(seed);
      const planes = 2 * 3;
      const s = { planes, height: h, width: w, pad: p };
      const nIn = planes * h * w;
      const nOut = planes * (h + 2 * p) * (w + 2 * p);
      const x = randomArray(nIn, rng);
      const y = randomArray(nOut, rng);
      const ax = poisoned(ctx, nOut);
      const aty = poisoned(ctx, nIn);
      ctx.run([
        reflectPadDispatch(ctx, s, { input: upload(ctx, x), output: ax }),
        reflectPadBackwardDispatch(ctx, s, { gradOutput: upload(ctx, y), gradInput: aty }),
      ]);
      const [axv, atyv] = await ctx.readback([{ buffer: ax, byteLength: nOut * 4 }, { buffer: aty, byteLength: nIn * 4 }]);
      expect(relativeError(axv, reflectPadReference(x, planes, h, w, p)), `seed ${seed}`).toBe(0);
      expect(relativeError(atyv, reflectPadAdjointReference(y, planes, h, w, p)), `seed ${seed}`).toBeLessThanOrEqual(1e-6);
      expect(Math.abs(dot(axv, y) - dot(x, atyv)) / (norm(axv) * norm(y)), `seed ${seed}`).toBeLessThanOrEqual(TOLERANCE);
    });
  }

  it('reflect pad reference matches torch semantics on a small example', () => {
    // F.pad(tensor([[0, 1, 2]]) as 1x3 with pad 2 along W (a 3x3 here): rows reflect the same way.
    const x = [0, 1, 2, 3, 4, 5, 6, 7, 8];
    const y = reflectPadReference(x, 1, 3, 3, 2);
    // First output row reflects to source row 2 (t = -2), columns 2 1 0 1 2 1 0.
    expect(Array.from(y.slice(0, 7))).toEqual([8, 7, 6, 7, 8, 7, 6]);
  });
});

describe('the transform pipeline of render_vis', () => {
  // Reduced sizes (image 20, crop 20) so the float64 composition stays quick; the code paths are
  // those of 224 (pad, jitter, per-image scale, rotation, jitter + crop, normalise).
  for (const jitter of [0, 4, 16]) {
    it(`jitter ${jitter}: forward equals the composition of references; backward is its transpose`, async () => {
      const ctx = await testContext();
      const seed = freshSeed();
      const rng = makeRng(seed);
      const size = jitter === 16 ? 34 : 20;
      const config = { ...lucentTransformConfig(jitter, size), crop: size };
      const batch = 3;
      const draws = drawTransforms(config, batch, new Rng(seed));
      const out = networkInputSize(config, draws[0]);
      const nImg = batch * 3 * size * size;
      const nOut = batch * 3 * out * out;
      const image = upload(ctx, randomArray(nImg, rng, 0, 1));
      const x = await download(ctx, image, nImg);
      const networkInput = poisoned(ctx, nOut);
      const gOut = randomArray(nOut, rng);
      const imageGrad = poisoned(ctx, nImg);
      const pipe = new TransformPipeline(ctx, config, batch, out, { image, networkInput, networkInputGrad: upload(ctx, gOut), imageGrad });
      pipe.setDraws(draws);
      ctx.run([...pipe.forward, ...pipe.backward]);
      const [fwd, bwd] = await ctx.readback([{ buffer: networkInput, byteLength: nOut * 4 }, { buffer: imageGrad, byteLength: nImg * 4 }]);

      // Float64 composition: the same steps with the reference kernels.
      const geometry = pipe.geometryFor(draws);
      let t: Float64Array = Float64Array.from(x);
      const layouts: ResampleLayout[] = [];
      pipe.steps.forEach((s, i) => {
        if (s.kind === 'reflect-pad') {
          t = reflectPadReference(t, batch * 3, s.inSize, s.inSize, s.pad);
          layouts.push({ batch, channels: 3, srcStrideH: 0, srcStrideW: 0, dstStrideH: 0, dstStrideW: 0 });
        } else {
          const l = { batch, channels: 3, srcStrideH: s.srcStride, srcStrideW: s.srcStride, dstStrideH: s.dstStride, dstStrideW: s.dstStride };
          layouts.push(l);
          t = resampleReference(t, geometry[i]!, l);
        }
      });
      const expected = normalizeReference(t, batch, out * out, IMAGENET_MEAN, IMAGENET_STD);
      // Each resampling step of the chain adds up to TOLERANCE of the scale (the bound above); the
      // composition's bound is their sum (seed 835545919 gave 1.04e-5 over its chain).
      const chain = TOLERANCE * pipe.steps.filter((s) => s.kind !== 'reflect-pad').length;
      expect(relativeError(fwd, expected), `seed ${seed}`).toBeLessThanOrEqual(chain);
      let g: Float64Array = Float64Array.from(gOut, (v, i) => v / IMAGENET_STD[Math.floor(i / (out * out)) % 3]);
      for (let i = pipe.steps.length - 1; i >= 0; i--) {
        const s = pipe.steps[i];
        g = s.kind === 'reflect-pad'
          ? reflectPadAdjointReference(g, batch * 3, s.inSize, s.inSize, s.pad)
          : resampleAdjointReference(g, geometry[i]!, layouts[i]);
      }
      expect(relativeError(bwd, g), `seed ${seed}`).toBeLessThanOrEqual(chain);
      // <T x, y> = <x, T^T y> for the linear part (normalisation's mean shift removed).
      const linear = Float64Array.from(fwd, (v, i) => v + IMAGENET_MEAN[Math.floor(i / (out * out)) % 3] / IMAGENET_STD[Math.floor(i / (out * out)) % 3]);
      expect(Math.abs(dot(linear, gOut) - dot(x, bwd)) / (norm(linear) * norm(gOut)), `seed ${seed}`).toBeLessThanOrEqual(TOLERANCE);
      pipe.dispose();
    });
  }

  it('per-image draws: j >= 4 varies the scale per image, j < 4 shares it', () => {
    const rng = new Rng(7);
    const many = drawTransforms(lucentTransformConfig(16), 64, rng);
    expect(new Set(many.map((d) => d.scale)).size).toBeGreaterThan(1);
    expect(new Set(many.map((d) => d.angle)).size).toBeGreaterThan(1);
    expect(many.every((d) => d.jitter1.every((v) => v >= 0 && v < 16) && d.jitter2.every((v) => v >= 0 && v < 8))).toBe(true);
    const shared = drawTransforms(lucentTransformConfig(0), 64, rng);
    expect(new Set(shared.map((d) => d.scale)).size).toBe(1);
    // Same seed, same draws.
    expect(drawTransforms(lucentTransformConfig(4), 5, new Rng(3))).toEqual(drawTransforms(lucentTransformConfig(4), 5, new Rng(3)));
  });

  it('writeBuffer of geometry is accepted for a 224 batch at j = 16 (buffer sizes)', async () => {
    const ctx = await testContext();
    const config = lucentTransformConfig(16);
    const batch = 2;
    const mk = (n: number) => ctx.acquire('t', n * 4);
    const pipe = new TransformPipeline(ctx, config, batch, 224, {
      image: mk(batch * 3 * 224 * 224), networkInput: mk(batch * 3 * 224 * 224),
      networkInputGrad: mk(batch * 3 * 224 * 224), imageGrad: mk(batch * 3 * 224 * 224),
    });
    pipe.setDraws(drawTransforms(config, batch, new Rng(1)));
    writeBuffer(ctx.device, mk(4), new Float32Array(4));
    ctx.run([...pipe.forward, ...pipe.backward]);
    await ctx.finish();
    pipe.dispose();
  });
});
