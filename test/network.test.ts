// The whole network against the float64 CPU reference, on seeded random weights with non-trivial
// BatchNorm statistics, at small awkward input sizes and batch 2, every tap compared.

import { describe, expect, it } from 'vitest';
import { allTapNames } from '../src/model/architecture';
import { ResNetEngine } from '../src/model/engine';
import { MissingWeightsError } from '../src/model/planner';
import { randomWeights } from '../src/weights/random';
import { freshSeed, makeRng, randomArray, relativeError, testContext } from './helpers/gpu';
import { referenceForward } from './reference/resnet';

// Tolerance: float32 through 20 layers of up to 4608-term sums. Each layer adds ~sqrt(n)*2^-24
// relative error (about 4e-6 for n = 4608) and ReLU/BN pass it on roughly unamplified, so the
// worst element of the deepest taps lands near 1e-5 of the tap's scale; 1e-4 leaves a 10x margin
// while still catching any indexing or epilogue error (those give errors of order 1).
const NETWORK_TOLERANCE = 1e-4;

describe('ResNet18 forward vs the float64 reference', () => {
  it('matches every tap on random weights, batch 2, 45x38 input', async () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    const weights = randomWeights(seed);
    const input = { shape: [2, 3, 45, 38], data: randomArray(2 * 3 * 45 * 38, rng, -2, 2) };
    const ctx = await testContext();
    const engine = await ResNetEngine.create({ context: ctx });
    engine.loadWeights(weights);
    const taps = allTapNames();
    const got = await engine.forward(input, { taps });
    const want = referenceForward(weights, input);
    const errors: Record<string, number> = {};
    for (const tap of taps) {
      const g = got.get(tap)!;
      const w = want.get(tap)!;
      expect(g.shape, tap).toEqual(w.shape);
      errors[tap] = relativeError(g.data, w.data);
    }
    console.log(`network vs float64 reference (seed ${seed}), worst error / tap scale:\n` +
      Object.entries(errors).map(([t, e]) => `  ${t.padEnd(22)} ${e.toExponential(2)}`).join('\n'));
    for (const [tap, e] of Object.entries(errors)) expect(e, `${tap} (seed ${seed})`).toBeLessThanOrEqual(NETWORK_TOLERANCE);
    engine.dispose();
  });

  it('gives the same taps whichever subset is asked for (fused and unfused paths agree)', async () => {
    const seed = freshSeed();
    const weights = randomWeights(seed);
    const input = { shape: [1, 3, 33, 35], data: randomArray(3 * 33 * 35, makeRng(seed + 1), -2, 2) };
    const engine = await ResNetEngine.create({ context: await testContext() });
    engine.loadWeights(weights);
    const all = await engine.forward(input, { taps: allTapNames() });
    // Only the final taps: every ReLU fused, no intermediate materialised.
    const few = await engine.forward(input, { taps: ['layer2.1', 'fc'] });
    // Not bit-identical: a fused and an unfused epilogue are separately compiled pipelines, and the
    // driver may contract acc * scale + shift into an FMA in one and not the other; those 1-ulp
    // differences then pass through later layers. 1e-5 of scale bounds that with a wide margin
    // (measured up to ~1e-6) and still fails on any wrong fusion (errors of order 1).
    for (const tap of ['layer2.1', 'fc']) {
      expect(relativeError(few.get(tap)!.data, Float64Array.from(all.get(tap)!.data)), `${tap} seed ${seed}`).toBeLessThanOrEqual(1e-5);
    }
    // A layer1 tap plans no later stage.
    const plan = engine.plan(1, 33, 35, ['layer1.0.bn2']);
    expect(plan.dispatches.some((d) => d.label.startsWith('layer2'))).toBe(false);
    engine.dispose();
  });

  it('stops at the last computable block when tensors are missing, naming them', async () => {
    const weights = randomWeights(7);
    weights.delete('layer4.0.conv1.weight');
    const engine = await ResNetEngine.create({ context: await testContext() });
    engine.loadWeights(weights);
    const status = engine.computability();
    expect(status.lastComputable).toBe('layer3.1');
    expect(status.missingTensors).toEqual(['layer4.0.conv1.weight']);
    expect(status.computable).toContain('layer3.1');
    expect(status.notComputable).toContain('fc');
    const input = { shape: [1, 3, 32, 32], data: randomArray(3 * 32 * 32, makeRng(1)) };
    await expect(engine.forward(input, { taps: ['fc'] })).rejects.toThrow(MissingWeightsError);
    await expect(engine.forward(input, { taps: ['fc'] })).rejects.toThrow(/layer4\.0\.conv1\.weight/);
    const ok = await engine.forward(input, { taps: ['layer3.1'] });
    expect(ok.get('layer3.1')!.shape).toEqual([1, 256, 2, 2]);
    engine.dispose();
  });

  it('serves two concurrent forwards correctly', async () => {
    const weights = randomWeights(11);
    const engine = await ResNetEngine.create({ context: await testContext() });
    engine.loadWeights(weights);
    const a = { shape: [1, 3, 32, 32], data: randomArray(3 * 32 * 32, makeRng(2)) };
    const b = { shape: [1, 3, 32, 32], data: randomArray(3 * 32 * 32, makeRng(3)) };
    const [ra, rb] = await Promise.all([engine.forward(a), engine.forward(b)]);
    const wa = referenceForward(weights, a).get('fc')!.data;
    const wb = referenceForward(weights, b).get('fc')!.data;
    expect(relativeError(ra.get('fc')!.data, wa)).toBeLessThanOrEqual(NETWORK_TOLERANCE);
    expect(relativeError(rb.get('fc')!.data, wb)).toBeLessThanOrEqual(NETWORK_TOLERANCE);
    engine.dispose();
  });
});
