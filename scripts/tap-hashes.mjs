// Bundles scripts/tap-hashes.ts (its .wgsl imports as text, as the library build does) into
// node_modules/.cache (so that 'webgpu' resolves from the bundle) and runs it: node scripts/tap-hashes.mjs OUT.json [--adapter NAME].
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'node_modules', '.cache', 'resnet-stream', 'tap-hashes.mjs');
await esbuild.build({
  entryPoints: [join(root, 'scripts', 'tap-hashes.ts')], outfile: bundle, bundle: true, format: 'esm', platform: 'node',
  packages: 'external', loader: { '.wgsl': 'text' }, target: 'es2022', logLevel: 'warning', absWorkingDir: root,
});
const run = spawnSync(process.execPath, [bundle, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
process.exit(run.status ?? 1);
