// Bundles bench/node/head-to-head.ts (its .wgsl imports as text) into bench/.build and runs it:
//   node bench/head-to-head.mjs [--adapter lavapipe] [--rounds 30] [--warmups 20] [--conv-variant V]
//        [--without-subgroups] [--browser]
// Our forward against ONNX Runtime's wasm engine, interleaved round by round (see the .ts file);
// with --browser in a page of headless Chromium (bench/page/head-to-head.ts, built here too).
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProbePage } from './core/page-probe.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'bench', '.build', 'head-to-head.mjs');
await esbuild.build({
  entryPoints: [join(root, 'bench', 'node', 'head-to-head.ts')], outfile: bundle, bundle: true, format: 'esm', platform: 'node',
  packages: 'external', loader: { '.wgsl': 'text' }, target: 'es2022', logLevel: 'warning', absWorkingDir: root,
});
if (process.argv.includes('--browser')) await buildProbePage('head-to-head', 'resnet-stream against ONNX Runtime wasm');
const run = spawnSync(process.execPath, [bundle, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
process.exit(run.status ?? 1);
