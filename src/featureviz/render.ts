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

import { type GpuContext, ReadbackSlot } from '../gpu/context';
import { type AdamSettings, AdamOptimizer, LUCENT_ADAM } from '../kernels/adam';
import { unitGatherDispatch } from '../kernels/unit-gather';
import { type Architecture, RESNET18, allTapNames } from '../model/architecture';
import { type BackwardOptions, BackwardPlan, type DifferentiableNetwork } from '../model/backward';
import type { NetworkWeights } from '../model/gpu-weights';
import { planForward, scheduleMemory } from '../model/planner';
import { FourierImage, initialSpectra } from './param';
import { Rng, mixSeed } from '../util/random';
import {
  type TransformConfig, TransformPipeline, drawTransformsPerImage, jitterForTap, lucentTransformConfig, networkInputSize,
  possibleInputSizes,
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
  /**
   * Called every `progressEvery` steps, after the GPU has finished them (awaited). `images`: with
   * `progressImages`, image_f() after that step's update, NCHW [N, 3, size, size] in [0, 1].
   */
  onProgress?: (p: { step: number; steps: number; elapsedMs: number; images?: Float32Array }) => unknown; // a promise is awaited
  progressEvery?: number;
  /** Read back the current images at each progress call (one extra readback each: live previews). */
  progressImages?: boolean;
  /** Also read the target units every this many steps (default: first and last step only). */
  objectiveEvery?: number;
  /** Each read of the target units (before that step's update); the objective is minus these. */
  onObjective?: (step: number, units: Float32Array) => void;
  /** Checked before every step: on abort the buffers are freed and renderVis rejects with the reason. */
  signal?: AbortSignal;
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
  const objectiveEvery = options.objectiveEvery ?? 0;

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

  const waitSlots = new Map<number, ReadbackSlot>();
  const slotFor = (stepsSinceWait: number): ReadbackSlot => {
    let slot = waitSlots.get(stepsSinceWait);
    if (!slot) waitSlots.set(stepsSinceWait, (slot = new ReadbackSlot()));
    return slot;
  };
  let lastWait = 0;

  const start = performance.now();
  let activationFirst: Float32Array = new Float32Array(batch);
  let activationLast: Float32Array = new Float32Array(batch);
  try {
    for (let t = 1; t <= steps; t++) {
      options.signal?.throwIfAborted();
      const draws = drawTransformsPerImage(config, drawRngs, sharedRng);
      const p = planFor(networkInputSize(config, draws[0]));
      p.pipeline.setDraws(draws);
      adam.setStep(t);
      const read = t === 1 || t === steps || (objectiveEvery > 0 && t % objectiveEvery === 0);
      const encoder = ctx.device.createCommandEncoder({ label: `fv step ${t}` });
      ctx.encode(encoder, [
        ...image.forward, ...p.pipeline.forward, ...p.network.forward,
        ...(read ? [p.gather] : []),
        ...p.network.backward, ...p.pipeline.backward, ...image.backward, adam.dispatch,
      ], `fv step ${t}`);
      const progress = t % progressEvery === 0 || t === steps;
      if (read || progress) {
        // Wait through a small readback with a ReadbackSlot rather than onSubmittedWorkDone: in Node
        // the slot sleeps through most of the expected GPU time instead of busy-polling Dawn, which
        // would take a core from a CPU adapter. One slot per number of steps since the last wait, so
        // each learns the time of the same amount of work. (Unread steps leave unitValues stale.)
        const [values] = await ctx.readback([{ buffer: unitValues, byteLength: batch * 4 }], encoder, slotFor(t - lastWait));
        lastWait = t;
        if (read) {
          if (t === 1) activationFirst = values;
          if (t === steps) activationLast = values;
          options.onObjective?.(t, values);
        }
      } else {
        ctx.device.queue.submit([encoder.finish()]);
      }
      if (progress) {
        let images: Float32Array | undefined;
        if (options.progressImages && options.onProgress) {
          ctx.run(image.forward, `fv step ${t} image`); // the next step recomputes the same image first
          [images] = await ctx.readback([{ buffer: image.image, byteLength: image.imageCount * 4 }]);
        }
        await options.onProgress?.({ step: t, steps, elapsedMs: performance.now() - start, images });
      }
    }
    // image_f() after the last update.
    ctx.run(image.forward, 'fv final image');
    const [images] = await ctx.readback([{ buffer: image.image, byteLength: image.imageCount * 4 }]);
    return { batch, size, images, activationFirst, activationLast, steps, elapsedMs: performance.now() - start };
  } finally {
    for (const slot of waitSlots.values()) slot.destroy();
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

/** The network factory for weights on the GPU (any member of the family): a BackwardPlan from `tap` per input size. */
export function resnetFactory(ctx: GpuContext, weights: NetworkWeights, tap: string, options: BackwardOptions = {}): NetworkFactory {
  return (batch, height, width) => new BackwardPlan(ctx, weights, batch, height, width, tap, options);
}

/**
 * The largest batch renderVis can run for `tap` at `size` when one storage binding may hold
 * `maxBinding` bytes: the largest buffer the forward planner makes for one image at the largest
 * network input the transforms produce (1.05 x size for j < 4), every map kept (activations and
 * their gradients are the same sizes) and the kernels whose scratch is largest, Winograd F(2x2, 3x3)
 * (lavapipe's default: 4x a 3x3 layer's map, rounded up to whole 2x2 tiles). In ResNet18 at 224 that
 * is layer1's scratch (16 x 64 x 30 x 30 floats at an input of 235, a little more than the stem's
 * 64-channel map at half the input); in a Bottleneck network layer1's 256-channel maps are as large
 * as the stem's. lavapipe's 128 MiB allows 36 images of ResNet18 at 224, so a 64-channel batch runs
 * there as two of 32.
 */
export function maxRenderBatch(maxBinding: number, tap: string, size: number, arch: Architecture = RESNET18): number {
  const input = Math.max(...possibleInputSizes(lucentTransformConfig(jitterForTap(tap), size)));
  const perImage = scheduleMemory(planForward({
    architecture: arch, batch: 1, height: input, width: input, taps: allTapNames(arch), kernels: { conv2d: 'winograd' },
  })).largest.bytes;
  return Math.max(1, Math.floor(maxBinding / perImage));
}

/** Splits `batch` channels into equal-as-possible runs that fit: [sub-batch size, number of runs]. */
export function splitRenderBatch(batch: number, max: number): { subBatch: number; runs: number } {
  const runs = Math.ceil(batch / Math.max(1, max));
  return { subBatch: Math.ceil(batch / runs), runs };
}
