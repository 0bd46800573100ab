// The ResNet family on one adapter (bundled by bench/build.mjs --device to
// bench/.build/device/family-bench.mjs): batch-1 latency at 224 x 224 of our engine for each
// architecture named, logits read back, the median of timed runs after warm-ups, plus the
// convolution kernel each plan used. Weights are seeded hash weights (test/reference/family-weights.ts:
// timing does not depend on the values). Peers are not run here: for a member beside tfjs and ONNX
// Runtime on the same weights, run the benchmark with --arch (bench/README.md).
//   node family-bench.mjs --adapter gpu --archs resnet50,resnext50_32x4d --runs 20 --warmups 3 --out results.json

import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { type AdapterChoice, createNodeContext } from '../src/gpu/node';
import { ResNetEngine } from '../src/model/engine';
import { familyWeights, hashInput } from '../test/reference/family-weights';
import type { FamilyArchName } from '../test/reference/family';
import { option } from './core/args';

const adapter = option('adapter', 'default') as AdapterChoice;
const archs = option('archs', 'resnet18,resnet50').split(',') as FamilyArchName[];
const runs = Number(option('runs', '20'));
const warmups = Number(option('warmups', '3'));
const size = Number(option('size', '224'));
const out = option('out', 'family-bench.json');
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

const ctx = await createNodeContext(adapter);
const result: Record<string, unknown> = {
  kind: 'family-bench', adapter: ctx.adapter, origin: ctx.origin, size, runs, warmups,
  cpus: cpus().length, cpuModel: cpus()[0]?.model, loadavgStart: loadavg(), node: process.version, date: new Date().toISOString(), archs: [] as unknown[],
};
const input = hashInput(7, 'input', [1, 3, size, size]);
for (const arch of archs) {
  const engine = await ResNetEngine.create({ context: ctx });
  try {
    const t0 = performance.now();
    engine.loadWeights(familyWeights(arch, 1));
    await ctx.device.queue.onSubmittedWorkDone();
    const loadMs = performance.now() - t0;
    const plan = engine.plan(1, size, size, ['fc']);
    const kernels = [...new Set(plan.dispatches.map((d) => d.pipeline.label.split(' ')[0]))];
    const times: number[] = [];
    for (let i = 0; i < warmups + runs; i++) {
      const s = performance.now();
      await engine.forward(input, { taps: ['fc'] });
      if (i >= warmups) times.push(performance.now() - s);
    }
    const entry = { arch, loadMs, weightBytes: engine.weightBytes, dispatches: plan.dispatches.length, kernels, medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times), n: times.length };
    (result.archs as unknown[]).push(entry);
    process.stderr.write(`[family-bench] ${arch}: median ${entry.medianMs.toFixed(2)} ms (min ${entry.minMs.toFixed(2)}, max ${entry.maxMs.toFixed(2)}, n=${runs}); ${entry.dispatches} dispatches; weights ${(entry.weightBytes / 2 ** 20).toFixed(0)} MiB\n`);
  } finally {
    engine.dispose();
  }
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
}
result.loadavgEnd = loadavg();
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
process.exit(0);
