// Two versions of the engine against each other in one process, interleaved round by round, so that
// a machine whose speed drifts over minutes moves both alike (bench/README.md: "A against B"):
//   git worktree add /tmp/base <rev>    (and give it node_modules: npm ci there, or links to these)
//   node bench/ab-trees.mjs /tmp/base [--rounds 30] [--warmups 5] [--adapter lavapipe] [--conv-variant V] [--without-subgroups | --compat] [--out DIR --name NAME]
// Each tree's own src/ is bundled (its .wgsl as text) into its bench/.build/ab/, each makes its
// engine with its own default kernels (or both the kernel --conv-variant names) on the same adapter, and each round runs a batch-1 forward
// at 224 (upload, forward, logits read back) of both, the order alternating. Prints, and with
// --out writes NAME.json and NAME.md: medians (wall and process CPU), the median per-round ratio
// B/A and how often B was faster. A = the other tree, B = this one. --compat makes both engines as a
// page in Chromium's compatibility mode gets them (this tree's bench/core/withhold.ts
// asCompatibilityMode: no 'subgroups', the adapter's info hidden, featureLevel 'compatibility').
import * as esbuild from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execFileSync } from 'node:child_process';
import { argv, get } from './core/cli.mjs';

const here = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const other = argv[0] && !argv[0].startsWith('--') ? resolve(argv[0]) : null;
if (!other) throw new Error('usage: node bench/ab-trees.mjs OTHER_TREE [--rounds 30] [--warmups 5] [--adapter lavapipe] [--conv-variant V] [--without-subgroups | --compat] [--out DIR --name NAME]');
const rounds = Number(get('rounds', '30'));
const warmups = Number(get('warmups', '5'));
const adapter = get('adapter', 'lavapipe');
const convVariant = get('conv-variant', 'auto');

// The same runner in both trees: their public Node entry and their random weights.
const withoutSubgroups = argv.includes('--without-subgroups');
const compat = argv.includes('--compat');
const runner = `
import { createEngine } from '../../../src/index-node';
import { ResNetEngine } from '../../../src/model/engine';
import { resolveNodeGpu } from '../../../src/gpu/node';
import { randomWeights } from '../../../src/weights/random';
import { withholdFeatures } from '../../core/withhold';
import { asCompatibilityMode } from ${JSON.stringify(join(here, 'bench', 'core', 'withhold'))};
export async function makeRunner(adapter, convVariant, withoutSubgroups, compat) {
  // With 'subgroups' withheld: the kernels of Chromium's compatibility mode (bench/core/withhold.ts);
  // compat: that mode's hidden adapter too.
  const gpu = async () => (await resolveNodeGpu(adapter)).gpu;
  const engine = compat
    ? await ResNetEngine.create({ gpu: asCompatibilityMode(await gpu()), featureLevel: 'compatibility', convVariant })
    : withoutSubgroups
      ? await ResNetEngine.create({ gpu: withholdFeatures(await gpu(), ['subgroups']), convVariant })
      : await createEngine({ adapter, convVariant });
  if ((withoutSubgroups || compat) && engine.ctx.device.features.has('subgroups')) throw new Error("the device has 'subgroups'");
  engine.loadWeights(randomWeights(20261129));
  const data = new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i));
  const input = { shape: [1, 3, 224, 224], data };
  return { kernels: engine.kernels, run: async () => (await engine.forward(input)).get('fc').data };
}
`;
async function load(tree) {
  const dir = join(tree, 'bench', '.build', 'ab');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'runner.ts'), runner);
  await esbuild.build({
    entryPoints: [join(dir, 'runner.ts')], outfile: join(dir, 'runner.mjs'), bundle: true, format: 'esm', platform: 'node',
    packages: 'external', loader: { '.wgsl': 'text' }, target: 'es2022', logLevel: 'warning', absWorkingDir: tree,
  });
  const rev = execFileSync('git', ['-C', tree, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['-C', tree, 'status', '--porcelain', '--', 'src', 'shaders'], { encoding: 'utf8' }).trim() !== '';
  const module = await import(pathToFileURL(join(dir, 'runner.mjs')).href);
  return { tree, rev: `${rev}${dirty ? ' (modified)' : ''}`, engine: await module.makeRunner(adapter, convVariant, withoutSubgroups, compat) };
}

const load0 = loadavg()[0];
const a = await load(other);
const b = await load(here);
const [la, lb] = [await a.engine.run(), await b.engine.run()];
const scale = Math.max(...la.map(Math.abs));
const agree = Math.max(...la.map((v, i) => Math.abs(v - lb[i]))) / scale;
for (let i = 0; i < warmups; i++) { await a.engine.run(); await b.engine.run(); }
const wall = { a: [], b: [] }, cpu = { a: [], b: [] }, ratios = [];
for (let r = 0; r < rounds; r++) {
  for (const k of r % 2 ? ['b', 'a'] : ['a', 'b']) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await (k === 'a' ? a : b).engine.run();
    const c = process.cpuUsage(c0);
    wall[k].push(performance.now() - t0);
    cpu[k].push((c.user + c.system) / 1000);
  }
  ratios.push(wall.b[r] / wall.a[r]);
}
const median = (v) => { const s = [...v].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const result = {
  adapter, convVariant, withoutSubgroups, compat, rounds, warmups, loadavg: [load0, loadavg()[0]], logitsAgree: agree,
  a: { rev: a.rev, kernels: a.engine.kernels, wallMs: wall.a, cpuMs: cpu.a },
  b: { rev: b.rev, kernels: b.engine.kernels, wallMs: wall.b, cpuMs: cpu.b },
  medianRatio: median(ratios), bFaster: ratios.filter((x) => x < 1).length,
};
const lines = [
  `# Two versions of the engine, one process, interleaved: ResNet18 batch 1 at 224 on ${adapter}${compat ? ', as in compatibility mode (no subgroups, the adapter hidden)' : withoutSubgroups ? ", 'subgroups' withheld" : ''}`, '',
  `- A: ${a.rev} (${JSON.stringify(a.engine.kernels)}); B: ${b.rev} (${JSON.stringify(b.engine.kernels)})`,
  `- ${rounds} rounds after ${warmups} warm-up rounds, the order alternating; 1-minute load average ${load0.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after`,
  `- Logits of A and B agree within ${agree.toExponential(1)} of their scale`, '',
  '| version | median wall ms | median CPU ms |', '|---|---:|---:|',
  `| A ${a.rev} | ${median(wall.a).toFixed(1)} | ${median(cpu.a).toFixed(1)} |`,
  `| B ${b.rev} | ${median(wall.b).toFixed(1)} | ${median(cpu.b).toFixed(1)} |`, '',
  `B / A: the median per-round ratio ${result.medianRatio.toFixed(3)}; B faster in ${result.bFaster} of ${rounds} rounds.`, '',
];
console.log(lines.join('\n'));
const out = get('out', null);
if (out) {
  const name = get('name', 'ab-trees');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `${name}.json`), `${JSON.stringify(result, null, 1)}\n`);
  writeFileSync(join(out, `${name}.md`), `${lines.join('\n')}\nCommand: \`node bench/ab-trees.mjs ${argv.join(' ')}\`. Every sample: \`${name}.json\`.\n`);
}
process.exit(0);
