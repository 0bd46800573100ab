// What reading ResNet18's taps back costs a page, in its parts (bench/page/readback-cost.ts): the
// engine's readback of 50 buffers of the taps' sizes (26.1 MB) into fresh arrays and into arrays in
// use, and the JavaScript copy alone into fresh arrays made four ways and into arrays in use. Why
// "all taps" costs more than the plain forward in a page, and what `into` saves.
//
//   node bench/readback-cost.mjs [--adapters lavapipe,swiftshader] [--rounds 20] [--warmups 3] [--out DIR]
//
// Writes <out>/<date>-readback-cost.json (every sample) and .md (medians). Default out:
// bench/.build/results (bench/results only when asked). CHROMIUM_PATH and RESNET_STREAM_LAVAPIPE_ICD
// as for the benchmark (bench/README.md).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { argv, get, exitWithHelp } from './core/cli.mjs';
import { runPageProbe } from './core/page-probe.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = resolve(benchDir, '..');
exitWithHelp('node bench/readback-cost.mjs [--adapters lavapipe,swiftshader] [--rounds N] [--warmups N] [--out DIR]');
const outDir = resolve(root, get('out', 'bench/.build/results'));
const runs = await runPageProbe('readback-cost', 'resnet-stream readback cost', ['adapters', 'rounds', 'warmups']);

const date = new Date().toISOString().slice(0, 10);
const cpu = cpus();
const machine = `${cpu.length} cores (${cpu[0]?.model ?? 'unknown'}), Node ${process.version}`;
const command = `node bench/readback-cost.mjs ${argv.join(' ')}`.trim();
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, `${date}-readback-cost.json`), `${JSON.stringify({ date, machine, command, runs }, null, 1)}\n`);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const lines = [
  `# What reading ResNet18's taps back costs a page, ${date}`, '',
  `\`${command}\`. Machine: ${machine}. Headless Chromium; ${runs[0].buffers} storage buffers sized as ResNet18's taps at 224`,
  `(${runs[0].megabytes.toFixed(1)} MB). "readback": GpuContext.readback with a kept staging buffer, as a forward plan reads its taps`,
  '(the copies into the staging buffer, the map, the copy out). "copy": JavaScript alone, the same bytes from one ArrayBuffer.',
  'Each measure once a round, in turn; medians of the rounds after warm-ups; the fresh arrays of a measure stay alive until the next.', '',
];
for (const run of runs) {
  lines.push(`## ${run.adapter} (${run.browser})`, '', `Load average (1 min) ${run.loadBefore.toFixed(2)} before, ${run.loadAfter.toFixed(2)} after; ${run.rounds} rounds after ${run.warmups} warm-ups.`, '',
    '| measure | median ms | min | max |', '|---|---:|---:|---:|');
  for (const [name, xs] of Object.entries(run.samples)) {
    lines.push(`| ${name} | ${median(xs).toFixed(2)} | ${Math.min(...xs).toFixed(2)} | ${Math.max(...xs).toFixed(2)} |`);
  }
  lines.push('');
}
writeFileSync(join(outDir, `${date}-readback-cost.md`), `${lines.join('\n')}`);
process.stderr.write(`[readback-cost] wrote ${join(outDir, `${date}-readback-cost.md`)}\n`);
