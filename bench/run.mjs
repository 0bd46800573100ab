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
// A full run also measures feature visualisation (bench/fv.mjs; alone: npm run bench:fv); --report-only
// rewrites its reports too. Development and partial modes leave it out.
const argv = process.argv.slice(2);
let fvCode = 0;
if (!help && !argv.some((a) => ['--quick', '--verify-only', '--only'].includes(a))) {
  const { main: fvMain } = await import('./fv.mjs');
  const date = argv.includes('--date') ? ['--date', argv[argv.indexOf('--date') + 1]] : [];
  fvCode = await fvMain(argv.includes('--report-only') ? ['--report-only', ...date] : date);
}
process.exit(code || fvCode);
