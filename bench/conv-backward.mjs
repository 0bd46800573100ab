// The convolution data gradient at ResNet18's stride-2 shapes with several counts of groups of 4
// input channels per thread (bench/conv-backward.ts), one process per adapter.
//
//   node bench/conv-backward.mjs [--adapters lavapipe,swiftshader] [--batch 8] [--rounds 5] [--warmups 1]
//        [--groups 1,4,8] [--baseline REV] [--out DIR] [--name NAME]
//
// --baseline REV also times shaders/conv2d-backward.wgsl as it was at git revision REV (one group
// per thread; its Params must be today's), interleaved with the others.
// Writes <out>/<date>-conv-backward[-NAME].json (every sample, adapter, load average) and .md (the table).
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
exitWithHelp('node bench/conv-backward.mjs [--adapters lavapipe,swiftshader] [--batch N] [--rounds N] [--warmups N] [--groups 1,4,8] [--baseline REV] [--out DIR] [--name NAME]');
const adapters = get('adapters', 'lavapipe,swiftshader').split(',');
const outDir = resolve(root, get('out', 'bench/.build/results'));
const passThrough = ['batch', 'rounds', 'warmups', 'groups'].flatMap((k) => (get(k) !== undefined ? [`--${k}`, get(k)] : []));

const bundle = join(benchDir, '.build', 'conv-backward.mjs');
const baseline = get('baseline');
if (baseline) {
  const old = spawnSync('git', ['show', `${baseline}:shaders/conv2d-backward.wgsl`], { cwd: root, encoding: 'utf8' });
  if (old.status !== 0) {
    process.stderr.write(`[conv-backward] no shaders/conv2d-backward.wgsl at ${baseline}: ${old.stderr}`);
    process.exit(1);
  }
  mkdirSync(join(benchDir, '.build'), { recursive: true });
  writeFileSync(join(benchDir, '.build', 'conv-backward-baseline.wgsl'), old.stdout);
  passThrough.push('--baseline-file', join(benchDir, '.build', 'conv-backward-baseline.wgsl'), '--baseline-name', baseline);
}
await esbuild.build({
  entryPoints: [join(benchDir, 'conv-backward.ts')], outfile: bundle, bundle: true, format: 'esm', platform: 'node',
  packages: 'external', loader: { '.wgsl': 'text' }, target: 'es2022', logLevel: 'silent', absWorkingDir: root,
});

const runs = [];
for (const adapter of adapters) {
  process.stderr.write(`[conv-backward] ${adapter}\n`);
  const r = spawnSync(process.execPath, [bundle, '--adapter', adapter, ...passThrough],
    { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = (r.stdout ?? '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !line) {
    process.stderr.write(`[conv-backward] ${adapter} failed (${r.status ?? r.signal})\n`);
    continue;
  }
  runs.push(JSON.parse(line));
}
if (!runs.length) process.exit(1);

const date = new Date().toISOString().slice(0, 10);
const file = `${date}-conv-backward${get('name') ? `-${get('name')}` : ''}`;
const cpu = cpus();
const machine = `${cpu.length} cores (${cpu[0]?.model ?? 'unknown'}), Node ${process.version}`;
const command = `node bench/conv-backward.mjs ${argv.join(' ')}`.trim();
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, `${file}.json`), `${JSON.stringify({ date, machine, command, runs }, null, 1)}\n`);
const lines = [
  `# The convolution data gradient by channel groups per thread, ${date}`, '',
  `\`${command}\`. Machine: ${machine}.`,
  'shaders/conv2d-backward.wgsl at ResNet18\'s stride-2 convolutions, one dispatch (upload excluded, the wait',
  'for the queue included), the forms interleaved round by round; median ms. `G groups`: G groups of 4 input',
  'channels per thread (a shape runs only the counts it can fill)'
    + (baseline ? `; \`${baseline}\`: the shader at that revision` : '') + '. `same bits`:',
  'every form\'s output equals the first form\'s bit for bit. `chosen`: what conv2dBackwardChannelGroups picks here.', '',
];
for (const run of runs) {
  const names = run.forms;
  lines.push(`## ${run.adapterLine}`, '',
    `Batch ${run.batch}; ${run.rounds} rounds after ${run.warmups} warm-up; load average (1 min) ${run.loadavgBefore.toFixed(2)} before, ${run.loadavgAfter.toFixed(2)} after.`, '',
    `| convolution | ${names.join(' | ')} | chosen vs ${baseline ?? '1 group'} | chosen | same bits |`,
    `|---|${names.map(() => '---:').join('|')}|---:|---:|---|`);
  for (const r of run.results) {
    const ms = (name) => r.forms.find((x) => x.form === name)?.medianMs;
    const one = ms(baseline ?? '1 group');
    const chosen = ms(r.chosen);
    lines.push(`| ${r.name} | ${names.map((n) => ms(n)?.toFixed(1) ?? '-').join(' | ')} | ${one && chosen ? `${(one / chosen).toFixed(2)}x` : '-'} | ${r.chosen} | ${r.forms.every((f) => f.identicalToFirst) ? 'yes' : 'NO'} |`);
  }
  lines.push('');
}
writeFileSync(join(outDir, `${file}.md`), `${lines.join('\n')}`);
process.stderr.write(`[conv-backward] wrote ${join(outDir, `${file}.md`)}\n`);
