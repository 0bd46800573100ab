// Builds the browser library (ESM, no Node imports) and the Node CLI; .wgsl files load as text.
// Also: the library's declarations (dist/types, tsc with tsconfig.build.json) and the demo page
// (dist/demo, demo/build.mjs).
import * as esbuild from 'esbuild';
import { spawn } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import { buildDemo } from './demo/build.mjs';

/** tsc --emitDeclarationOnly: type errors are printed but do not fail the JavaScript build. */
function emitDeclarations() {
  return new Promise((ok) => {
    const tsc = spawn(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    tsc.stdout.on('data', (d) => { out += d; });
    tsc.stderr.on('data', (d) => { out += d; });
    tsc.on('close', (code) => {
      if (code !== 0) console.warn(`dist/types: tsc reported errors (declarations may be incomplete):\n${out}`);
      ok();
    });
  });
}

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const common = {
  bundle: true, loader: { '.wgsl': 'text' }, sourcemap: true, target: 'es2022', logLevel: 'warning',
  define: { RESNET_STREAM_VERSION: JSON.stringify(version) },
};

await Promise.all([
  esbuild.build({
    ...common,
    entryPoints: ['src/index.ts'],
    outfile: 'dist/resnet-stream.js',
    format: 'esm',
    platform: 'browser',
  }),
  // resnet-stream/node: the engine for Node scripts (Dawn, files), dependencies left to npm.
  esbuild.build({
    ...common,
    entryPoints: ['src/index-node.ts'],
    outfile: 'dist/node.js',
    format: 'esm',
    platform: 'node',
    packages: 'external',
  }),
  esbuild.build({
    ...common,
    entryPoints: ['src/cli/main.ts'],
    outfile: 'dist/cli.js',
    format: 'esm',
    platform: 'node',
    packages: 'external',
    banner: { js: '#!/usr/bin/env node' },
  }),
  buildDemo({ outdir: 'dist/demo' }),
  emitDeclarations(),
]);
chmodSync('dist/cli.js', 0o755);
