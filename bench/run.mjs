#!/usr/bin/env node
// `npm run bench` (after `npm run build`): bundles the benchmark into bench/.build/ and runs every
// configuration this machine supports. Options: node bench/run.mjs --help; docs: bench/README.md.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBench } from './build.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
await buildBench();
const { main } = await import('./.build/runner.mjs');
const code = await main(process.argv.slice(2), root);
process.exit(code);
