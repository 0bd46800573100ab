// Our engine against ONNX Runtime's wasm engine (the CPU engine a user without a GPU would pick),
// their runs interleaved round by round (bench/core/head-to-head.ts: every order of the engines in
// turn, so that a machine whose speed drifts slows them alike), in this Node process or, with
// --browser, in one page of headless Chromium (lavapipe in compatibility mode, SwiftShader in core;
// ORT then runs two wasm threads). Bundled and run by bench/head-to-head.mjs:
//
//   node bench/head-to-head.mjs [--adapter lavapipe] [--rounds 30] [--warmups 20] [--size 224]
//        [--conv-variant V] [--without-subgroups] [--browser] [--date YYYY-MM-DD] [--out bench/results] [--suffix -2]
//
// --without-subgroups adds a third engine to every round: ours on the same adapter with the
// 'subgroups' feature withheld (bench/core/withhold.ts), the kernels a page gets in Chromium's
// compatibility mode, which offers no subgroups. It separates what that mode costs through the
// missing feature from what it costs through the browser (its GL translation, its readback);
// --browser measures the mode itself.
//
// ONNX Runtime runs one wasm thread in Node (Node has no Worker for its threaded path); its first
// runs are slow while V8 tiers its code up, hence the long warm-up. Writes
// <date>-head-to-head-{node,chromium}-<adapter>[-V][-without-subgroups][suffix].{json,md} (a suffix
// keeps a repeat beside the first run).

import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { AdapterChoice } from '../../src/gpu/node';
import type { BrowserAdapter } from '../../test/helpers/browser';
import { type EngineName, type HeadToHeadRun, engineLabels, runHeadToHead } from '../core/head-to-head';
import { inProbePage } from '../core/page-probe';
import { summarize } from '../core/stats';
import { DEFAULT_INPUT_SEED, DEFAULT_WEIGHT_SEED } from '../core/weights';
import { nodeSuiteEnv } from './env';
import { flag, option } from '../core/args';

const adapter = option('adapter', 'lavapipe') as AdapterChoice;
const options = {
  rounds: Number(option('rounds', '30')),
  warmups: Number(option('warmups', '20')),
  size: Number(option('size', '224')),
  convVariant: option('conv-variant', ''),
  withoutSubgroups: flag('without-subgroups'),
};
const browser = flag('browser');
const outDir = option('out', join('bench', 'results'));
const suffix = option('suffix', '');
const today = new Date();
const date = option('date', `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`);
const log = (line: string) => process.stderr.write(`${line}\n`);

/** Median, min and max of some samples (the benchmark's own summary of a measure). */
const stats = (xs: number[]) => {
  const { median, min, max } = summarize(xs, options.warmups);
  return { median, min, max };
};
const ms = (x: number) => x.toFixed(1);

/** The rounds, here or in a page; the runtime's line and cores. */
async function rounds(): Promise<HeadToHeadRun & { runtime: string; cores: number; where: string }> {
  if (browser) {
    const featureLevel = adapter === 'lavapipe' ? 'compatibility' : 'core';
    const { browser: how, result } = await inProbePage<HeadToHeadRun & { userAgent: string; cores: number }>(
      adapter as BrowserAdapter, 'head-to-head', 'headToHead', options);
    return { ...result, runtime: result.userAgent, cores: result.cores, where: `Chromium (${how}; feature level ${featureLevel})` };
  }
  const env = await nodeSuiteEnv(adapter, process.cwd(), log);
  const run = await runHeadToHead(env, options);
  return { ...run, runtime: env.userAgent, cores: env.cores, where: 'Node + Dawn' };
}

async function main(): Promise<void> {
  const load = [loadavg()];
  const run = await rounds();
  load.push(loadavg());
  const { names, agreement, plainAgreement, device } = run;
  const samples = run.samples as Record<EngineName, number[]>;
  const label = engineLabels(run.ortThreads);
  const { convVariant, rounds: n, warmups, size } = options;

  const perRound = (a: number[], b: number[]) => a.map((x, i) => x / b[i]);
  const ratios = perRound(samples.ours, samples.ortWasm);
  const oursStats = stats(samples.ours);
  const ortStats = stats(samples.ortWasm);
  const plain = samples.oursWithoutSubgroups !== undefined;
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
  const id = `${date}-head-to-head-${browser ? 'chromium' : 'node'}-${adapter}${convVariant ? `-${convVariant}` : ''}${plain ? '-without-subgroups' : ''}${suffix}`;
  const adapterLine = [device?.vendor, device?.architecture, device?.description].filter(Boolean).join(' / ') ||
    (browser && adapter === 'lavapipe' ? 'lavapipe (compatibility mode: adapter info empty)' : adapter);
  const result = {
    date, where: run.where, adapter: adapterLine, runtime: run.runtime, cores: run.cores, size, rounds: n, warmups, ortThreads: run.ortThreads,
    convVariant: convVariant || 'auto', loadavg: load, agreement, ...(plainAgreement ? { plainAgreement } : {}), summary, samples,
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${id}.json`), `${JSON.stringify(result, null, 1)}\n`);
  const row = (name: EngineName) => {
    const s = stats(samples[name]);
    return `| ${label[name]} | ${ms(s.median)} | ${ms(s.min)} | ${ms(s.max)} |`;
  };
  const md = [
    `# ResNet18 batch 1, ours against ONNX Runtime wasm, interleaved: ${browser ? 'Chromium' : 'Node + Dawn'} / ${adapter}, ${date}`,
    '',
    `- Where: ${run.where}`,
    `- Adapter: ${adapterLine}; our convolution kernels: ${convVariant || 'the engine\'s choice (auto)'}`,
    `- Runtime: ${run.runtime}; ${run.cores} cores; ONNX Runtime Web wasm EP, ${run.ortThreads} thread${run.ortThreads === 1 ? '' : 's'}, SIMD`,
    `- 1-minute load average ${load[0][0].toFixed(2)} before, ${load[1][0].toFixed(2)} after`,
    `- ${n} rounds after ${warmups} warm-up rounds; each round runs ${plain ? 'every engine' : 'both engines'} once, ` +
      'every order of them in turn',
    `- Input ${size} x ${size}, seed ${DEFAULT_INPUT_SEED}; weights randomWeights(${DEFAULT_WEIGHT_SEED}); logits agree within ${agreement.relError.toExponential(1)} of their scale` +
      (plainAgreement ? ` (without subgroups: ${plainAgreement.relError.toExponential(1)})` : ''),
    '',
    '| engine | median | min | max |',
    '|---|---:|---:|---:|',
    ...names.map(row),
    '',
    `Ours / ORT wasm: ${summary.ratioOfMedians.toFixed(3)} (medians); the median of the per-round ratios ${summary.medianOfRoundRatios.toFixed(3)}; ` +
      `ours faster in ${summary.oursFasterRounds} of ${n} rounds.` +
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
