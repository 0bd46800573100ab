// Readback through a ReadbackSlot (issue #6): the kept staging buffer never returns stale or mixed
// data, the sleep-before-map still returns the right values, and the learned GPU time follows the
// rules in src/gpu/context.ts.

import { describe, expect, it } from 'vitest';
import { ReadbackSlot } from '../src/gpu/context';
import { reluDispatch } from '../src/kernels/relu';
import { ResNetEngine } from '../src/model/engine';
import { randomWeights } from '../src/weights/random';
import { writeBuffer } from '../src/gpu/context';
import { relu } from './reference/cpu';
import { freshSeed, makeRng, poisoned, randomArray, relativeError, testContext, upload } from './helpers/gpu';
import { referenceForward } from './reference/resnet';

describe('ReadbackSlot timing rules', () => {
  it('ignores the cold first run, then learns, shrinks after oversleeping and averages after waking early', () => {
    const slot = new ReadbackSlot();
    expect(slot.sleepMs()).toBe(0);
    slot.record(0, 5000, 5000); // cold: shader compilation, not a forward's usual time
    expect(slot.estimateMs).toBeNull();
    expect(slot.sleepMs()).toBe(0);
    slot.record(0, 300, 300); // no sleep: an exact observation
    expect(slot.estimateMs).toBe(300);
    expect(slot.sleepMs()).toBeCloseTo(300 * ReadbackSlot.SLEEP_FRACTION, 9);
    // Slept 255, the map then took 60 more: the work took 315; average with 300.
    slot.record(255, 315, 60);
    expect(slot.estimateMs).toBeCloseTo(307.5, 9);
    // Slept 261, the result was already there: the work took at most 261; aim below it.
    slot.record(261, 261.3, 0.3);
    expect(slot.estimateMs).toBeCloseTo(261 * 0.8, 9);
    expect(slot.sleepMs()).toBeLessThan(261);
  });

  it('does not sleep for work shorter than a few timer ticks', () => {
    const slot = new ReadbackSlot();
    slot.record(0, 1, 1);
    slot.record(0, 2, 2);
    expect(slot.estimateMs).toBe(2);
    expect(slot.sleepMs()).toBe(0);
  });
});

describe('readback with a slot', () => {
  it('returns each run\'s own values through the kept staging buffer, sleeping or not', async () => {
    const ctx = await testContext();
    const seed = freshSeed();
    const rng = makeRng(seed);
    const count = 3 * 37 * 29 + 3; // odd: the copy length is not a multiple of 256 bytes
    const x = upload(ctx, new Float32Array(count), 'readback test input');
    const y = poisoned(ctx, count, 'readback test output');
    const slot = new ReadbackSlot();
    const defer = ctx.deferMaps;
    try {
      for (let run = 0; run < 6; run++) {
        ctx.deferMaps = run % 2 === 0;
        if (run >= 2) slot.estimateMs = 12 / ReadbackSlot.SLEEP_FRACTION; // force a 12 ms sleep
        const data = randomArray(count, rng);
        writeBuffer(ctx.device, x, data);
        const encoder = ctx.device.createCommandEncoder({ label: 'readback test encoder' });
        ctx.encode(encoder, [reluDispatch(ctx, count, x, y)]);
        const t0 = performance.now();
        const [out] = await ctx.readback([{ buffer: y, byteLength: count * 4 }], encoder, slot);
        const elapsed = performance.now() - t0;
        // ReLU is exact in float32, so any stale or mixed element shows.
        expect(relativeError(out, relu(data)), `seed ${seed}, run ${run}`).toBe(0);
        if (run >= 2 && ctx.deferMaps) expect(elapsed).toBeGreaterThanOrEqual(11);
      }
      expect(slot.runs).toBe(6);
    } finally {
      ctx.deferMaps = defer;
      slot.destroy();
    }
  });

  it('serves two readbacks in flight at once on one slot (the second gets its own buffer)', async () => {
    const ctx = await testContext();
    const seed = freshSeed();
    const rng = makeRng(seed);
    const count = 1001;
    const a = randomArray(count, rng);
    const b = randomArray(count, rng);
    const slot = new ReadbackSlot();
    try {
      const [ra, rb] = await Promise.all([
        ctx.readback([{ buffer: upload(ctx, a), byteLength: count * 4 }], undefined, slot),
        ctx.readback([{ buffer: upload(ctx, b), byteLength: count * 4 }], undefined, slot),
      ]);
      expect(relativeError(ra[0], a), `seed ${seed}`).toBe(0);
      expect(relativeError(rb[0], b), `seed ${seed}`).toBe(0);
      // The kept buffer is free again afterwards.
      const [rc] = await ctx.readback([{ buffer: upload(ctx, b), byteLength: count * 4 }], undefined, slot);
      expect(relativeError(rc, b), `seed ${seed}`).toBe(0);
    } finally {
      slot.destroy();
    }
  });
});

describe('repeated forwards of one plan', () => {
  it('alternating inputs through the plan\'s slot, sleeping before the map, each match the float64 reference', async () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    const weights = randomWeights(seed);
    const engine = await ResNetEngine.create({ context: await testContext() });
    const defer = engine.ctx.deferMaps;
    try {
      engine.loadWeights(weights);
      engine.ctx.deferMaps = true;
      const shape = [1, 3, 35, 33];
      const inputs = [0, 1].map(() => ({ shape, data: randomArray(3 * 35 * 33, rng, -2, 2) }));
      const want = inputs.map((x) => referenceForward(weights, x, 'layer2.0').get('layer2.0')!.data);
      const plan = engine.plan(1, 35, 33, ['layer2.0']);
      for (let run = 0; run < 5; run++) {
        // From the third run on, force a sleep (the learned time of a forward this small is below
        // the timer threshold), so the map happens after the timer as it does at 224.
        if (run >= 2) plan.readbackSlot.estimateMs = 6 / 0.85;
        const got = await engine.forward(inputs[run % 2], { taps: ['layer2.0'] });
        // The network test's tolerance (test/network.test.ts says why: float32 sums through the net).
        expect(relativeError(got.get('layer2.0')!.data, want[run % 2]), `seed ${seed}, run ${run}`).toBeLessThanOrEqual(1e-4);
      }
      expect(plan.readbackSlot.runs).toBe(5);
    } finally {
      engine.ctx.deferMaps = defer;
      engine.dispose();
    }
  });
});
