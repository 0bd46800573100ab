// Page script of bench/ab-options.mjs: two engines of this tree that differ only in their options
// (EngineOptions A and B, say `{ winogradStride2: false }` against the default), the same random
// ResNet18 weights and input, their batch-1 forwards at 224 (upload, forward, logits read back)
// interleaved round by round, the order alternating, so that a machine whose speed drifts slows both
// alike. The page-side counterpart of bench/ab-trees.mjs, for what only a browser shows.

import { ResNetEngine } from '../../src/model/engine';
import type { EngineOptions } from '../../src/model/engine';
import { randomWeights } from '../../src/weights/random';

declare global {
  interface Window {
    abOptions(options: { featureLevel: 'core' | 'compatibility'; a: EngineOptions; b: EngineOptions; rounds: number; warmups: number }): Promise<AbOptionsResult>;
  }
}

export interface AbOptionsResult {
  adapter: string;
  /** Each engine's kernel choices, as it reports them. */
  kernels: { a: unknown; b: unknown };
  /** max |logits A - logits B| over their largest magnitude. */
  logitsAgree: number;
  /** Every timed round (ms), warm-ups left out. */
  wallMs: { a: number[]; b: number[] };
}

window.abOptions = async ({ featureLevel, a, b, rounds, warmups }) => {
  const weights = randomWeights(20261129);
  const input = { shape: [1, 3, 224, 224], data: new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i)) };
  const engines = { a: await ResNetEngine.create({ featureLevel, ...a }), b: await ResNetEngine.create({ featureLevel, ...b }) };
  try {
    for (const e of Object.values(engines)) e.loadWeights(weights);
    const run = async (k: 'a' | 'b') => (await engines[k].forward(input)).get('fc')!.data;
    const [la, lb] = [await run('a'), await run('b')];
    const scale = Math.max(...la.map(Math.abs));
    const logitsAgree = Math.max(...la.map((v, i) => Math.abs(v - lb[i]))) / scale;
    const wallMs = { a: [] as number[], b: [] as number[] };
    for (let r = -warmups; r < rounds; r++) {
      for (const k of (r & 1 ? ['b', 'a'] : ['a', 'b']) as ('a' | 'b')[]) {
        const t0 = performance.now();
        await run(k);
        if (r >= 0) wallMs[k].push(performance.now() - t0);
      }
    }
    return { adapter: engines.a.adapter.name, kernels: { a: engines.a.kernels, b: engines.b.kernels }, logitsAgree, wallMs };
  } finally {
    engines.a.dispose();
    engines.b.dispose();
  }
};
