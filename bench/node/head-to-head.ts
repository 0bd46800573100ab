// Our engine against ONNX Runtime's wasm engine (the CPU engine a user without a GPU would pick) in
// one Node process, their runs interleaved: each round runs both once, in the orders AB, BA, BA, AB
// in turn, so that a machine whose speed drifts over minutes (a shared 2-core machine drifts
// by +-50%) slows both alike. The benchmark proper (npm run bench) times each engine's runs in a
// block, one engine after another, where such a drift lands on one engine only. Bundled and run by
// bench/head-to-head.mjs:
//
//   node bench/head-to-head.mjs [--adapter lavapipe] [--rounds 30] [--warmups 20] [--size 224]
//        [--conv-variant V] [--without-subgroups] [--date YYYY-MM-DD] [--out bench/results] [--suffix -2]
//
// --without-subgroups adds a third engine to every round: ours on the same adapter with the
// 'subgroups' feature withheld (bench/core/withhold.ts), the kernels a page gets in Chromium's
// compatibility mode, which offers no subgroups. It separates what that mode costs through the
// missing feature from what it costs through the browser (its GL translation, its readback).
//
// Same seeded ResNet18 weights and input as the benchmark; both engines' logits are compared with
// each other before timing. A run is what the benchmark times: upload the input, forward, read the
// logits back. ONNX Runtime runs one wasm thread (Node has no Worker for its threaded path); its
// first runs are slow while V8 tiers its code up, hence the long warm-up. Writes
// <date>-head-to-head-node-<adapter>[-V][-without-subgroups][suffix].{json,md} (a suffix keeps a
// repeat beside the first run).

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
import { withholdFeatures } from '../core/withhold';
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
const withoutSubgroups = process.argv.includes('--without-subgroups');
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

type EngineName = 'ours' | 'ortWasm' | 'oursWithoutSubgroups';
const LABELS: Record<EngineName, string> = {
  ours: 'resnet-stream (ours)',
  ortWasm: 'ONNX Runtime Web wasm (1 thread)',
  oursWithoutSubgroups: "resnet-stream (ours), 'subgroups' withheld",
};

/**
 * The order of round r: the engines rotated by r, and reversed in every other run of n rounds, so
 * that n! rounds run every order once (two engines: AB, BA, BA, AB, ...; three: all six).
 */
function roundOrder(names: EngineName[], r: number): EngineName[] {
  const n = names.length;
  const k = ((r % n) + n) % n;
  const rotated = [...names.slice(k), ...names.slice(0, k)];
  return Math.floor(r / n) % 2 ? rotated.reverse() : rotated;
}

async function main(): Promise<void> {
  const load = [loadavg()];
  const env = await nodeSuiteEnv(adapter, process.cwd(), log);
  const weights = randomResnet18Weights(DEFAULT_WEIGHT_SEED);
  const input = randomInput(DEFAULT_INPUT_SEED, 1, size, size);

  const variant = convVariant ? { convVariant } : {};
  const { engine: ours } = await createOurEngine({ gpu: env.gpu, ...variant }, weights);
  const plain = withoutSubgroups
    ? (await createOurEngine({ gpu: withholdFeatures(env.gpu!, ['subgroups']), ...variant }, weights)).engine
    : null;
  if (plain?.device()?.features.has('subgroups')) throw new Error("the withheld engine's device has 'subgroups'");
  const ort = await env.loadOrt();
  const peer = await createOrtPeer(ort, buildResnetOnnx(weights, 1, size, size).bytes, 'wasm');
  const engines: Partial<Record<EngineName, () => Promise<Float32Array>>> = {
    ours: async () => (await ours.forward(input, ['fc'])).get('fc')!.data,
    ortWasm: () => peer.predict(input),
  };
  if (plain) engines.oursWithoutSubgroups = async () => (await plain.forward(input, ['fc'])).get('fc')!.data;
  const names = Object.keys(engines) as EngineName[];
  const ortLogits = await engines.ortWasm!();
  const agreement = compareLogits(await engines.ours!(), ortLogits);
  log(`logits, ours against ORT wasm: ${agreement.relError.toExponential(2)} of their scale, top-1 ${agreement.top1Agree ? 'agrees' : 'DIFFERS'}`);
  const plainAgreement = plain ? compareLogits(await engines.oursWithoutSubgroups!(), ortLogits) : null;
  if (plainAgreement) log(`logits, ours without subgroups against ORT wasm: ${plainAgreement.relError.toExponential(2)} of their scale`);
  if (!agreement.ok || (plainAgreement && !plainAgreement.ok)) throw new Error('the engines disagree; nothing timed');
  const device = describeDevice(ours.device());

  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<EngineName, number[]>;
  for (let r = -warmups; r < rounds; r++) {
    const took: Partial<Record<EngineName, number>> = {};
    for (const name of roundOrder(names, r)) {
      const t0 = now();
      await engines[name]!();
      took[name] = now() - t0;
    }
    if (r >= 0) for (const name of names) samples[name].push(took[name]!);
    log(`${r < 0 ? `warm-up ${r + warmups + 1}/${warmups}` : `round ${r + 1}/${rounds}`}: ` +
      names.map((name) => `${LABELS[name]} ${ms(took[name]!)}`).join(', ') + ' ms');
  }
  load.push(loadavg());
  ours.dispose();
  plain?.dispose();
  await peer.dispose();

  const perRound = (a: number[], b: number[]) => a.map((x, i) => x / b[i]);
  const ratios = perRound(samples.ours, samples.ortWasm);
  const oursStats = stats(samples.ours);
  const ortStats = stats(samples.ortWasm);
  const summary = {
    ours: oursStats,
    ortWasm: ortStats,
    ratioOfMedians: oursStats.median / ortStats.median,
    medianOfRoundRatios: stats(ratios).median,
    oursFasterRounds: ratios.filter((x) => x < 1).length,
    ...(plain ? {
      oursWithoutSubgroups: stats(samples.oursWithoutSubgroups),
      /** Per round: ours without subgroups / ours; and / ORT wasm. */
      withoutSubgroupsOverOurs: stats(perRound(samples.oursWithoutSubgroups, samples.ours)).median,
      withoutSubgroupsOverOrtWasm: stats(perRound(samples.oursWithoutSubgroups, samples.ortWasm)).median,
    } : {}),
  };
  const id = `${date}-head-to-head-node-${adapter}${convVariant ? `-${convVariant}` : ''}${plain ? '-without-subgroups' : ''}${suffix}`;
  const adapterLine = [device?.vendor, device?.architecture, device?.description].filter(Boolean).join(' / ') || adapter;
  const result = {
    date, adapter: adapterLine, runtime: env.userAgent, cores: env.cores, size, rounds, warmups,
    convVariant: convVariant || 'auto', loadavg: load, agreement, ...(plainAgreement ? { plainAgreement } : {}), summary, samples,
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${id}.json`), `${JSON.stringify(result, null, 1)}\n`);
  const row = (name: EngineName) => {
    const s = stats(samples[name]);
    return `| ${LABELS[name]} | ${ms(s.median)} | ${ms(s.min)} | ${ms(s.max)} |`;
  };
  const md = [
    `# ResNet18 batch 1, ours against ONNX Runtime wasm, interleaved: Node + Dawn / ${adapter}, ${date}`,
    '',
    `- Adapter: ${adapterLine}; our convolution kernels: ${convVariant || 'the engine\'s choice (auto)'}`,
    `- Runtime: ${env.userAgent}; ${env.cores} cores; ONNX Runtime Web wasm EP, 1 thread, SIMD`,
    `- 1-minute load average ${load[0][0].toFixed(2)} before, ${load[1][0].toFixed(2)} after`,
    `- ${rounds} rounds after ${warmups} warm-up rounds; each round runs ${plain ? 'every engine' : 'both engines'} once, ` +
      'every order of them in turn',
    `- Input ${size} x ${size}, seed ${DEFAULT_INPUT_SEED}; weights randomWeights(${DEFAULT_WEIGHT_SEED}); logits agree within ${agreement.relError.toExponential(1)} of their scale` +
      (plainAgreement ? ` (without subgroups: ${plainAgreement.relError.toExponential(1)})` : ''),
    '',
    '| engine | median | min | max |',
    '|---|---:|---:|---:|',
    ...names.map(row),
    '',
    `Ours / ORT wasm: ${summary.ratioOfMedians.toFixed(3)} (medians); the median of the per-round ratios ${summary.medianOfRoundRatios.toFixed(3)}; ` +
      `ours faster in ${summary.oursFasterRounds} of ${rounds} rounds.` +
      (plain ? ` Without subgroups, per round: ${summary.withoutSubgroupsOverOurs!.toFixed(3)}x ours with them, ` +
        `${summary.withoutSubgroupsOverOrtWasm!.toFixed(3)}x ORT wasm (medians of the per-round ratios).` : '') +
      ` Every sample: \`${id}.json\`.`,
    '',
  ].join('\n');
  writeFileSync(join(outDir, `${id}.md`), md);
  log(md);
}

main().then(() => process.exit(0), (e) => {
  log(`head-to-head: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
