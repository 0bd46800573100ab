// Bundles bench/conv-measure.ts (its .wgsl imports as text) into bench/.build and runs it:
//   node bench/conv-measure.mjs [--adapter lavapipe] [--size 224] [--batch 1] [--rounds 5]
//        [--variants direct,rows,gemm,winograd] [--convs k3s1|k3s2|all] [--without-subgroups | --compat]
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'bench', '.build', 'conv-measure.mjs');
await esbuild.build({
  entryPoints: [join(root, 'bench', 'conv-measure.ts')], outfile: bundle, bundle: true, format: 'esm', platform: 'node',
  packages: 'external', loader: { '.wgsl': 'text' }, target: 'es2022', logLevel: 'warning', absWorkingDir: root,
});
const run = spawnSync(process.execPath, [bundle, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
process.exit(run.status ?? 1);
