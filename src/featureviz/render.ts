// Lucent's render_vis rebuilt on WebGPU, batched: N images optimised at once, image n driving the
// centre unit of channel c_n of one tap. Every step is one submission:
//
//   spectrum -> image (param.ts) -> random transforms + normalise (transforms.ts)
//     -> network forward to the tap -> seed -1 at each image's centre unit -> network backward
//     -> transforms' adjoints -> parameterisation's adjoint -> Adam on the spectrum
//
// As in Lucent: the objective of image n is minus x[n, c_n, H//2, W//2] of the tap (hence a seed
// of -1 there); the loss is read before the step's update; the returned image is image_f() after
// the last update. Each image has its own generators, seeded from (seed, channel): its initial
// spectrum and its transform draws do not depend on which other channels share the batch, so a
// channel's image is the same whatever the batch size (with j < 4, the per-step scale, which sets
// the network's input size, is drawn once per step for the batch, from the run seed).

import { type GpuContext } from '../gpu/context';
import { type AdamSettings, AdamOptimizer, LUCENT_ADAM } from '../kernels/adam';
import { unitGatherDispatch } from '../kernels/unit-gather';
import { BackwardPlan, type DifferentiableNetwork } from '../model/backward';
import type { NetworkWeights } from '../model/gpu-weights';
import { FourierImage, initialSpectra } from './param';
import { Rng, mixSeed } from './random';
import {
  type TransformConfig, TransformPipeline, drawTransformsPerImage, jitterForTap, lucentTransformConfig, networkInputSize,
} from './transforms';

/** Builds the network part for one batch and input size (BackwardPlan, or a test network). */
export type NetworkFactory = (batch: number, height: number, width: number) => DifferentiableNetwork;

export interface RenderOptions {
  /** Optimisation steps (the paper: 2560). */
  steps?: number;
  /** Seed of the spectrum initialisation and of every transform draw. */
  seed?: number;
  /** Lucent jitter j; default from the tap (METHOD.md). */
  jitter?: number;
  /** Image size (224). */
  size?: number;
  adam?: AdamSettings;
  /** Overrides of the transform lists (tests). */
  transforms?: Partial<Pick<TransformConfig, 'scales' | 'angles'>>;
  /** Called every `progressEvery` steps, after the GPU has finished them. */
  onProgress?: (p: { step: number; steps: number; elapsedMs: number }) => void;
  progressEvery?: number;
}

export interface RenderResult {
  batch: number;
  size: number;
  /** The final images, sigmoid output in [0, 1], NCHW [N, 3, size, size]. */
  images: Float32Array;
  /** Each image's target unit at step 1 (on the initial image, before any update). */
  activationFirst: Float32Array;
  /** Each image's target unit at the last step (before its update). */
  activationLast: Float32Array;
  steps: number;
  elapsedMs: number;
}

interface SizePlan {
  network: DifferentiableNetwork;
  pipeline: TransformPipeline;
  gather: ReturnType<typeof unitGatherDispatch>;
}

/**
 * Optimise one image per channel of `tap`, all in one batch. `makeNetwork` is called once per
 * network input size the transforms produce (one for jitter >= 4, up to four for j < 4).
 */
export async function renderVis(ctx: GpuContext, tap: string, channels: number[], makeNetwork: NetworkFactory,
  options: RenderOptions = {}): Promise<RenderResult> {
  const batch = channels.length;
  if (!batch) throw new Error('renderVis: no channels');
  const steps = options.steps ?? 2560;
  const size = options.size ?? 224;
  const seed = options.seed ?? 0;
  const initRngs = channels.map((c) => new Rng(mixSeed(seed, c, 1)));
  const drawRngs = channels.map((c) => new Rng(mixSeed(seed, c, 2)));
  const sharedRng = new Rng(mixSeed(seed, 3));
  const config: TransformConfig = { ...lucentTransformConfig(options.jitter ?? jitterForTap(tap), size), ...options.transforms };
  const progressEvery = options.progressEvery ?? 16;

  const image = new FourierImage(ctx, batch, size, size, initialSpectra(initRngs, size, size));
  const adam = new AdamOptimizer(ctx, image.spectrumCount, image.spectrum, image.spectrumGrad, options.adam ?? LUCENT_ADAM, 'fv adam');
  const channelBuffer = ctx.createStorageBuffer('fv target channels', Uint32Array.from(channels));
  const unitValues = ctx.acquire('fv target units', batch * 4);
  const plans = new Map<number, SizePlan>();

  const planFor = (s: number): SizePlan => {
    let p = plans.get(s);
    if (p) return p;
    const network = makeNetwork(batch, s, s);
    const [n, c, h, w] = network.targetShape;
    if (n !== batch) throw new Error(`network batch ${n} != ${batch}`);
    channels.forEach((ch) => {
      if (!Number.isInteger(ch) || ch < 0 || ch >= c) throw new Error(`channel ${ch} is out of range for '${tap}' (${c} channels)`);
    });
    // The seed: dL/d(target) = -1 at each image's own centre unit, 0 elsewhere.
    const seed = new Float32Array(n * c * h * w);
    const cy = Math.floor(h / 2);
    const cx = Math.floor(w / 2);
    channels.forEach((ch, i) => {
      seed[((i * c + ch) * h + cy) * w + cx] = -1;
    });
    ctx.device.queue.writeBuffer(network.targetGrad, 0, seed);
    const pipeline = new TransformPipeline(ctx, config, batch, s, {
      image: image.image, networkInput: network.input, networkInputGrad: network.inputGrad, imageGrad: image.imageGrad,
    });
    const gather = unitGatherDispatch(ctx, { batch, channels: c, height: h, width: w, y: cy, x: cx },
      { channels: channelBuffer, input: network.targetOutput, output: unitValues }, `fv ${tap} centre units`);
    p = { network, pipeline, gather };
    plans.set(s, p);
    return p;
  };

  const start = performance.now();
  let activationFirst: Float32Array = new Float32Array(batch);
  let activationLast: Float32Array = new Float32Array(batch);
  try {
    for (let t = 1; t <= steps; t++) {
      const draws = drawTransformsPerImage(config, drawRngs, sharedRng);
      const p = planFor(networkInputSize(config, draws[0]));
      p.pipeline.setDraws(draws);
      adam.setStep(t);
      const read = t === 1 || t === steps;
      const encoder = ctx.device.createCommandEncoder({ label: `fv step ${t}` });
      ctx.encode(encoder, [
        ...image.forward, ...p.pipeline.forward, ...p.network.forward,
        ...(read ? [p.gather] : []),
        ...p.network.backward, ...p.pipeline.backward, ...image.backward, adam.dispatch,
      ], `fv step ${t}`);
      if (read) {
        const [values] = await ctx.readback([{ buffer: unitValues, byteLength: batch * 4 }], encoder);
        if (t === 1) activationFirst = values;
        if (t === steps) activationLast = values;
      } else {
        ctx.device.queue.submit([encoder.finish()]);
      }
      if (t % progressEvery === 0 || t === steps) {
        await ctx.finish();
        options.onProgress?.({ step: t, steps, elapsedMs: performance.now() - start });
      }
    }
    // image_f() after the last update.
    ctx.run(image.forward, 'fv final image');
    const [images] = await ctx.readback([{ buffer: image.image, byteLength: image.imageCount * 4 }]);
    return { batch, size, images, activationFirst, activationLast, steps, elapsedMs: performance.now() - start };
  } finally {
    for (const p of plans.values()) {
      p.pipeline.dispose();
      p.network.dispose();
    }
    adam.dispose();
    image.dispose();
    channelBuffer.destroy();
    ctx.release(unitValues);
  }
}

/** The network factory for ResNet18 weights on the GPU: a BackwardPlan from `tap` per input size. */
export function resnetFactory(ctx: GpuContext, weights: NetworkWeights, tap: string): NetworkFactory {
  return (batch, height, width) => new BackwardPlan(ctx, weights, batch, height, width, tap);
}
