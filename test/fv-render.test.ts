// The render_vis loop end to end on a tiny differentiable network (one convolution, forward kernel
// + conv2d-backward), independent of the ResNet plan: the spectrum gradient of one whole step
// against a float64 composition of the references, and the optimisation raising every image's
// target unit, reproducibly.

import { describe, expect, it } from 'vitest';
import { type Dispatch, type GpuContext, writeBuffer } from '../src/gpu/context';
import { conv2dDispatch, packConv2dWeights } from '../src/kernels/conv2d';
import { conv2dBackwardDispatch, packConv2dWeightsTransposed } from '../src/kernels/conv2d-backward';
import type { DifferentiableNetwork } from '../src/model/backward';
import { FourierImage, colourMatrix, initialSpectrum, spectrumScale } from '../src/featureviz/param';
import { Rng } from '../src/util/random';
import { renderVis } from '../src/featureviz/render';
import { TransformPipeline, drawTransforms, lucentTransformConfig, networkInputSize } from '../src/featureviz/transforms';
import { IMAGENET_MEAN, IMAGENET_STD } from '../src/model/architecture';
import {
  colourSigmoidBackwardReference, colourSigmoidReference, conv2dBackwardData, irfft2AdjointReference, irfft2Reference,
  normalizeReference, reflectPadAdjointReference, reflectPadReference, resampleAdjointReference, resampleReference,
} from './reference/backward';
import { freshSeed, makeRng, randomArray, relativeError } from './helpers/gpu';
import { testContext } from './fv-context';

/** A one-layer "network": tap = conv 3 -> C, 3x3, stride 2, padding 1, no bias. */
class TinyConvNet implements DifferentiableNetwork {
  readonly target = 'tiny';
  readonly targetShape: number[];
  readonly input: GPUBuffer;
  readonly targetOutput: GPUBuffer;
  readonly targetGrad: GPUBuffer;
  readonly inputGrad: GPUBuffer;
  readonly forward: Dispatch[];
  readonly backward: Dispatch[];

  constructor(ctx: GpuContext, readonly weightsOIHW: Float32Array, readonly outChannels: number,
    readonly batch: number, readonly height: number, readonly width: number) {
    const shape = { batch, inChannels: 3, inHeight: height, inWidth: width, outChannels, kernel: 3, stride: 2, padding: 1 };
    const oh = Math.floor((height - 1) / 2) + 1;
    const ow = Math.floor((width - 1) / 2) + 1;
    this.targetShape = [batch, outChannels, oh, ow];
    const n = batch * outChannels * oh * ow;
    this.input = ctx.acquire('tiny input', batch * 3 * height * width * 4);
    this.inputGrad = ctx.acquire('tiny input grad', batch * 3 * height * width * 4);
    this.targetOutput = ctx.acquire('tiny out', n * 4);
    this.targetGrad = ctx.acquire('tiny out grad', n * 4);
    const weights = ctx.createStorageBuffer('tiny w', packConv2dWeights(weightsOIHW, shape));
    const scale = ctx.createStorageBuffer('tiny scale', new Float32Array(outChannels).fill(1));
    const shift = ctx.createStorageBuffer('tiny shift', new Float32Array(outChannels));
    this.forward = [conv2dDispatch(ctx, shape, { input: this.input, weights, scale, shift, output: this.targetOutput }, { relu: false })];
    const weightsTransposed = ctx.createStorageBuffer('tiny wt', packConv2dWeightsTransposed(weightsOIHW, null, shape));
    this.backward = [conv2dBackwardDispatch(ctx, shape, { gradOutput: this.targetGrad, weightsTransposed, gradInput: this.inputGrad })];
  }

  dispose(): void { /* test buffers are left to the pool */ }
}

describe('render_vis on a tiny network', () => {
  for (const jitter of [0, 4]) {
    it(`one step's spectrum gradient equals the float64 chain (jitter ${jitter}, batch 2, 16x16)`, async () => {
      const ctx = await testContext();
      const seed = freshSeed();
      const rng = makeRng(seed);
      const batch = 2;
      const size = 16;
      const outChannels = 4;
      const w = randomArray(outChannels * 3 * 9, rng);
      const spectrum = initialSpectrum(batch, size, size, new Rng(seed), 0.05);
      const image = new FourierImage(ctx, batch, size, size, spectrum);
      const config = lucentTransformConfig(jitter, size);
      const draws = drawTransforms(config, batch, new Rng(seed + 1));
      const s = networkInputSize(config, draws[0]);
      const net = new TinyConvNet(ctx, w, outChannels, batch, s, s);
      const pipe = new TransformPipeline(ctx, config, batch, s,
        { image: image.image, networkInput: net.input, networkInputGrad: net.inputGrad, imageGrad: image.imageGrad });
      pipe.setDraws(draws);
      const [, c, h, wd] = net.targetShape;
      const dTarget = randomArray(batch * c * h * wd, rng);
      writeBuffer(ctx.device, net.targetGrad, dTarget);
      ctx.run([...image.forward, ...pipe.forward, ...net.forward, ...net.backward, ...pipe.backward, ...image.backward]);
      const [grad] = await ctx.readback([{ buffer: image.spectrumGrad, byteLength: image.spectrumCount * 4 }]);

      // Float64: forward to the image (for the sigmoid's derivative), then every adjoint.
      const scale = spectrumScale(size, size);
      const cm = colourMatrix();
      const img = colourSigmoidReference(irfft2Reference(spectrum, scale, batch * 3, size, size), cm, batch, size * size);
      const geometry = pipe.geometryFor(draws);
      let g: Float64Array = conv2dBackwardData(dTarget, w, null,
        { batch, inChannels: 3, inHeight: s, inWidth: s, outChannels, kernel: 3, stride: 2, padding: 1 });
      g = g.map((v, i) => v / IMAGENET_STD[Math.floor(i / (s * s)) % 3]);
      for (let i = pipe.steps.length - 1; i >= 0; i--) {
        const st = pipe.steps[i];
        g = st.kind === 'reflect-pad'
          ? reflectPadAdjointReference(g, batch * 3, st.inSize, st.inSize, st.pad)
          : resampleAdjointReference(g, geometry[i]!, { batch, channels: 3, srcStrideH: st.srcStride, srcStrideW: st.srcStride, dstStrideH: st.dstStride, dstStrideW: st.dstStride });
      }
      const expected = irfft2AdjointReference(colourSigmoidBackwardReference(g, img, cm, batch, size * size), scale, batch * 3, size, size);
      // A chain of float32 passes, each within ~1e-6 of its scale (see the component tests):
      // 1e-5 of the gradient's scale for the whole step.
      expect(relativeError(grad, expected), `seed ${seed}`).toBeLessThanOrEqual(1e-5);
      // The forward agrees too (the image the network saw).
      let t: Float64Array = img;
      pipe.steps.forEach((st, i) => {
        t = st.kind === 'reflect-pad' ? reflectPadReference(t, batch * 3, st.inSize, st.inSize, st.pad)
          : resampleReference(t, geometry[i]!, { batch, channels: 3, srcStrideH: st.srcStride, srcStrideW: st.srcStride, dstStrideH: st.dstStride, dstStrideW: st.dstStride });
      });
      const [seen] = await ctx.readback([{ buffer: net.input, byteLength: batch * 3 * s * s * 4 }]);
      expect(relativeError(seen, normalizeReference(t, batch, s * s, IMAGENET_MEAN, IMAGENET_STD)), `seed ${seed}`).toBeLessThanOrEqual(1e-5);
      pipe.dispose();
      image.dispose();
    });
  }

  it('raises every image\'s target unit, and a seed reproduces the run exactly', async () => {
    const ctx = await testContext();
    const rng = makeRng(1234);
    const outChannels = 6;
    const w = randomArray(outChannels * 3 * 9, rng);
    const channels = [0, 3, 5, 3];
    const make = (b: number, h: number, wd: number) => new TinyConvNet(ctx, w, outChannels, b, h, wd);
    const run = (seed: number) => renderVis(ctx, 'tiny', channels, make, { steps: 24, seed, jitter: 4, size: 24 });
    const a = await run(5);
    for (let i = 0; i < channels.length; i++) {
      expect(a.activationLast[i], `image ${i}`).toBeGreaterThan(a.activationFirst[i] + 1);
    }
    expect(a.images.every((v) => v >= 0 && v <= 1)).toBe(true);
    const b = await run(5);
    expect(Array.from(b.images)).toEqual(Array.from(a.images));
    const c = await run(6);
    expect(Array.from(c.images)).not.toEqual(Array.from(a.images));
  });

  it('a channel\'s image does not depend on the other channels in its batch (jitter >= 4)', async () => {
    const ctx = await testContext();
    const rng = makeRng(77);
    const w = randomArray(5 * 3 * 9, rng);
    const make = (b: number, h: number, wd: number) => new TinyConvNet(ctx, w, 5, b, h, wd);
    const pair = await renderVis(ctx, 'tiny', [1, 4], make, { steps: 6, seed: 9, jitter: 4, size: 20 });
    const alone = await renderVis(ctx, 'tiny', [4], make, { steps: 6, seed: 9, jitter: 4, size: 20 });
    const plane = 3 * 20 * 20;
    expect(Array.from(alone.images)).toEqual(Array.from(pair.images.slice(plane, 2 * plane)));
  });

  it('jitter 0 switches network input sizes with the shared scale', async () => {
    const ctx = await testContext();
    const rng = makeRng(99);
    const w = randomArray(4 * 3 * 9, rng);
    const sizes = new Set<number>();
    const make = (b: number, h: number, wd: number) => {
      sizes.add(h);
      return new TinyConvNet(ctx, w, 4, b, h, wd);
    };
    const r = await renderVis(ctx, 'tiny', [1, 2], make, { steps: 12, seed: 3, jitter: 0, size: 20 });
    expect(sizes.size).toBeGreaterThan(1);
    expect(r.activationLast[0]).toBeGreaterThan(r.activationFirst[0]);
  });
});
