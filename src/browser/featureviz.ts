// Feature visualisation for a web page: visualiseChannels(engine, { tap, channels, ... }) runs
// renderVis (src/featureviz/render.ts, the same loop the `fv` CLI runs) on the engine's own device
// and weights with the paper's settings (METHOD.md "Probes": Lucent's Fourier parameterisation and
// colour decorrelation, the per-layer jitter and transforms, Adam lr 0.05), reads the objective back
// every step and the images every few steps, so a page can draw the optimisation live, and stops
// between steps when its AbortSignal fires. Every step awaits a readback, so the page's event loop
// runs between steps. Browser-safe: no Node imports on this path.

import { RESNET18, type TapName } from '../model/architecture';
import { savedTaps } from '../model/backward';
import { type ResNetEngine } from '../model/engine';
import { MissingWeightsError } from '../model/planner';
import { toRgb8 } from '../featureviz/png';
import { renderVis } from '../featureviz/render';
import { jitterForTap } from '../featureviz/transforms';

/** One channel's image as 8-bit RGBA (the layout of ImageData: `new ImageData(data, width, height)`). */
export interface ChannelImage {
  channel: number;
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

export interface VisualiseProgress {
  /** Steps done (1-based) of `steps`. */
  step: number;
  steps: number;
  elapsedMs: number;
  /** Steps per second so far (each step advances every channel's image). */
  stepsPerSecond: number;
  /** Each channel's objective at this step: minus its centre unit, read before the step's update. */
  objective: Float32Array;
  /** The images after this step's update, every `previewEvery` steps and at the last step. */
  images?: ChannelImage[];
}

export interface VisualiseOptions {
  /** The tap whose centre units are maximised (METHOD.md names of the loaded network: conv1 .. its last block, avgpool). */
  tap: TapName;
  /** One image per channel, optimised together in one batch. */
  channels: number[];
  /** Optimisation steps (the paper: 2560; a CPU adapter manages tens per minute at 64 px). */
  steps?: number;
  /** Image size in pixels (the paper: 224). */
  size?: number;
  /** Seed of the initial spectrum and of every transform draw (same seed, same images as the CLI). */
  seed?: number;
  /** Lucent's jitter j; default the paper's for the tap (0, 4 or 16). */
  jitter?: number;
  /** Read the images back every this many steps for onStep (default 8). */
  previewEvery?: number;
  /** Called after every step; at preview steps (with images) a returned promise is awaited. */
  onStep?: (p: VisualiseProgress) => void | Promise<void>;
  /** Stops the optimisation between steps; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface VisualiseResult {
  tap: TapName;
  channels: number[];
  size: number;
  steps: number;
  seed: number;
  jitter: number;
  /** The final images (sigmoid output, 8-bit as the paper saves them), one per channel. */
  images: ChannelImage[];
  /** The final images as floats in [0, 1], NCHW [N, 3, size, size]. */
  pixels: Float32Array;
  /** objective[n][t - 1]: channel n's objective (minus its centre unit) at step t. */
  objective: Float32Array[];
  elapsedMs: number;
  stepsPerSecond: number;
}

/** The paper's settings (METHOD.md): 224 px, 2560 steps, Adam lr 0.05, jitter by layer. */
export const PAPER_FV = { size: 224, steps: 2560, lr: 0.05 } as const;

/**
 * Whether `tap` can be visualised with the engine's weights: the backward reads the tap and the
 * activations before it, so every one of them must be computable. Returns null, or why not.
 */
export function visualisable(engine: ResNetEngine, tap: TapName): string | null {
  const e = visualiseError(engine, tap);
  return e ? e.message : null;
}

function visualiseError(engine: ResNetEngine, tap: TapName): Error | null {
  const arch = engine.architecture;
  if (tap === 'input' || tap === 'fc') {
    return new Error(`'${tap}' cannot be visualised (targets: conv1 .. ${arch.blocks[arch.blocks.length - 1].name} and avgpool)`);
  }
  let needed: TapName[];
  try {
    needed = savedTaps(tap, arch); // also rejects names that are not taps of the loaded network
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
  const reach = engine.computability();
  const computable = new Set(reach.computable);
  return needed.some((t) => !computable.has(t)) ? new MissingWeightsError([tap], reach.missingTensors, reach.lastComputable) : null;
}

/** 8-bit RGBA of image n of an NCHW [N, 3, size, size] batch in [0, 1] (Lucent's truncation to 8 bits). */
export function toChannelImage(pixels: Float32Array, n: number, channel: number, size: number): ChannelImage {
  const rgb = toRgb8(pixels, n, size, size);
  const data = new Uint8ClampedArray(size * size * 4);
  for (let i = 0; i < size * size; i++) {
    data[i * 4] = rgb[i * 3];
    data[i * 4 + 1] = rgb[i * 3 + 1];
    data[i * 4 + 2] = rgb[i * 3 + 2];
    data[i * 4 + 3] = 255;
  }
  return { channel, width: size, height: size, data };
}

/** An ImageData of a channel image (browsers; ImageData is not a Node global). */
export function toImageData(image: ChannelImage): ImageData {
  return new ImageData(new Uint8ClampedArray(image.data), image.width, image.height);
}

/**
 * Optimise one image per channel of `tap` to maximise its centre unit (Lucent's render_vis with the
 * paper's settings), reporting every step. Throws MissingWeightsError where the weights cannot reach
 * the tap, and the signal's reason when aborted.
 */
export async function visualiseChannels(engine: ResNetEngine, options: VisualiseOptions): Promise<VisualiseResult> {
  const { tap, channels } = options;
  const steps = options.steps ?? PAPER_FV.steps;
  const size = options.size ?? PAPER_FV.size;
  const seed = options.seed ?? 0;
  const jitter = options.jitter ?? jitterForTap(tap);
  const previewEvery = Math.max(1, Math.floor(options.previewEvery ?? 8));
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`visualiseChannels: steps must be a positive integer, got ${steps}`);
  if (!Number.isInteger(size) || size < 32 || size > 512) throw new Error(`visualiseChannels: size must be an integer in 32..512, got ${size}`);
  if (!channels.length) throw new Error('visualiseChannels: no channels');
  options.signal?.throwIfAborted();
  const error = visualiseError(engine, tap);
  if (error) throw error;
  const ctx = engine.ctx;
  const objective = channels.map(() => new Float32Array(steps));
  const start = performance.now();
  let pending: VisualiseProgress | null = null;
  const progress = (step: number, units: Float32Array): VisualiseProgress => {
    const elapsedMs = performance.now() - start;
    const value = Float32Array.from(units, (u) => -u);
    value.forEach((v, n) => { objective[n][step - 1] = v; });
    return { step, steps, elapsedMs, stepsPerSecond: step / (elapsedMs / 1000), objective: value };
  };
  const result = await renderVis(ctx, tap, channels, (n, h, w) => engine.backwardPlan(n, h, w, tap), {
    steps, size, seed, jitter,
    signal: options.signal,
    objectiveEvery: 1,
    progressEvery: previewEvery,
    progressImages: !!options.onStep,
    onObjective: (step, units) => {
      const p = progress(step, units);
      // Steps with a preview are reported from onProgress, once the images are back.
      if (step % previewEvery === 0 || step === steps) pending = p;
      else void options.onStep?.(p);
    },
    onProgress: async ({ step, images }) => {
      const p = pending;
      pending = null;
      if (!p || p.step !== step || !options.onStep) return;
      if (images) p.images = channels.map((c, n) => toChannelImage(images, n, c, size));
      await options.onStep(p);
    },
  });
  return {
    tap, channels: [...channels], size, steps, seed, jitter,
    images: channels.map((c, n) => toChannelImage(result.images, n, c, size)),
    pixels: result.images,
    objective,
    elapsedMs: result.elapsedMs,
    stepsPerSecond: steps / (result.elapsedMs / 1000),
  };
}
