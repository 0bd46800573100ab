// The Node side of the feature-visualisation benchmark (bundled to bench/.build/fv-bench.mjs by
// bench/fv.mjs; one process per adapter because the Vulkan loader reads VK_ICD_FILENAMES once):
//   node bench/.build/fv-bench.mjs --adapter lavapipe --taps layer1.1.bn2,layer4.1 --batch 64 --size 224
//        --warmup 1 --timed 3 --budget 1800 --dataset-batch 8 --out results.json
// Per tap: the real paper step (spectrum -> image -> transforms -> normalise -> forward to the tap ->
// backward -> adjoints -> Adam), one step per submission, timed one by one after the GPU finished it;
// the median of the timed steps is the measure. Then the analysis's dataset forward (every readout tap
// of the default blocks read back) in images/s. Writes the JSON as soon as each measure finishes.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, hostname } from 'node:os';
import { createNodeContext, type AdapterChoice } from '../src/gpu/node';
import { tapShape } from '../src/model/architecture';
import { BackwardPlan } from '../src/model/backward';
import { NetworkWeights } from '../src/model/gpu-weights';
import { ResNetEngine } from '../src/model/engine';
import { DEFAULT_BLOCKS, tapsNeeded } from '../src/analysis/readouts';
import { maxRenderBatch, renderVis, splitRenderBatch } from '../src/featureviz/render';
import { jitterForTap } from '../src/featureviz/transforms';
import { loadCheckpoint } from '../src/weights/load';
import { randomWeights } from '../src/weights/random';
import type { TensorMap } from '../src/weights/safetensors';
import { option } from './core/args';

const adapter = option('adapter', 'lavapipe') as AdapterChoice;
const taps = option('taps', 'layer1.1.bn2,layer4.1').split(',');
const batch = Number(option('batch', '64'));
const size = Number(option('size', '224'));
const warmup = Number(option('warmup', '1'));
const timed = Number(option('timed', '3'));
/** Seconds per tap after which no further timed step is started (a slow adapter measures fewer). */
const budget = Number(option('budget', '1800'));
const datasetBatch = Number(option('dataset-batch', '8'));
/** Largest sub-batch to time (0: the adapter's limit): a slow adapter times 8 images and multiplies. */
const maxSubBatch = Number(option('max-sub-batch', '0'));
const datasetRuns = Number(option('dataset-runs', '3'));
const weightsPath = option('weights', '../shared/data/weights/resnet18-imagenet1k-v1-partial.pth');
const outPath = option('out', 'fv-bench.json');
const log = (line: string) => process.stderr.write(`[fv-bench ${adapter}] ${line}\n`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Weights: the shared partial checkpoint where it has a tensor, seeded random weights (torchvision's
// init) for the rest (layer4, fc). Timing does not depend on the values.
let weightsNote: string;
const tensors: TensorMap = randomWeights(0);
try {
  const partial = loadCheckpoint(new Uint8Array(readFileSync(weightsPath)), weightsPath).tensors;
  for (const [name, t] of partial) tensors.set(name, t);
  weightsNote = `${weightsPath} (${partial.size} tensors) + random weights (seed 0) for the tensors it lacks`;
} catch (e) {
  weightsNote = `random weights (seed 0): ${weightsPath} unreadable (${(e as Error).message})`;
}

class StopSteps extends Error {}

const result: Record<string, unknown> = {
  kind: 'fv-bench', adapterChoice: adapter, batch, size, warmup, timedRequested: timed, budgetSeconds: budget, maxSubBatch,
  weights: weightsNote, machine: { hostname: hostname(), cpus: cpus().length, cpuModel: cpus()[0]?.model, totalMemGiB: totalmem() / 2 ** 30 },
  node: process.version, startedAt: new Date().toISOString(), loadavgStart: loadavg(), taps: [] as unknown[],
};
const save = () => writeFileSync(outPath, `${JSON.stringify(result, null, 2)}\n`);
// --resume: keep the taps an earlier run of this adapter already measured (a slow adapter's run can
// be continued in pieces); its start time and load stay as recorded.
const resume = process.argv.includes('--resume') && existsSync(outPath)
  ? JSON.parse(readFileSync(outPath, 'utf8')) as { taps?: { tap: string }[]; startedAt?: string; loadavgStart?: number[] } : null;
if (resume?.taps?.length) {
  result.taps = resume.taps;
  result.resumedFrom = { startedAt: resume.startedAt, loadavgStart: resume.loadavgStart };
}

const ctx = await createNodeContext(adapter);
result.adapter = { name: ctx.adapter.name, vendor: ctx.adapter.vendor, description: ctx.adapter.description, architecture: ctx.adapter.architecture };
result.maxStorageBufferBindingSize = ctx.device.limits.maxStorageBufferBindingSize;
log(`adapter ${ctx.adapter.name}; ${weightsNote}`);
save();

const weights = new NetworkWeights(ctx, tensors);
for (const tap of taps) {
  if ((result.taps as { tap: string }[]).some((t) => t.tap === tap)) {
    log(`${tap}: already measured (--resume)`);
    continue;
  }
  const C = tapShape(tap, 1, size, size)[1];
  // Where one storage binding cannot hold the batch (lavapipe: 128 MiB, 37 images at 224), the
  // 64-channel batch is `runs` sub-batches one after another: time one sub-batch step, multiply.
  const maxBatch = maxRenderBatch(ctx.device.limits.maxStorageBufferBindingSize, tap, size);
  const { subBatch, runs } = splitRenderBatch(batch, maxSubBatch > 0 ? Math.min(maxSubBatch, maxBatch) : maxBatch);
  const channels = Array.from({ length: subBatch }, (_, i) => i % C);
  const stamps: number[] = [];
  const loads: number[] = [];
  const start = performance.now();
  log(`${tap}: batch ${batch} at ${size} (${runs} run(s) of ${subBatch}), ${warmup} warm-up + up to ${timed} timed steps`);
  try {
    await renderVis(ctx, tap, channels, (n, h, w) => new BackwardPlan(ctx, weights, n, h, w, tap), {
      steps: warmup + timed, size, seed: 0, progressEvery: 1,
      onProgress: ({ step }) => {
        const now = performance.now();
        stamps.push(now);
        loads.push(loadavg()[0]);
        log(`${tap}: step ${step} took ${((now - (stamps[stamps.length - 2] ?? start)) / 1000).toFixed(1)} s (load ${loadavg()[0].toFixed(2)})`);
        if (step >= warmup + 1 && step < warmup + timed && (now - stamps[warmup - 1]) / 1000 > budget) throw new StopSteps();
      },
    });
  } catch (e) {
    if (!(e instanceof StopSteps)) throw e;
  }
  const stepSeconds = stamps.slice(warmup).map((t, i) => (t - stamps[warmup + i - 1]) / 1000);
  const med = median(stepSeconds);
  (result.taps as unknown[]).push({
    tap, jitter: jitterForTap(tap), channels: C, maxBatchThisAdapter: maxBatch, subBatch, runs, warmupSeconds: (stamps[warmup - 1] - start) / 1000, stepSeconds,
    timedSteps: stepSeconds.length, medianSubBatchStepSeconds: med, medianStepSeconds: med * runs, stepsPerSecond: 1 / (med * runs),
    loadavgDuring: loads,
  });
  save();
}
weights.destroy();

// The analysis's dataset forward: every readout tap of the default blocks, read back whole (what
// src/cli/analyze.ts's forwardCentres asks of the engine; host-side decoding/preprocessing excluded).
const engine = await ResNetEngine.create({ context: ctx });
engine.loadWeights(tensors);
const datasetTaps = tapsNeeded(DEFAULT_BLOCKS);
const input = { shape: [datasetBatch, 3, size, size], data: Float32Array.from({ length: datasetBatch * 3 * size * size }, (_, i) => Math.sin(i * 0.37)) };
const times: number[] = [];
for (let r = 0; r <= datasetRuns; r++) {
  const t0 = performance.now();
  await engine.forward(input, { taps: datasetTaps });
  const s = (performance.now() - t0) / 1000;
  if (r > 0) times.push(s);
  log(`dataset forward ${r === 0 ? 'warm-up' : `run ${r}`}: ${s.toFixed(2)} s for ${datasetBatch} images`);
}
result.dataset = {
  batch: datasetBatch, taps: datasetTaps, warmup: 1, runs: times.length, runSeconds: times,
  medianRunSeconds: median(times), imagesPerSecond: datasetBatch / median(times),
};
engine.dispose();
result.loadavgEnd = loadavg();
result.finishedAt = new Date().toISOString();
save();
ctx.destroy();
process.exit(0);
