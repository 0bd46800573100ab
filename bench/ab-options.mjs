// Two option sets of our engine against each other in one page of headless Chromium, interleaved
// round by round (bench/page/ab-options.ts): what bench/ab-trees.mjs does for two checkouts in Node,
// for a choice that only a browser measures rightly (compatibility mode's GL translation).
//
//   node bench/ab-options.mjs --a '{"winogradStride2":false}' [--b '{}'] [--adapter lavapipe|swiftshader]
//        [--rounds 30] [--warmups 5] [--out DIR --name NAME]
//
// A and B are EngineOptions as JSON (B defaults to {}: the engine's own choices). Prints, and with
// --out writes NAME.json (every sample) and NAME.md: medians, the median per-round ratio B / A and
// how often B was faster. CHROMIUM_PATH and RESNET_STREAM_LAVAPIPE_ICD as for the benchmark.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { argv, get } from './core/cli.mjs';
import { runPageProbe } from './core/page-probe.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = resolve(benchDir, '..');
if (argv.includes('--help') || get('a') === undefined) {
  console.log("node bench/ab-options.mjs --a JSON [--b JSON] [--adapter lavapipe|swiftshader] [--rounds N] [--warmups N] [--out DIR --name NAME]");
  process.exit(argv.includes('--help') ? 0 : 1);
}
const [run] = await runPageProbe('ab-options', 'resnet-stream A against B', ['adapter', 'rounds', 'warmups', 'a', 'b']);

const median = (xs) => { const s = [...xs].sort((x, y) => x - y); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const ratios = run.wallMs.b.map((t, i) => t / run.wallMs.a[i]);
const cpu = cpus();
const command = `node bench/ab-options.mjs ${argv.map((x) => (x.startsWith('{') ? `'${x}'` : x)).join(' ')}`;
const lines = [
  `# Two option sets of the engine, one page, interleaved: ResNet18 batch 1 at 224, ${run.adapter} (${run.browser})`, '',
  `- A: \`${JSON.stringify(run.options.a)}\` (${JSON.stringify(run.kernels.a)}); B: \`${JSON.stringify(run.options.b)}\` (${JSON.stringify(run.kernels.b)})`,
  `- ${run.rounds} rounds after ${run.warmups} warm-up rounds, the order alternating; 1-minute load average ${run.loadBefore.toFixed(2)} before, ${run.loadAfter.toFixed(2)} after`,
  `- ${cpu.length} cores (${cpu[0]?.model ?? 'unknown'}); logits of A and B agree within ${run.logitsAgree.toExponential(1)} of their scale`, '',
  '| options | median ms | min | max |', '|---|---:|---:|---:|',
  ...['a', 'b'].map((k) => `| ${k.toUpperCase()} | ${median(run.wallMs[k]).toFixed(1)} | ${Math.min(...run.wallMs[k]).toFixed(1)} | ${Math.max(...run.wallMs[k]).toFixed(1)} |`), '',
  `B / A: the median per-round ratio ${median(ratios).toFixed(3)}; B faster in ${ratios.filter((x) => x < 1).length} of ${ratios.length} rounds.`, '',
  `Command: \`${command}\`.`, '',
];
console.log(lines.join('\n'));
const out = get('out');
if (out) {
  const name = get('name', 'ab-options');
  mkdirSync(resolve(root, out), { recursive: true });
  writeFileSync(join(resolve(root, out), `${name}.json`), `${JSON.stringify({ command, ...run, medianRatio: median(ratios) }, null, 1)}\n`);
  writeFileSync(join(resolve(root, out), `${name}.md`), lines.join('\n'));
}
