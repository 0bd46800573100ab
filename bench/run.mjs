#!/usr/bin/env node
// `npm run bench` (after `npm run build`): bundles the benchmark into bench/.build/ and runs every
// configuration this machine supports. Options: node bench/run.mjs --help; docs: bench/README.md.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBench } from './build.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
// --help needs only the runner bundle; everything else rebuilds (a few seconds) so it runs the sources.
const help = process.argv.some((a) => a === '--help' || a === '-h');
if (!help || !existsSync(resolve(root, 'bench/.build/runner.mjs'))) await buildBench({ quiet: help });
const { main } = await import('./.build/runner.mjs');
const code = await main(process.argv.slice(2), root);
process.exit(code);
