#!/usr/bin/env node
// `npm run bench:fv` (also the last part of `npm run bench`): feature-visualisation optimisation steps/s
// for a 64-channel batch at 224 per adapter, the projected time of the paper's full fv protocol
// (5,568 probes x 2560 steps, 64 per batch per tap), and the analysis's dataset-probe throughput.
//
//   node bench/fv.mjs [--adapters lavapipe,swiftshader] [--taps layer1.1.bn2,layer4.1] [--batch 64]
//                     [--size 224] [--warmup 1] [--timed 3] [--budget 1800] [--dataset-batch 8] [--dataset-runs 3] [--max-sub-batch N]
//                     [--date YYYY-MM-DD] [--report-only] [--resume] [--out-dir bench/results]
// --resume keeps the taps already in today's JSON of an adapter and measures the rest.
//
// Writes bench/results/<date>-fv-node-<adapter>.json/.md and <date>-fv-summary.md. The projection
// interpolates per-tap step times linearly in the convolution work (MACs) from the input to the tap,
// through the measured taps (cost depends on depth; every tap of paperProbeTaps gets its own estimate).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

export function parseFvArgs(argv) {
  const o = {
    adapters: 'lavapipe,swiftshader', taps: 'layer1.1.bn2,layer4.1', batch: '64', size: '224', warmup: '1', timed: '3',
    budget: '1800', 'dataset-batch': '8', 'dataset-runs': '3', 'max-sub-batch': '0', date: new Date().toISOString().slice(0, 10), 'out-dir': 'bench/results',
  };
  const flags = new Set();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`bench/fv.mjs: unexpected argument '${a}'`);
    const key = a.slice(2);
    if (key === 'report-only' || key === 'help' || key === 'resume') flags.add(key);
    else if (key in o && argv[i + 1] !== undefined) o[key] = argv[++i];
    else throw new Error(`bench/fv.mjs: unknown option '${a}' (see the header of bench/fv.mjs)`);
  }
  return { o, flags };
}

async function buildFv() {
  const outDir = join(root, 'bench', '.build');
  mkdirSync(outDir, { recursive: true });
  const common = { bundle: true, loader: { '.wgsl': 'text' }, target: 'es2022', logLevel: 'silent', absWorkingDir: root, format: 'esm', platform: 'node', packages: 'external' };
  await esbuild.build({ ...common, entryPoints: [join(root, 'bench', 'fv-node.ts')], outfile: join(outDir, 'fv-bench.mjs') });
  await esbuild.build({ ...common, entryPoints: [join(root, 'bench', 'fv-project.ts')], outfile: join(outDir, 'fv-project.mjs') });
}

/** Seconds with 3 significant digits (GPU steps are milliseconds, CPU steps tens of seconds). */
const sec = (s) => (s >= 100 ? s.toFixed(0) : s.toPrecision(3));
const fmtDuration = (s) => (s >= 86400 ? `${(s / 86400).toFixed(1)} days` : `${(s / 3600).toFixed(1)} h`);

function writeReports(o, project) {
  const dir = resolve(root, o['out-dir']);
  const files = readdirSync(dir).filter((f) => f.startsWith(`${o.date}-fv-`) && f.endsWith('.json')).sort();
  const rows = [];
  for (const f of files) {
    const r = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    if (r.kind !== 'fv-bench') continue;
    const config = f.slice(o.date.length + 4, -5);
    const measured = Object.fromEntries(r.taps.filter((t) => t.timedSteps > 0).map((t) => [t.tap, t.medianStepSeconds]));
    const proj = Object.keys(measured).length ? project(measured, r.batch, r.size) : null;
    r.projection = proj;
    writeFileSync(join(dir, f), `${JSON.stringify(r, null, 2)}\n`);
    const lines = [
      `# Feature visualisation benchmark: ${config}, ${o.date}`, '',
      `Adapter: **${r.adapter?.name ?? '?'}** (${r.adapter?.description || r.adapter?.vendor || 'no description'}), Node ${r.node}, ` +
      `${r.machine.cpus} cores (${r.machine.cpuModel}), ${r.machine.totalMemGiB.toFixed(0)} GiB. Load average (1 min) at start ` +
      `${r.loadavgStart[0].toFixed(2)}, at end ${r.loadavgEnd?.[0]?.toFixed(2) ?? '?'} (other work on the machine slows every step alike).`, '',
      `Weights: ${r.weights}. Timing does not depend on the values.`, '',
      ...(r.resumedFrom ? [`Measured in pieces (--resume): taps measured by an earlier process of ${r.resumedFrom.startedAt} ` +
        `(load at its start ${r.resumedFrom.loadavgStart?.[0]?.toFixed(2) ?? '?'}) were kept; the rest and the dataset forward ran from ${r.startedAt}.`, ''] : []),
      `A step is the paper's: spectrum -> image -> Lucent transforms -> normalise -> forward to the tap -> seed at each image's centre unit`,
      `-> backward -> adjoints -> Adam, for a batch of ${r.batch} images (one channel each) at ${r.size} x ${r.size}, one submission, timed`,
      `after the GPU finished it. ${r.warmup} warm-up step (pipeline and plan creation), then up to ${r.timedRequested} timed steps ` +
      `(a step is not started past ${r.budgetSeconds} s of timed steps); the measure is the median.`, '',
      '| tap | jitter | batch as run | warm-up step (s) | timed steps | step times (s) | median step (s) | steps/s | load (1 min) during |',
      '|---|---|---|---|---|---|---|---|---|',
      ...r.taps.map((t) => `| ${t.tap} | ${t.jitter} | ${t.runs > 1 ? `${t.runs} x ${t.subBatch}` : t.subBatch} | ${sec(t.warmupSeconds)} | ${t.timedSteps} | ${t.stepSeconds.map(sec).join(', ')} | ${sec(t.medianStepSeconds)} | ${t.stepsPerSecond.toFixed(4)} | ${Math.min(...t.loadavgDuring).toFixed(1)}-${Math.max(...t.loadavgDuring).toFixed(1)} |`),
      '',
      ...(r.taps.some((t) => t.runs > 1) ? [`The adapter's storage-binding limit (${(r.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB) holds at most ` +
        `${r.taps.map((t) => `${t.maxBatchThisAdapter} (${t.tap})`).join(', ')} images at ${r.size}` +
        `${r.maxSubBatch > 0 || r.taps.some((t) => t.subBatch < Math.min(r.batch, t.maxBatchThisAdapter)) ? '; smaller sub-batches than that were timed where a full batch step is too slow here to time at all (--max-sub-batch; column "batch as run")' : ''}: ` +
        `a ${r.batch}-channel batch runs as the sub-batches shown, ` +
        'one after another; the step times listed are one sub-batch\'s, the median step and steps/s are the whole batch\'s (sub-batch median x runs).', ''] : []),
    ];
    if (r.dataset) {
      lines.push(`Dataset-probe throughput (the analysis's forward: batch ${r.dataset.batch}, the ${r.dataset.taps.length} readout taps of blocks ` +
        `1.1 .. 4.1 read back whole, host preprocessing excluded): median of ${r.dataset.runs} runs after 1 warm-up ` +
        `${r.dataset.medianRunSeconds.toFixed(2)} s per batch = **${r.dataset.imagesPerSecond.toFixed(2)} images/s**.`, '');
    }
    if (proj) {
      lines.push(`## Projection: the paper's full fv protocol`, '',
        `${proj.probes} probes (blocks 1.1 .. 4.1, readouts I, B, O, every channel) x ${proj.steps} steps, ${proj.batch} channels per batch per tap: ` +
        `${proj.batches} batches. Per-tap step time interpolated linearly in the forward MACs up to the tap through the measured taps ` +
        `(${Object.keys(measured).join(', ')}). **${fmtDuration(proj.totalSeconds)}** on this adapter (${proj.totalSeconds.toFixed(0)} s).`, '',
        '| block | readout | tap | batches | est. step (s) | hours |', '|---|---|---|---|---|---|',
        ...proj.perTap.map((p) => `| ${p.block} | ${p.readout} | ${p.tap} | ${p.batches} | ${sec(p.stepSeconds)} | ${(p.seconds / 3600).toFixed(p.seconds < 360 ? 3 : 1)} |`), '');
    }
    writeFileSync(join(dir, f.replace(/\.json$/, '.md')), `${lines.join('\n')}`);
    rows.push({ config, r, proj });
  }
  const summary = [
    `# Feature visualisation benchmark summary, ${o.date}`, '',
    'Steps/s of a 64-channel batch at 224 (median step), the projected paper protocol (5,568 probes x 2560 steps), and',
    'the analysis\'s dataset-probe throughput. Details per adapter in the linked files.', '',
    // Each row's machine: a day's runs may come from more than one, and their rates do not compare.
    '| configuration | adapter | machine | load (1 min) during steps | steps/s per tap | paper protocol | dataset images/s |', '|---|---|---|---|---|---|---|',
    ...rows.map(({ config, r, proj }) => `| [${config}](${o.date}-fv-${config}.md) | ${r.adapter?.name ?? '?'} | ${r.machine ? `${r.machine.cpus} cores, ${r.machine.cpuModel}` : '?'} | ` +
      `${Math.min(...r.taps.flatMap((t) => t.loadavgDuring)).toFixed(1)}-${Math.max(...r.taps.flatMap((t) => t.loadavgDuring)).toFixed(1)} | ` +
      `${r.taps.map((t) => `${t.tap}: ${t.stepsPerSecond.toFixed(4)} (n=${t.timedSteps})`).join('; ')} | ${proj ? fmtDuration(proj.totalSeconds) : '-'} | ` +
      `${r.dataset ? r.dataset.imagesPerSecond.toFixed(2) : '-'} |`),
    '',
  ];
  writeFileSync(join(dir, `${o.date}-fv-summary.md`), summary.join('\n'));
  return rows.length;
}

export async function main(argv) {
  const { o, flags } = parseFvArgs(argv);
  if (flags.has('help')) {
    process.stdout.write('node bench/fv.mjs [--adapters lavapipe,swiftshader] [--taps ...] [--batch 64] [--size 224] [--warmup 1] [--timed 3] [--budget 1800] [--dataset-batch 8] [--date D] [--report-only]\n');
    return 0;
  }
  await buildFv();
  const { projectPaper } = await import(join(root, 'bench', '.build', 'fv-project.mjs'));
  const dir = resolve(root, o['out-dir']);
  mkdirSync(dir, { recursive: true });
  if (!flags.has('report-only')) {
    for (const adapter of o.adapters.split(',')) {
      const out = join(dir, `${o.date}-fv-node-${adapter}.json`);
      process.stderr.write(`[fv] node-${adapter}: load ${loadavg()[0].toFixed(2)}\n`);
      const r = spawnSync(process.execPath, [join(root, 'bench', '.build', 'fv-bench.mjs'), '--adapter', adapter, '--taps', o.taps,
        '--batch', o.batch, '--size', o.size, '--warmup', o.warmup, '--timed', o.timed, '--budget', o.budget,
        '--dataset-batch', o['dataset-batch'], '--max-sub-batch', o['max-sub-batch'], '--dataset-runs', o['dataset-runs'], '--out', out, ...(flags.has('resume') ? ['--resume'] : [])],
        { stdio: 'inherit' });
      if (r.status !== 0) process.stderr.write(`[fv] node-${adapter} exited with ${r.status ?? r.signal}; partial results (if any) in ${out}\n`);
    }
  }
  const n = writeReports(o, projectPaper);
  process.stderr.write(`[fv] wrote ${n} report(s) and ${o['out-dir']}/${o.date}-fv-summary.md\n`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
    process.stderr.write(`bench/fv.mjs: ${e.message}\n`);
    process.exit(1);
  });
}
