// Bundles the benchmark into bench/.build/ (gitignored): page.js (the Chromium page), node-bench.mjs
// (the Node/Dawn side) and runner.mjs (the orchestrator). Our engine comes from src/index.ts; if
// that does not exist, does not export ResNetEngine, or does not bundle, a stand-in takes its place
// so the peers are still measured, and bench/.build/engine-status.json says why.
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = resolve(benchDir, '..');
const outDir = join(benchDir, '.build');
const engineEntry = join(root, 'src', 'index.ts');

function enginePlugin(useEngine, reason) {
  return {
    name: 'resnet-stream-engine',
    setup(build) {
      // engine-adapter.ts imports '../src/index': the real engine, or the stand-in.
      build.onResolve({ filter: /\/src\/index$/ }, (args) => {
        if (!args.importer.endsWith(join('bench', 'engine-adapter.ts'))) return undefined;
        return useEngine ? { path: engineEntry } : { path: 'engine-stand-in', namespace: 'engine-stand-in' };
      });
      build.onLoad({ filter: /.*/, namespace: 'engine-stand-in' }, () => ({
        contents: `export const ResNetEngine = undefined;\nexport const ENGINE_UNAVAILABLE_REASON = ${JSON.stringify(reason)};\n`,
        loader: 'js',
      }));
    },
  };
}

async function bundleAll(useEngine, reason) {
  const common = {
    bundle: true, loader: { '.wgsl': 'text' }, sourcemap: 'linked', target: 'es2022', logLevel: 'silent',
    plugins: [enginePlugin(useEngine, reason)], absWorkingDir: root,
  };
  await Promise.all([
    esbuild.build({ ...common, entryPoints: [join(benchDir, 'page', 'main.ts')], outfile: join(outDir, 'page.js'), format: 'esm', platform: 'browser' }),
    esbuild.build({ ...common, entryPoints: [join(benchDir, 'node', 'main.ts')], outfile: join(outDir, 'node-bench.mjs'), format: 'esm', platform: 'node', packages: 'external' }),
  ]);
}

export async function buildBench({ quiet = false } = {}) {
  mkdirSync(outDir, { recursive: true });
  let status;
  if (!existsSync(engineEntry)) {
    status = { engine: false, reason: 'src/index.ts does not exist yet' };
  } else {
    try {
      await bundleAll(true, '');
      status = { engine: true };
    } catch (e) {
      const first = e.errors?.[0];
      const where = first?.location ? `${first.location.file}:${first.location.line}: ` : '';
      status = { engine: false, reason: `the engine does not bundle: ${where}${first?.text ?? e.message}` };
    }
  }
  if (!status.engine) await bundleAll(false, status.reason);
  await esbuild.build({
    bundle: true, sourcemap: 'linked', target: 'es2022', logLevel: 'silent', absWorkingDir: root, loader: { '.wgsl': 'text' },
    entryPoints: [join(benchDir, 'runner', 'main.ts')], outfile: join(outDir, 'runner.mjs'), format: 'esm', platform: 'node', packages: 'external',
  });
  writeFileSync(join(outDir, 'engine-status.json'), JSON.stringify(status, null, 2));
  if (!quiet) console.error(status.engine ? 'bench build: with our engine (src/index.ts)' : `bench build: WITHOUT our engine: ${status.reason}`);
  return status;
}

/**
 * The Node side for a machine without node_modules (the GPU machine of bench/device.sh): tfjs and
 * ONNX Runtime bundled in; only `webgpu` (Dawn's native module) and puppeteer-core (never loaded
 * there) stay outside. Written to bench/.build/device/.
 */
export async function buildDeviceBundles() {
  const status = await buildBench({ quiet: true });
  const dir = join(outDir, 'device');
  mkdirSync(dir, { recursive: true });
  const common = {
    bundle: true, loader: { '.wgsl': 'text' }, target: 'es2022', logLevel: 'silent', absWorkingDir: root,
    format: 'esm', platform: 'node', external: ['webgpu', 'puppeteer-core'],
    // CommonJS packages bundled into ESM need require() for Node built-ins.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  };
  await esbuild.build({ ...common, entryPoints: [join(benchDir, 'node', 'main.ts')], outfile: join(dir, 'node-bench.mjs'),
    plugins: [enginePlugin(status.engine, status.reason ?? '')] });
  await esbuild.build({ ...common, entryPoints: [join(benchDir, 'runner', 'main.ts')], outfile: join(dir, 'runner.mjs') });
  // The feature-visualisation step rate (bench/fv-node.ts, as `npm run bench:fv` runs it).
  await esbuild.build({ ...common, entryPoints: [join(benchDir, 'fv-node.ts')], outfile: join(dir, 'fv-bench.mjs') });
  // The ResNet family's batch-1 latency (bench/family-node.ts).
  await esbuild.build({ ...common, entryPoints: [join(benchDir, 'family-node.ts')], outfile: join(dir, 'family-bench.mjs') });
  // Where a batch-1 forward's wall-clock time goes (bench/node/overhead.ts).
  await esbuild.build({ ...common, entryPoints: [join(benchDir, 'node', 'overhead.ts')], outfile: join(dir, 'overhead.mjs') });
  writeFileSync(join(dir, 'engine-status.json'), JSON.stringify(status, null, 2));
  return { status, dir };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--device')) {
    const { status, dir } = await buildDeviceBundles();
    console.error(`device bundles in ${dir} (${status.engine ? 'with' : 'WITHOUT'} our engine)`);
  } else {
    await buildBench();
  }
}
