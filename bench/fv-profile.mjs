// Bundles bench/fv-profile.ts (its .wgsl imports as text) into bench/.build and runs it:
//   node bench/fv-profile.mjs [--adapter lavapipe] [--tap layer4.1] [--batch 4] [--size 224] [--variant rows] [--runs 1]
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'bench', '.build', 'fv-profile.mjs');
await esbuild.build({
  entryPoints: [join(root, 'bench', 'fv-profile.ts')], outfile: bundle, bundle: true, format: 'esm', platform: 'node',
  packages: 'external', loader: { '.wgsl': 'text' }, target: 'es2022', logLevel: 'warning', absWorkingDir: root,
});
const run = spawnSync(process.execPath, [bundle, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
process.exit(run.status ?? 1);
