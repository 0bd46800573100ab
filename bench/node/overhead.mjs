// Launcher for bench/node/overhead.ts (issue #6: where a batch-1 forward's time goes on Node + Dawn).
// Bundles it into bench/.build/overhead.mjs with esbuild, then runs it with the same arguments:
//   node bench/node/overhead.mjs [--adapter lavapipe|swiftshader|default] [--size 224] [--rounds 10]
//        [--warmups 2] [--taps fc|all|a,b] [--modes api,old,split,profile] > out.json
// Progress and the summary (medians per step, ratios to the pre-#6 path, load average) go to
// stderr; every sample as JSON to stdout.
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const outfile = join(root, 'bench', '.build', 'overhead.mjs');
await esbuild.build({
  entryPoints: [join(here, 'overhead.ts')], outfile, bundle: true, format: 'esm', platform: 'node',
  packages: 'external', loader: { '.wgsl': 'text' }, target: 'es2022', logLevel: 'warning', absWorkingDir: root,
});
const r = spawnSync(process.execPath, [outfile, ...process.argv.slice(2)], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
