// Conv2d variant micro-benchmark: ResNet18's 20 convolutions (batch 1, 224 x 224) and whole
// forwards, every variant of src/kernels/conv2d.ts, on Node SwiftShader and Node lavapipe, one
// process per adapter (the Vulkan loader reads its ICD once), variants interleaved, medians.
//
//   node bench/conv-variants.mjs [--adapters swiftshader,lavapipe] [--reps 5] [--forward-reps 5]
//        [--size 224] [--variants direct,rows] [--layers layer1.0.conv1,...] [--out bench/results]
//
// Writes <out>/<date>-conv-variants.json (every sample, adapter info, load average) and .md (the
// tables). Default out: bench/.build/results (bench/results only when asked, as bench/run.mjs does).
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { argv, get, exitWithHelp } from './core/cli.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = resolve(benchDir, '..');
exitWithHelp(readHeader());
function readHeader() {
  return 'node bench/conv-variants.mjs [--adapters swiftshader,lavapipe] [--reps N] [--forward-reps N] [--size S] [--variants a,b] [--layers l1,l2] [--out DIR]';
}
const adapters = get('adapters', 'swiftshader,lavapipe').split(',');
const outDir = resolve(root, get('out', 'bench/.build/results'));
const passThrough = ['reps', 'forward-reps', 'size', 'variants', 'layers'].flatMap((k) => (get(k) !== undefined ? [`--${k}`, get(k)] : []));

const bundle = join(benchDir, '.build', 'conv-variants.mjs');
await esbuild.build({
  entryPoints: [join(benchDir, 'conv-variants.ts')], outfile: bundle, bundle: true, format: 'esm', platform: 'node',
  packages: 'external', loader: { '.wgsl': 'text' }, target: 'es2022', logLevel: 'silent', absWorkingDir: root,
});

/** Median over repetitions of variant / base, each pair from the same repetition (they ran back to back). */
const pairedRatio = (a, b) => median(a.map((x, i) => x / b[i]));
const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const loadBefore = loadavg()[0];
const results = [];
for (const adapter of adapters) {
  const t0 = Date.now();
  const run = spawnSync(process.execPath, [bundle, '--adapter', adapter, ...passThrough], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 26 });
  if (run.status !== 0) { console.error(`conv-variants: ${adapter} failed (exit ${run.status})`); continue; }
  const r = JSON.parse(run.stdout.trim().split('\n').pop());
  r.seconds = (Date.now() - t0) / 1000;
  results.push(r);
}
if (!results.length) { console.error('conv-variants: no adapter ran'); process.exit(1); }

const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const lines = [`# conv2d variants, ${new Date().toISOString().slice(0, 10)}`, '',
  'ResNet18\'s 20 convolutions at batch 1, 224 x 224 (BN-folded epilogue + ReLU), each variant on the same buffers, interleaved (the order of the variants rotates each repetition). `wall`: ms per dispatch (submit + onSubmittedWorkDone), median; `cpu`: the process\'s CPU ms (user + system, all threads: the CPU drivers run the kernels in-process) for the same dispatches, median: far less stretched by other processes\' load than wall time. `x/base`: median over repetitions of the ratio of CPU times taken back to back (< 1: faster). Then whole batch-1 forwards (upload, forward, logits read back), one engine per variant on one context, interleaved. `f16` = the direct kernel with f16 weights (only where the adapter has shader-f16). Layers that are not 3x3 stride 1 run the direct kernel under `rows` and `winograd` too: their ratios show the noise.', ''];
for (const r of results) {
  const vs = r.args.variants;
  const [base, ...others] = vs;
  lines.push(`## ${r.adapter.name}: ${r.adapter.vendor} / ${r.adapter.architecture} / ${r.adapter.description}`, '',
    `Default variant for this adapter class: **${r.defaultVariant}**. Load average (1, 5, 15 min) at the end: ${r.loadavg.map((x) => x.toFixed(2)).join(', ')} on 2 cores. ${r.args.reps} repetitions per layer, ${r.args.forwardReps} forwards per variant; took ${fmt(r.seconds)} s.`, '',
    `| layer | shape (Cin->Cout, k, s, in) | ${vs.map((v) => `${v} wall | ${v} cpu`).join(' | ')} | ${others.map((v) => `${v}/${base}`).join(' | ')} |`,
    `|---|---|${vs.map(() => '---:|---:').join('|')}|${others.map(() => '---:').join('|')}|`);
  const totals = Object.fromEntries(vs.map((v) => [v, 0]));
  const cpuTotals = Object.fromEntries(vs.map((v) => [v, 0]));
  const perRepCpu = Object.fromEntries(vs.map((v) => [v, new Array(r.args.reps).fill(0)]));
  for (const l of r.perLayer) {
    const s = l.shape;
    const m = Object.fromEntries(vs.map((v) => [v, median(l.ms[v])]));
    const c = Object.fromEntries(vs.map((v) => [v, median(l.cpuMs[v])]));
    for (const v of vs) { totals[v] += m[v]; cpuTotals[v] += c[v]; l.cpuMs[v].forEach((x, i) => { perRepCpu[v][i] += x; }); }
    lines.push(`| ${l.name} | ${s.inChannels}->${s.outChannels}, ${s.kernel}x${s.kernel}, s${s.stride}, ${s.inHeight} | ${vs.map((v) => `${fmt(m[v])} | ${fmt(c[v])}`).join(' | ')} | ${others.map((v) => pairedRatio(l.cpuMs[v], l.cpuMs[base]).toFixed(2)).join(' | ')} |`);
  }
  lines.push(`| **sum of the 20** | | ${vs.map((v) => `**${fmt(totals[v])}** | **${fmt(cpuTotals[v])}**`).join(' | ')} | ${others.map((v) => `**${pairedRatio(perRepCpu[v], perRepCpu[base]).toFixed(2)}**`).join(' | ')} |`, '');
  if (r.args.forwardReps > 0) {
    lines.push(`Whole forward (batch 1, logits): ${vs.map((v) => `${v} median ${fmt(median(r.forward[v]))} ms wall, ${fmt(median(r.forwardCpu[v]))} ms cpu (min wall ${fmt(Math.min(...r.forward[v]))}, n=${r.forward[v].length})`).join('; ')}. Paired ratios ${others.map((v) => `${v}/${base}: wall ${pairedRatio(r.forward[v], r.forward[base]).toFixed(2)}, cpu ${pairedRatio(r.forwardCpu[v], r.forwardCpu[base]).toFixed(2)}`).join('; ')}.`, '');
  }
}
lines.push(`Command: \`node bench/conv-variants.mjs ${argv.join(' ')}\`; 1-min load average before: ${loadBefore.toFixed(2)}. Raw samples: the .json next to this file.`, '');
mkdirSync(outDir, { recursive: true });
const stem = join(outDir, `${new Date().toISOString().slice(0, 10)}-conv-variants`);
writeFileSync(`${stem}.json`, JSON.stringify(results, null, 1));
writeFileSync(`${stem}.md`, lines.join('\n'));
console.log(lines.join('\n'));
console.error(`conv-variants: wrote ${stem}.md and .json`);
