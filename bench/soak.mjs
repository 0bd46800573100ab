#!/usr/bin/env node
// `npm run bench:soak`: the soak benchmark of issue #8 (bench/soak.ts). Bundles it into
// bench/.build/soak.mjs with esbuild (as bench/node/overhead.mjs does) and runs it under
// node --expose-gc, so every sample is taken after a full garbage collection. Arguments pass
// through; see the header of bench/soak.ts. Default: 10,000 forwards at 64x64, batch 1, on the
// faster CPU adapter present (lavapipe, else SwiftShader); results in bench/results/.
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'bench', '.build', 'soak.mjs');
await esbuild.build({
  entryPoints: [join(root, 'bench', 'soak.ts')], outfile, bundle: true, format: 'esm', platform: 'node',
  packages: 'external', loader: { '.wgsl': 'text' }, target: 'es2022', logLevel: 'warning', absWorkingDir: root,
});
const r = spawnSync(process.execPath, ['--expose-gc', outfile, ...process.argv.slice(2)], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
