// Our engine against ONNX Runtime's wasm engine (the CPU engine a user without a GPU would pick) in
// one Node process, their runs interleaved: each round runs both once, the order alternating from
// round to round, so that a machine whose speed drifts over minutes (a shared 2-core machine drifts
// by +-50%) slows both alike. The benchmark proper (npm run bench) times each engine's runs in a
// block, one engine after another, where such a drift lands on one engine only. Bundled and run by
// bench/head-to-head.mjs:
//
//   node bench/head-to-head.mjs [--adapter lavapipe] [--rounds 30] [--warmups 20] [--size 224]
//        [--conv-variant V] [--date YYYY-MM-DD] [--out bench/results] [--suffix -2]
//
// Same seeded ResNet18 weights and input as the benchmark; both engines' logits are compared with
// each other before timing. A run is what the benchmark times: upload the input, forward, read the
// logits back. ONNX Runtime runs one wasm thread (Node has no Worker for its threaded path); its
// first runs are slow while V8 tiers its code up, hence the long warm-up. Writes
// <date>-head-to-head-node-<adapter>[-V][suffix].{json,md} (a suffix keeps a repeat beside the first run).

import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { AdapterChoice } from '../../src/gpu/node';
import { compareLogits } from '../core/compare';
import { now, summarize } from '../core/stats';
import { describeDevice } from '../core/suite';
import { DEFAULT_INPUT_SEED, DEFAULT_WEIGHT_SEED, randomInput, randomResnet18Weights } from '../core/weights';
import { createOurEngine } from '../engine-adapter';
import { buildResnetOnnx } from '../peers/onnx-resnet';
import { createOrtPeer } from '../peers/ort-peer';
import { nodeSuiteEnv } from './env';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const adapter = arg('adapter', 'lavapipe') as AdapterChoice;
const rounds = Number(arg('rounds', '30'));
const warmups = Number(arg('warmups', '20'));
const size = Number(arg('size', '224'));
const convVariant = arg('conv-variant', '');
const outDir = arg('out', join('bench', 'results'));
const suffix = arg('suffix', '');
const today = new Date();
const date = arg('date', `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`);
const log = (line: string) => process.stderr.write(`${line}\n`);

/** Median, min and max of some samples (the benchmark's own summary of a measure). */
const stats = (xs: number[]) => {
  const { median, min, max } = summarize(xs, warmups);
  return { median, min, max };
};
const ms = (x: number) => x.toFixed(1);

async function main(): Promise<void> {
  const load = [loadavg()];
  const env = await nodeSuiteEnv(adapter, process.cwd(), log);
  const weights = randomResnet18Weights(DEFAULT_WEIGHT_SEED);
  const input = randomInput(DEFAULT_INPUT_SEED, 1, size, size);

  const { engine: ours } = await createOurEngine({ gpu: env.gpu, ...(convVariant ? { convVariant } : {}) }, weights);
  const ort = await env.loadOrt();
  const peer = await createOrtPeer(ort, buildResnetOnnx(weights, 1, size, size).bytes, 'wasm');
  const engines: Record<'ours' | 'ortWasm', () => Promise<Float32Array>> = {
    ours: async () => (await ours.forward(input, ['fc'])).get('fc')!.data,
    ortWasm: () => peer.predict(input),
  };
  const agreement = compareLogits(await engines.ours(), await engines.ortWasm());
  log(`logits, ours against ORT wasm: ${agreement.relError.toExponential(2)} of their scale, top-1 ${agreement.top1Agree ? 'agrees' : 'DIFFERS'}`);
  if (!agreement.ok) throw new Error('the engines disagree; nothing timed');
  const device = describeDevice(ours.device());

  const samples: Record<'ours' | 'ortWasm', number[]> = { ours: [], ortWasm: [] };
  for (let r = -warmups; r < rounds; r++) {
    const order = (['ours', 'ortWasm'] as const).slice();
    if (r % 2) order.reverse();
    const took: Record<string, number> = {};
    for (const name of order) {
      const t0 = now();
      await engines[name]();
      took[name] = now() - t0;
    }
    if (r >= 0) {
      samples.ours.push(took.ours);
      samples.ortWasm.push(took.ortWasm);
    }
    log(`${r < 0 ? `warm-up ${r + warmups + 1}/${warmups}` : `round ${r + 1}/${rounds}`}: ours ${ms(took.ours)}, ORT wasm ${ms(took.ortWasm)} ms`);
  }
  load.push(loadavg());
  ours.dispose();
  await peer.dispose();

  const ratios = samples.ours.map((x, i) => x / samples.ortWasm[i]);
  const oursStats = stats(samples.ours);
  const ortStats = stats(samples.ortWasm);
  const summary = {
    ours: oursStats,
    ortWasm: ortStats,
    ratioOfMedians: oursStats.median / ortStats.median,
    medianOfRoundRatios: stats(ratios).median,
    oursFasterRounds: ratios.filter((x) => x < 1).length,
  };
  const id = `${date}-head-to-head-node-${adapter}${convVariant ? `-${convVariant}` : ''}${suffix}`;
  const adapterLine = [device?.vendor, device?.architecture, device?.description].filter(Boolean).join(' / ') || adapter;
  const result = {
    date, adapter: adapterLine, runtime: env.userAgent, cores: env.cores, size, rounds, warmups,
    convVariant: convVariant || 'auto', loadavg: load, agreement, summary, samples,
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${id}.json`), `${JSON.stringify(result, null, 1)}\n`);
  const md = [
    `# ResNet18 batch 1, ours against ONNX Runtime wasm, interleaved: Node + Dawn / ${adapter}, ${date}`,
    '',
    `- Adapter: ${adapterLine}; our convolution kernels: ${convVariant || 'the engine\'s choice (auto)'}`,
    `- Runtime: ${env.userAgent}; ${env.cores} cores; ONNX Runtime Web wasm EP, 1 thread, SIMD`,
    `- 1-minute load average ${load[0][0].toFixed(2)} before, ${load[1][0].toFixed(2)} after`,
    `- ${rounds} rounds after ${warmups} warm-up rounds; each round runs both engines once, the order alternating`,
    `- Input ${size} x ${size}, seed ${DEFAULT_INPUT_SEED}; weights randomWeights(${DEFAULT_WEIGHT_SEED}); logits agree within ${agreement.relError.toExponential(1)} of their scale`,
    '',
    '| engine | median | min | max |',
    '|---|---:|---:|---:|',
    `| resnet-stream (ours) | ${ms(summary.ours.median)} | ${ms(summary.ours.min)} | ${ms(summary.ours.max)} |`,
    `| ONNX Runtime Web wasm (1 thread) | ${ms(summary.ortWasm.median)} | ${ms(summary.ortWasm.min)} | ${ms(summary.ortWasm.max)} |`,
    '',
    `Ours / ORT wasm: ${summary.ratioOfMedians.toFixed(3)} (medians); the median of the per-round ratios ${summary.medianOfRoundRatios.toFixed(3)}; ` +
      `ours faster in ${summary.oursFasterRounds} of ${rounds} rounds. Every sample: \`${id}.json\`.`,
    '',
  ].join('\n');
  writeFileSync(join(outDir, `${id}.md`), md);
  log(md);
}

main().then(() => process.exit(0), (e) => {
  log(`head-to-head: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
