// Builds the browser library (ESM, no Node imports) and the Node CLI; .wgsl files load as text.
import * as esbuild from 'esbuild';
import { chmodSync } from 'node:fs';

const common = { bundle: true, loader: { '.wgsl': 'text' }, sourcemap: true, target: 'es2022', logLevel: 'warning' };

await Promise.all([
  esbuild.build({
    ...common,
    entryPoints: ['src/index.ts'],
    outfile: 'dist/resnet-stream.js',
    format: 'esm',
    platform: 'browser',
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
]);
chmodSync('dist/cli.js', 0o755);
