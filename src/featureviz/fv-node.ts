// Feature visualisation as the paper's probes (Node): for one tap and a list of channels, render
// batches of images with renderVis, save each as an 8-bit PNG (as the paper saved them), re-measure
// each saved PNG through the forward pass (ToTensor, Normalize, the tap's centre unit of its
// channel), and write fv.json. Node-only (node:fs); the rendering itself is browser-safe.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type GpuContext, writeBuffer } from '../gpu/context';
import { type Architecture, IMAGENET_MEAN, IMAGENET_STD, type TapName, tapShape } from '../model/architecture';
import { BackwardPlan } from '../model/backward';
import { ForwardPlan } from '../model/forward';
import { NetworkWeights } from '../model/gpu-weights';
import { defaultKernels, planForward } from '../model/planner';
import { recogniseArchitecture } from '../model/recognise';
import type { TensorMap } from '../util/tensor';
import { encodePngRgb, rgb8ToTensor, toRgb8 } from './png';
import { type RenderOptions, renderVis } from './render';
import { jitterForTap } from './transforms';

export interface FvRunOptions {
  ctx: GpuContext;
  /** The state dict (torchvision names); missing later stages are fine if the tap is computable. */
  weights: TensorMap;
  /** The member of the family the weights are; default: recognised from their names and shapes. */
  architecture?: Architecture;
  tap: TapName;
  channels: number[];
  steps?: number;
  seed?: number;
  size?: number;
  /** Channels optimised together (one image each). */
  batchSize?: number;
  /** Where the PNGs (unit<c>.png) and fv.json go; nothing is written without it. */
  outDir?: string;
  onProgress?: (p: { batchIndex: number; batches: number; step: number; steps: number; elapsedMs: number }) => void;
}

export interface FvChannelRecord {
  channel: number;
  file: string | null;
  /** Centre unit at the first step (on the initial image, with that step's random transforms). */
  activationFirst: number;
  /** Centre unit at the last step (before its update, with that step's transforms). */
  activationLast: number;
  /** Centre unit of the saved 8-bit PNG, re-normalised, without transforms. */
  activationPng: number;
}

export interface FvReport {
  tap: TapName;
  jitter: number;
  steps: number;
  seed: number;
  size: number;
  batchSize: number;
  adapter: string;
  elapsedMs: number;
  /** Optimisation steps per second, each step advancing a whole batch. */
  stepsPerSecond: number;
  channels: FvChannelRecord[];
}

/** The family member a state dict is: `architecture` if given, else recognised from its names and shapes. */
export function weightsArchitecture(tensors: TensorMap, architecture?: Architecture): Architecture {
  return architecture ?? recogniseArchitecture(new Map([...tensors].map(([name, t]) => [name, t.shape]))).architecture;
}

/** A state dict on the GPU as the family member it is (weightsArchitecture). */
export function uploadNetworkWeights(ctx: GpuContext, tensors: TensorMap, architecture?: Architecture): NetworkWeights {
  return new NetworkWeights(ctx, tensors, { architecture: weightsArchitecture(tensors, architecture) });
}

/** The centre unit of channel c_n of `tap` for each of a batch of [0, 1] images (float32 NCHW). */
export async function measureCentreUnits(ctx: GpuContext, weights: NetworkWeights, tap: TapName, images: Float32Array,
  channels: number[], size: number): Promise<Float32Array> {
  const batch = channels.length;
  const plane = size * size;
  const input = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) {
    const c = Math.floor(i / plane) % 3;
    input[i] = (images[i] - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
  }
  const arch = weights.architecture;
  const plan = new ForwardPlan(ctx, weights, planForward({
    architecture: arch, batch, height: size, width: size, taps: [tap], missing: weights.missing, kernels: defaultKernels(ctx.adapter),
  }));
  try {
    writeBuffer(ctx.device, plan.input, input);
    const encoder = ctx.device.createCommandEncoder({ label: 'fv re-measure' });
    ctx.encode(encoder, plan.dispatches, 'fv re-measure');
    const [values] = await ctx.readback([{ buffer: plan.outputs[0].buffer, byteLength: plan.outputs[0].byteLength }], encoder);
    const [, c, h, w] = tapShape(tap, batch, size, size, arch);
    return Float32Array.from(channels, (ch, n) => values[((n * c + ch) * h + (h >> 1)) * w + (w >> 1)]);
  } finally {
    plan.dispose();
  }
}

export async function runFv(o: FvRunOptions): Promise<FvReport> {
  const steps = o.steps ?? 2560;
  const seed = o.seed ?? 0;
  const size = o.size ?? 224;
  const batchSize = o.batchSize ?? 64;
  const weights = uploadNetworkWeights(o.ctx, o.weights, o.architecture);
  if (o.outDir) mkdirSync(o.outDir, { recursive: true });
  const records: FvChannelRecord[] = [];
  const batches = Math.ceil(o.channels.length / batchSize);
  let elapsedMs = 0;
  try {
    for (let b = 0; b < batches; b++) {
      const chunk = o.channels.slice(b * batchSize, (b + 1) * batchSize);
      const options: RenderOptions = {
        steps, size, seed,
        onProgress: (p) => o.onProgress?.({ batchIndex: b, batches, ...p }),
      };
      const result = await renderVis(o.ctx, o.tap, chunk,
        (n, h, w) => new BackwardPlan(o.ctx, weights, n, h, w, o.tap), options);
      elapsedMs += result.elapsedMs;
      // The saved probe: 8-bit, then back to [0, 1] for the re-measurement (as a PNG round trip).
      const saved = new Float32Array(result.images.length);
      const files: (string | null)[] = [];
      chunk.forEach((channel, n) => {
        const rgb = toRgb8(result.images, n, size, size);
        saved.set(rgb8ToTensor(rgb, size, size), n * 3 * size * size);
        let file: string | null = null;
        if (o.outDir) {
          file = `unit${channel}.png`;
          writeFileSync(join(o.outDir, file), encodePngRgb(rgb, size, size));
        }
        files.push(file);
      });
      const measured = await measureCentreUnits(o.ctx, weights, o.tap, saved, chunk, size);
      chunk.forEach((channel, n) => records.push({
        channel, file: files[n],
        activationFirst: result.activationFirst[n], activationLast: result.activationLast[n], activationPng: measured[n],
      }));
    }
  } finally {
    weights.destroy();
  }
  const report: FvReport = {
    tap: o.tap, jitter: jitterForTap(o.tap), steps, seed, size, batchSize, adapter: o.ctx.adapter.name,
    elapsedMs, stepsPerSecond: (steps * batches) / (elapsedMs / 1000), channels: records,
  };
  if (o.outDir) writeFileSync(join(o.outDir, 'fv.json'), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

/** The paper's fv probes (METHOD.md): for blocks 1.1 .. 4.1, readouts I, B, O of every channel. */
export function paperProbeTaps(): { block: string; readout: 'I' | 'B' | 'O'; tap: TapName; channels: number }[] {
  const blocks = [['layer1.1', 'layer1.0', 64], ['layer2.0', null, 128], ['layer2.1', 'layer2.0', 128], ['layer3.0', null, 256],
    ['layer3.1', 'layer3.0', 256], ['layer4.0', null, 512], ['layer4.1', 'layer4.0', 512]] as const;
  return blocks.flatMap(([b, prev, channels]) => [
    { block: b, readout: 'I' as const, tap: prev ?? `${b}.downsample.1`, channels },
    { block: b, readout: 'B' as const, tap: `${b}.bn2`, channels },
    { block: b, readout: 'O' as const, tap: b, channels },
  ]);
}

/**
 * Optimisation steps per second of renderVis for one tap and batch, after `warmup` steps (pipeline
 * creation, first submissions). A step advances the whole batch.
 */
export async function benchmarkFvSteps(ctx: GpuContext, weights: NetworkWeights, tap: TapName, batch: number,
  options: { size?: number; steps?: number; warmup?: number } = {}): Promise<{ stepsPerSecond: number; warmupSeconds: number }> {
  const warmup = options.warmup ?? 1;
  const steps = (options.steps ?? 3) + warmup;
  const stamps: number[] = [];
  const channels = Array.from({ length: batch }, (_, i) => i % tapShape(tap, 1, options.size ?? 224, options.size ?? 224, weights.architecture)[1]);
  const start = performance.now();
  await renderVis(ctx, tap, channels, (n, h, w) => new BackwardPlan(ctx, weights, n, h, w, tap), {
    steps, size: options.size ?? 224, progressEvery: 1, onProgress: () => stamps.push(performance.now()),
  });
  const timed = stamps.length - warmup;
  return {
    stepsPerSecond: timed / ((stamps[stamps.length - 1] - stamps[warmup - 1]) / 1000),
    warmupSeconds: (stamps[warmup - 1] - start) / 1000,
  };
}

/** Projected seconds for the paper's 5,568 probes at `steps` each, batches of `batch`, from per-tap rates. */
export function projectPaperProtocol(stepsPerSecond: (tap: TapName) => number, batch = 64, steps = 2560): number {
  return paperProbeTaps().reduce((sum, p) => sum + Math.ceil(p.channels / batch) * steps / stepsPerSecond(p.tap), 0);
}
