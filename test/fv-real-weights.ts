// Shared by fv-real-weights-*.test.ts: feature visualisation on the partial real weights at reduced
// size and steps (the acceptance check, scaled to a CPU adapter). For each listed channel,
// the saved 8-bit image, re-measured through the forward pass, must drive the channel's centre unit
// well above its value on the starting image and above its median over 20 ImageNet samples.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { writeBuffer } from '../src/gpu/context';
import { measureCentreUnits } from '../src/featureviz/fv-node';
import { rgb8ToTensor, toRgb8 } from '../src/featureviz/png';
import { renderVis } from '../src/featureviz/render';
import { BackwardPlan } from '../src/model/backward';
import { ForwardPlan } from '../src/model/forward';
import { defaultKernels, planForward } from '../src/model/planner';
import { NetworkWeights } from '../src/model/gpu-weights';
import { preprocessFiles } from '../src/image/preprocess-node';
import { loadCheckpoint } from '../src/weights/load';
import { PARTIAL_WEIGHTS, SAMPLES, sharedMissing } from './helpers/shared';
import { testContext } from './fv-context';

// 56 x 56 (a quarter of 224 per side: layer1 is 14 x 14, layer2 7 x 7) and 16 steps keep a tap
// within seconds on an idle lavapipe; the samples are the torchvision eval tensors at 224,
// reduced by 4 x 4 block means to the same size.
export const SIZE = 56;
export const STEPS = 16;

export const missing = (): string | null => sharedMissing(PARTIAL_WEIGHTS, SAMPLES);

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** [N, 3, 224, 224] -> [N, 3, 224/f, 224/f] by f x f block means (the normalisation commutes with it). */
function blockMean(data: Float32Array, batch: number, size: number, factor: number): Float32Array {
  const out = size / factor;
  const y = new Float32Array(batch * 3 * out * out);
  for (let p = 0; p < batch * 3; p++) {
    for (let oy = 0; oy < out; oy++) {
      for (let ox = 0; ox < out; ox++) {
        let s = 0;
        for (let dy = 0; dy < factor; dy++) {
          for (let dx = 0; dx < factor; dx++) s += data[(p * size + oy * factor + dy) * size + ox * factor + dx];
        }
        y[(p * out + oy) * out + ox] = s / (factor * factor);
      }
    }
  }
  return y;
}

/** The median over 20 ImageNet samples (at SIZE) of each channel's centre unit of `tap`. */
async function sampleMedians(ctx: Awaited<ReturnType<typeof testContext>>, weights: NetworkWeights, tap: string, channels: number[]) {
  const files = readdirSync(SAMPLES).filter((f) => /\.jpe?g$/i.test(f)).sort().slice(0, 20).map((f) => join(SAMPLES, f));
  const batch = preprocessFiles(files);
  const input = blockMean(batch.tensor.data, files.length, 224, 224 / SIZE);
  const plan = new ForwardPlan(ctx, weights, planForward({
    batch: files.length, height: SIZE, width: SIZE, taps: [tap], missing: weights.missing, kernels: defaultKernels(ctx.adapter),
  }));
  writeBuffer(ctx.device, plan.input, input);
  ctx.run(plan.dispatches);
  const [values] = await ctx.readback([{ buffer: plan.outputs[0].buffer, byteLength: plan.outputs[0].byteLength }]);
  const [, c, h, w] = plan.outputs[0].shape;
  plan.dispose();
  return channels.map((ch) => median(files.map((_, n) => values[((n * c + ch) * h + (h >> 1)) * w + (w >> 1)])));
}

/**
 * Render `channels` (and `stuck`, units expected to stay dead) of `tap`, check the acceptance
 * criterion on `channels`, and that every `stuck` unit stays exactly 0.
 */
export async function checkRealWeights(tap: string, channels: number[], stuck: number[] = []): Promise<void> {
  const ctx = await testContext();
  const checkpoint = loadCheckpoint(new Uint8Array(readFileSync(PARTIAL_WEIGHTS)), 'partial', { hash: false });
  const weights = new NetworkWeights(ctx, checkpoint.tensors);
  try {
    const all = [...channels, ...stuck];
    const result = await renderVis(ctx, tap, all, (n, h, w) => new BackwardPlan(ctx, weights, n, h, w, tap),
      { steps: STEPS, size: SIZE, seed: 1 });
    // The saved probes (8-bit), back to [0, 1], measured without transforms.
    const saved = new Float32Array(result.images.length);
    all.forEach((_, n) => saved.set(rgb8ToTensor(toRgb8(result.images, n, SIZE, SIZE), SIZE, SIZE), n * 3 * SIZE * SIZE));
    const probe = await measureCentreUnits(ctx, weights, tap, saved, all, SIZE);
    // The starting image's value: the first step's readout (the initial spectrum, before any update).
    const start = result.activationFirst;
    const medians = await sampleMedians(ctx, weights, tap, all);
    const rows = all.map((c, n) => `  channel ${String(c).padStart(3)}: start ${start[n].toFixed(3)}, ` +
      `last step ${result.activationLast[n].toFixed(3)}, saved PNG ${probe[n].toFixed(3)}, sample median ${medians[n].toFixed(3)}` +
      `${stuck.includes(c) ? ' (dead at the start: zero gradient)' : ''}`);
    console.log(`${tap} (${SIZE}x${SIZE}, ${STEPS} steps, ${ctx.adapter.name}, ${(result.elapsedMs / 1000).toFixed(1)} s):\n${rows.join('\n')}`);
    channels.forEach((c, n) => {
      // "Well above": by more than the samples' typical magnitude, and at least 1.
      const margin = Math.max(1, Math.abs(medians[n]));
      expect(probe[n], `channel ${c}: saved PNG vs start`).toBeGreaterThan(start[n] + margin);
      expect(probe[n], `channel ${c}: saved PNG vs sample median`).toBeGreaterThan(medians[n] + margin);
    });
    stuck.forEach((c, i) => {
      const n = channels.length + i;
      expect([start[n], result.activationLast[n], probe[n]], `channel ${c} stays dead`).toEqual([0, 0, 0]);
    });
  } finally {
    weights.destroy();
  }
}
