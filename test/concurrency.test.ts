// Concurrent forwards from one engine (issue #8): requests made at the same time, with different
// inputs, batch sizes, spatial sizes, tap sets and ablations, each come back equal to their own
// float64 reference, including when they share a compiled plan (same shape, different input) and
// when the plan cache is too small to hold them all (plans evicted while others wait). A failing
// request does not disturb the others.

import { describe, expect, it } from 'vitest';
import { ResNetEngine } from '../src/model/engine';
import type { HostTensor, TensorMap } from '../src/weights/safetensors';
import { randomWeights } from '../src/weights/random';
import { freshSeed, makeRng, randomArray, relativeError, testContext } from './helpers/gpu';
import { referenceForward } from './reference/resnet';

// As in test/network.test.ts: float32 through 20 layers of sums of up to a few thousand terms lands
// near 1e-5 of a tap's scale; 1e-4 leaves a margin. Another request's data (cross-contamination) or
// a stale buffer gives errors of order 1.
const NETWORK_TOLERANCE = 1e-4;

interface Request {
  input: HostTensor;
  taps: string[];
  ablations?: { tap: string; channels: number[] }[];
}

function input(batch: number, height: number, width: number, seed: number): HostTensor {
  return { shape: [batch, 3, height, width], data: randomArray(batch * 3 * height * width, makeRng(seed), -2, 2) };
}

/** The float64 reference for a request, ablations applied by zeroing channels as the tap is produced. */
function reference(weights: TensorMap, r: Request) {
  return referenceForward(weights, r.input, 'fc', (tap, data, shape) => {
    const a = r.ablations?.find((x) => x.tap === tap);
    if (!a) return;
    const plane = shape[2] * shape[3];
    for (let n = 0; n < shape[0]; n++) for (const c of a.channels) data.fill(0, (n * shape[1] + c) * plane, (n * shape[1] + c + 1) * plane);
  });
}

async function runConcurrently(engine: ResNetEngine, weights: TensorMap, requests: Request[], seed: number) {
  const results = await Promise.all(requests.map((r) => engine.forward(r.input, { taps: r.taps, ablations: r.ablations })));
  requests.forEach((r, i) => {
    const want = reference(weights, r);
    expect([...results[i].keys()], `request ${i}`).toEqual(r.taps);
    for (const tap of r.taps) {
      const got = results[i].get(tap)!;
      expect(got.shape, `request ${i} ${tap}`).toEqual(want.get(tap)!.shape);
      expect(relativeError(got.data, want.get(tap)!.data), `request ${i} ${tap} (seed ${seed})`).toBeLessThanOrEqual(NETWORK_TOLERANCE);
    }
  });
  return results;
}

describe('concurrent forwards from one engine', () => {
  it('serves five different requests at once, each equal to its own reference', async () => {
    const seed = freshSeed();
    const weights = randomWeights(seed);
    const ctx = await testContext();
    const engine = await ResNetEngine.create({ context: ctx });
    engine.loadWeights(weights);
    const requests: Request[] = [
      { input: input(1, 32, 32, seed + 1), taps: ['fc'] },
      { input: input(2, 40, 36, seed + 2), taps: ['layer1.1', 'layer2.0.bn2', 'fc'] },
      { input: input(1, 32, 32, seed + 3), taps: ['fc'] }, // same plan as the first, other input
      { input: input(3, 33, 35, seed + 4), taps: ['layer3.1.sum', 'avgpool'] },
      { input: input(1, 32, 32, seed + 5), taps: ['layer2.1', 'fc'], ablations: [{ tap: 'layer1.1', channels: [0, 5, 63] }] },
    ];
    const results = await runConcurrently(engine, weights, requests, seed);
    // The two requests that shared a plan got their own answers, not one copy.
    expect(relativeError(results[0].get('fc')!.data, Float64Array.from(results[2].get('fc')!.data))).toBeGreaterThan(1e-3);
    console.log(`5 concurrent requests (seed ${seed}) match their references`);
    engine.dispose();
  });

  it('stays correct when the plan cache is smaller than the set of requests in flight', async () => {
    const seed = freshSeed();
    const weights = randomWeights(seed);
    const ctx = await testContext();
    const before = ctx.pool.bytesInUse;
    // One cached plan: every other request evicts it while earlier ones may still be queued.
    const engine = await ResNetEngine.create({ context: ctx, maxCachedPlans: 1 });
    engine.loadWeights(weights);
    const requests: Request[] = [];
    for (let i = 0; i < 6; i++) {
      requests.push(i % 2 === 0
        ? { input: input(1, 32, 32, seed + 10 + i), taps: ['layer2.1', 'fc'] }
        : { input: input(2, 34, 33, seed + 10 + i), taps: ['maxpool', 'layer1.0.bn1', 'fc'] });
    }
    await runConcurrently(engine, weights, requests, seed);
    // A bad request among good ones rejects alone.
    const bad = engine.forward({ shape: [1, 3, 32, 32], data: new Float32Array(10) });
    const good = engine.forward(requests[0].input, { taps: requests[0].taps });
    await expect(bad).rejects.toThrow(/holds 10 values/);
    const g = await good;
    expect(relativeError(g.get('fc')!.data, reference(weights, requests[0]).get('fc')!.data)).toBeLessThanOrEqual(NETWORK_TOLERANCE);
    engine.dispose();
    // Evicted plans are released once the forwards queued behind them are done: nothing left in use.
    await new Promise((r) => setTimeout(r, 0));
    expect(ctx.pool.bytesInUse).toBe(before);
  });
});
