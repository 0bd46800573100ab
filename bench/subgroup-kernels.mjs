// The CPU adapters' subgroup kernels against the forms they replace (bench/subgroup-kernels.ts),
// one process per adapter.
//
//   node bench/subgroup-kernels.mjs [--adapters lavapipe,swiftshader] [--batch 1] [--rounds 9] [--warmups 2]
//        [--kernels direct,winograd,backward,maxpool]
//        [--out DIR] [--name NAME]
//
// Writes <out>/<date>-subgroup-kernels[-NAME].json (every sample, adapter, load average) and .md (the table).
// Default out: bench/.build/results (bench/results only when asked).
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { argv, get, exitWithHelp } from './core/cli.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = resolve(benchDir, '..');
exitWithHelp('node bench/subgroup-kernels.mjs [--adapters lavapipe,swiftshader] [--batch N] [--rounds N] [--warmups N] [--kernels direct,winograd,backward,maxpool] [--out DIR] [--name NAME]');
const adapters = get('adapters', 'lavapipe,swiftshader').split(',');
const outDir = resolve(root, get('out', 'bench/.build/results'));
const passThrough = ['batch', 'rounds', 'warmups', 'kernels'].flatMap((k) => (get(k) !== undefined ? [`--${k}`, get(k)] : []));

const bundle = join(benchDir, '.build', 'subgroup-kernels.mjs');
await esbuild.build({
  entryPoints: [join(benchDir, 'subgroup-kernels.ts')], outfile: bundle, bundle: true, format: 'esm', platform: 'node',
  packages: 'external', loader: { '.wgsl': 'text' }, target: 'es2022', logLevel: 'silent', absWorkingDir: root,
});

const runs = [];
for (const adapter of adapters) {
  process.stderr.write(`[subgroup-kernels] ${adapter}\n`);
  const r = spawnSync(process.execPath, [bundle, '--adapter', adapter, ...passThrough],
    { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = (r.stdout ?? '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !line) {
    process.stderr.write(`[subgroup-kernels] ${adapter} failed (${r.status ?? r.signal})\n`);
    continue;
  }
  runs.push(JSON.parse(line));
}
if (!runs.length) process.exit(1);

const date = new Date().toISOString().slice(0, 10);
const file = `${date}-subgroup-kernels${get('name') ? `-${get('name')}` : ''}`;
const cpu = cpus();
const machine = `${cpu.length} cores (${cpu[0]?.model ?? 'unknown'}), Node ${process.version}`;
const command = `node bench/subgroup-kernels.mjs ${argv.join(' ')}`.trim();
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, `${file}.json`), `${JSON.stringify({ date, machine, command, runs }, null, 1)}\n`);
const lines = [
  `# The subgroup kernels against the forms they replace, ${date}`, '',
  `\`${command}\`. Machine: ${machine}.`,
  'ResNet18\'s convolutions at 224, each distinct shape once, one dispatch (the wait for the queue included), the two',
  'forms interleaved with the order alternating round by round; median ms. `direct`: conv2d.wgsl\'s CPU form (one tap',
  'loop, 16 channels per thread) against conv2d-subgroup.wgsl (the weights shared by shuffles; for the 7x7 stride-2 stem on',
  '7 lanes and more, conv2d-stem-subgroup.wgsl, whose own row then times it against conv2d-subgroup.wgsl; `padded input`: the',
  'adapter\'s own form, and on lavapipe also conv2d.wgsl\'s CPU form, reading its input zero-padded by zero-pad.wgsl, the pad',
  'included, against the same form reading it unpadded). `products`: the Winograd',
  'products alone, conv2d-winograd-gemm-plain.wgsl against conv2d-winograd-gemm-subgroup.wgsl (V shared). `input gradient`:',
  'the stride-2 convolutions\' data gradients, conv2d-backward.wgsl against conv2d-backward-subgroup.wgsl (weights shuffled),',
  'both with the channel groups per thread the engine picks. `max pool`: the stem\'s 3x3 stride-2 pool with its window written',
  'out (maxpool2d.wgsl\'s WINDOW3) against loops over the window (not a subgroup kernel; timed here alike). `used`: whether',
  'the engine picks the subgroup form (the padded input) for that shape on this adapter. `same bits`: the two outputs equal bit for bit.', '',
];
for (const run of runs) {
  const sizes = run.subgroupSizes ? `subgroups of ${run.subgroupSizes.min === run.subgroupSizes.max ? run.subgroupSizes.max : `${run.subgroupSizes.min}-${run.subgroupSizes.max}`} lanes` : 'no subgroups';
  lines.push(`## ${run.adapterLine}`, '',
    `${sizes}; batch ${run.batch}; ${run.rounds} rounds after ${run.warmups} warm-up; load average (1 min) ${run.loadavgBefore.toFixed(2)} before, ${run.loadavgAfter.toFixed(2)} after.`, '',
    '| kernel | convolution | plain ms | subgroup ms | plain / subgroup | used | same bits |',
    '|---|---|---:|---:|---:|---|---|');
  for (const r of run.results) {
    lines.push(`| ${r.kernel} | ${r.name} | ${r.plainMs.toFixed(2)} | ${r.subgroupMs.toFixed(2)} | ${(r.plainMs / r.subgroupMs).toFixed(2)}x | ${r.chosen ? 'yes' : 'no'} | ${r.identical ? 'yes' : 'NO'} |`);
  }
  lines.push('');
}
writeFileSync(join(outDir, `${file}.md`), `${lines.join('\n')}`);
process.stderr.write(`[subgroup-kernels] wrote ${join(outDir, `${file}.md`)}\n`);
