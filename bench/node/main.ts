// The Node side of the benchmark (bundled to bench/.build/node-bench.mjs): WebGPU from Dawn (npm
// `webgpu`), one adapter per process (the Vulkan loader reads VK_ICD_FILENAMES once).
//   node bench/.build/node-bench.mjs --adapter lavapipe|swiftshader|default --steps steps.json --out results.json
// Reads a JSON array of steps, runs them in order, writes a JSON array of results (one per step, as
// soon as each finishes, so a crash keeps what was measured). Progress goes to stderr.

import { readFileSync, writeFileSync } from 'node:fs';
import { type Step, runStep } from '../core/suite';
import type { AdapterChoice } from '../../src/gpu/node';
import { nodeSuiteEnv } from './env';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && process.argv[i + 1]) return process.argv[i + 1];
  if (fallback !== undefined) return fallback;
  throw new Error(`missing --${name}`);
}

const adapter = arg('adapter', 'default') as AdapterChoice;
const steps = JSON.parse(readFileSync(arg('steps'), 'utf8')) as Step[];
const outPath = arg('out');
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const env = await nodeSuiteEnv(adapter, process.cwd(), log);

const results: unknown[] = [];
for (const step of steps) {
  try {
    results.push(await runStep(env, step));
  } catch (e) {
    results.push({ error: String((e as Error).stack ?? e) });
  }
  writeFileSync(outPath, JSON.stringify(results));
}
// Dawn keeps the process alive with its own threads; leave explicitly.
process.exit(0);
