// What a load costs each CPU adapter, against a multiply-add (bench/kernels/load-probe.wgsl): the
// cost model the CPU adapters' convolution kernels are blocked for. One process per adapter (the
// Vulkan loader reads its ICD once), the probes interleaved round by round, medians.
//
//   node bench/load-cost.mjs [--adapters lavapipe,swiftshader] [--rounds 7] [--warmups 2] [--out DIR]
//
// Writes <out>/<date>-load-cost.json (every sample, adapter, load average) and .md (the table).
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
exitWithHelp('node bench/load-cost.mjs [--adapters lavapipe,swiftshader] [--rounds N] [--warmups N] [--out DIR]');
const adapters = get('adapters', 'lavapipe,swiftshader').split(',');
const outDir = resolve(root, get('out', 'bench/.build/results'));
const passThrough = ['rounds', 'warmups'].flatMap((k) => (get(k) !== undefined ? [`--${k}`, get(k)] : []));

const bundle = join(benchDir, '.build', 'load-cost.mjs');
await esbuild.build({
  entryPoints: [join(benchDir, 'load-cost.ts')], outfile: bundle, bundle: true, format: 'esm', platform: 'node',
  packages: 'external', loader: { '.wgsl': 'text' }, target: 'es2022', logLevel: 'silent', absWorkingDir: root,
});

const runs = [];
for (const adapter of adapters) {
  process.stderr.write(`[load-cost] ${adapter}\n`);
  const r = spawnSync(process.execPath, [bundle, '--adapter', adapter, ...passThrough], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !line) {
    process.stderr.write(`[load-cost] ${adapter} failed (${r.status ?? r.signal}):\n${r.stderr}\n`);
    continue;
  }
  runs.push(JSON.parse(line));
}
if (!runs.length) process.exit(1);

const date = new Date().toISOString().slice(0, 10);
const cpu = cpus();
const machine = `${cpu.length} cores (${cpu[0]?.model ?? 'unknown'}), Node ${process.version}`;
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, `${date}-load-cost.json`), `${JSON.stringify({ date, machine, command: `node bench/load-cost.mjs ${argv.join(' ')}`.trim(), runs }, null, 1)}\n`);
const ns = (v) => v.toFixed(v < 1 ? 3 : 2);
const lines = [
  `# What a load costs, against a multiply-add, ${date}`, '',
  `\`node bench/load-cost.mjs ${argv.join(' ')}\`. Machine: ${machine}.`,
  `bench/kernels/load-probe.wgsl: ${runs[0].workgroups} workgroups of 64 invocations, each looping ${runs[0].loop} times over`,
  'four loads (or 16 vec4 multiply-adds); median of the rounds after warm-ups, the probes interleaved. ns per',
  'operation per invocation = dispatch time / (invocations x operations): what one invocation\'s load costs the',
  'adapter with all its threads busy.', '',
];
for (const run of runs) {
  lines.push(`## ${run.adapterLine}`, '', `Load average (1 min) ${run.loadavgBefore.toFixed(2)} before, ${run.loadavgAfter.toFixed(2)} after; ${run.rounds} rounds after ${run.warmups} warm-ups.`, '',
    '| probe | median ms | ns per op per invocation | x a vec4 multiply-add |', '|---|---:|---:|---:|');
  const fma = run.results.find((p) => p.what === 'fma');
  for (const p of run.results) {
    lines.push(`| ${p.name} | ${p.medianMs.toFixed(1)} | ${ns(p.nsPerOpPerInvocation)} | ${(p.nsPerOpPerInvocation / fma.nsPerOpPerInvocation).toFixed(1)} |`);
  }
  lines.push('');
}
writeFileSync(join(outDir, `${date}-load-cost.md`), `${lines.join('\n')}`);
process.stderr.write(`[load-cost] wrote ${join(outDir, `${date}-load-cost.md`)}\n`);
