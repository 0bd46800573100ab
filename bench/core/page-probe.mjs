// What the benchmark's page probes share on their entry side: the page script bench/page/NAME.ts
// bundled into bench/.build and served as /bench/.build/NAME.html (buildProbePage: also the page of
// `bench/head-to-head.mjs --browser`); and for bench/readback-cost.mjs and bench/ab-options.mjs
// (runPageProbe) their Node side bench/NAME.ts bundled beside it, run with the named options passed
// through, and the JSON lines it prints read back. The Node side opens the page (core/page-probe.ts).
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { get } from './cli.mjs';

const benchDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = resolve(benchDir, '..');

const COMMON = { bundle: true, format: 'esm', loader: { '.wgsl': 'text' }, target: 'es2022', logLevel: 'warning', absWorkingDir: root };

/**
 * Bundles the page script bench/page/NAME.ts into bench/.build/NAME-page.js and writes the page
 * bench/.build/NAME.html (titled `title`) that loads it; returns bench/.build.
 */
export async function buildProbePage(name, title) {
  const build = join(benchDir, '.build');
  mkdirSync(build, { recursive: true });
  await esbuild.build({ ...COMMON, entryPoints: [join(benchDir, 'page', `${name}.ts`)], outfile: join(build, `${name}-page.js`), platform: 'browser' });
  writeFileSync(join(build, `${name}.html`), `<!doctype html>\n<meta charset="utf-8">\n<title>${title}</title>\n<script type="module" src="/bench/.build/${name}-page.js"></script>\n`);
  return build;
}

/**
 * Builds probe `name` (its page titled `title`), runs its Node side with the options `passThrough`
 * names (those given on this command line) and returns the JSON lines it printed; exits with an
 * error where it failed or printed none.
 */
export async function runPageProbe(name, title, passThrough) {
  const build = await buildProbePage(name, title);
  await esbuild.build({ ...COMMON, entryPoints: [join(benchDir, `${name}.ts`)], outfile: join(build, `${name}.mjs`), platform: 'node', packages: 'external' });
  const args = passThrough.flatMap((k) => (get(k) !== undefined ? [`--${k}`, get(k)] : []));
  const r = spawnSync(process.execPath, [join(build, `${name}.mjs`), ...args], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  if (r.status !== 0 || !lines.length) {
    process.stderr.write(`[${name}] failed (${r.status ?? r.signal})\n`);
    process.exit(1);
  }
  return lines;
}
