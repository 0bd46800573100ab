// Readback through a ReadbackSlot (issue #6): the kept staging buffer never returns stale or mixed
// data, the sleep-before-map still returns the right values, and the learned GPU time follows the
// rules in src/gpu/context.ts; GpuContext.finish sleeps first only where maps are deferred.

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

describe('finish, sleeping first', () => {
  it('sleeps on a timer before waiting only where maps are deferred (Node), and waits for the work either way', async () => {
    const ctx = await testContext();
    const seed = freshSeed();
    const rng = makeRng(seed);
    const count = 4099;
    const x = upload(ctx, new Float32Array(count), 'finish test input');
    const y = poisoned(ctx, count, 'finish test output');
    const defer = ctx.deferMaps;
    try {
      for (const deferred of [true, false]) {
        ctx.deferMaps = deferred;
        const data = randomArray(count, rng);
        writeBuffer(ctx.device, x, data);
        ctx.run([reluDispatch(ctx, count, x, y)]);
        const t0 = performance.now();
        // Deferred: at least the 30 ms asked; not deferred: no 3 s sleep (a ReLU of 4,099 values).
        await ctx.finish(deferred ? 30 : 3000);
        const elapsed = performance.now() - t0;
        if (deferred) expect(elapsed).toBeGreaterThanOrEqual(29);
        else expect(elapsed).toBeLessThan(2000);
        const [out] = await ctx.readback([{ buffer: y, byteLength: count * 4 }]);
        expect(relativeError(out, relu(data)), `seed ${seed}, deferred ${deferred}`).toBe(0);
      }
    } finally {
      ctx.deferMaps = defer;
    }
  });
});

describe('readback into given arrays', () => {
  it('fills the arrays given, leaves the others new, and refuses a wrong length before copying anything', async () => {
    const ctx = await testContext();
    const seed = freshSeed();
    const rng = makeRng(seed);
    const a = randomArray(1003, rng);
    const b = randomArray(77, rng);
    const sources = [{ buffer: upload(ctx, a), byteLength: a.length * 4 }, { buffer: upload(ctx, b), byteLength: b.length * 4 }];
    const target = new Float32Array(b.length).fill(Number.NaN);
    const [ra, rb] = await ctx.readback(sources, undefined, undefined, [undefined, target]);
    expect(rb).toBe(target);
    expect(relativeError(rb, b), `seed ${seed}`).toBe(0);
    expect(relativeError(ra, a), `seed ${seed}`).toBe(0);
    await expect(ctx.readback(sources, undefined, undefined, [new Float32Array(1002)])).rejects.toThrow(/target 0 holds 1002 values, its source 1003/);
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

describe('forward into the arrays of an earlier result', () => {
  it('overwrites them in place with the same values a fresh forward returns, and leaves taps it lacks to new arrays', async () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    const weights = randomWeights(seed);
    const engine = await ResNetEngine.create({ context: await testContext() });
    try {
      engine.loadWeights(weights);
      const shape = [2, 3, 37, 35];
      const inputs = [0, 1].map(() => ({ shape, data: randomArray(2 * 3 * 37 * 35, rng, -2, 2) }));
      const taps = ['relu', 'layer1.0.bn1', 'layer1.0.skip', 'layer1.0.sum', 'layer1.0', 'layer2.0.downsample.1', 'fc'];
      const fresh = await Promise.all(inputs.map((x) => engine.forward(x, { taps })));
      // The first result, poisoned, is the target of the second input's forward (all but 'fc').
      const first = await engine.forward(inputs[0], { taps });
      for (const t of first.values()) t.data.fill(Number.NaN);
      const into = new Map([...first].filter(([tap]) => tap !== 'fc'));
      const second = await engine.forward(inputs[1], { taps, into });
      for (const tap of taps) {
        const got = second.get(tap)!;
        expect(got.shape, tap).toEqual(fresh[1].get(tap)!.shape);
        // Same plan, same kernels: bit for bit what a forward into new arrays returns.
        expect(relativeError(got.data, fresh[1].get(tap)!.data), `${tap} (seed ${seed})`).toBe(0);
        if (tap === 'fc') expect(got.data).not.toBe(first.get('fc')!.data);
        else expect(got.data, tap).toBe(first.get(tap)!.data);
      }
      // And back again, each forward into the one before's arrays.
      const third = await engine.forward(inputs[0], { taps, into: second });
      for (const tap of taps) expect(relativeError(third.get(tap)!.data, fresh[0].get(tap)!.data), tap).toBe(0);
    } finally {
      engine.dispose();
    }
  });

  it('refuses a target of the wrong shape, size or type, or two that overlap, before any GPU work', async () => {
    const engine = await ResNetEngine.create({ context: await testContext() });
    try {
      engine.loadWeights(randomWeights(3));
      const x = { shape: [1, 3, 33, 33], data: new Float32Array(3 * 33 * 33) };
      const taps = ['layer1.0', 'layer1.1'];
      const plane = 64 * 9 * 9; // layer1 at 33 x 33: 17 after the stem conv, 9 after the max pool
      const ok = () => ({ shape: [1, 64, 9, 9], data: new Float32Array(plane) });
      await expect(engine.forward(x, { taps, into: new Map([['layer1.0', { shape: [1, 64, 9, 8], data: new Float32Array(plane) }]]) }))
        .rejects.toThrow(/into: tap 'layer1.0' is \[1,64,9,9\]/);
      await expect(engine.forward(x, { taps, into: new Map([['layer1.0', { shape: [1, 64, 9, 9], data: new Float32Array(plane + 1) }]]) }))
        .rejects.toThrow(/into: tap 'layer1.0' is \[1,64,9,9\] \(5184 values\), the array given is \[1,64,9,9\] with 5185 values/);
      await expect(engine.forward(x, { taps, into: new Map([['layer1.1', { shape: [1, 64, 9, 9], data: new Float64Array(plane) as unknown as Float32Array }]]) }))
        .rejects.toThrow(/into: tap 'layer1.1' needs a Float32Array, got Float64Array/);
      const shared = new Float32Array(plane + 10);
      await expect(engine.forward(x, { taps, into: new Map([['layer1.0', { shape: [1, 64, 9, 9], data: shared.subarray(0, plane) }], ['layer1.1', { shape: [1, 64, 9, 9], data: shared.subarray(10) }]]) }))
        .rejects.toThrow(/into: the arrays for taps 'layer1.0' and 'layer1.1' overlap/);
      await expect(engine.forward(x, { taps, into: { 'layer1.0': ok() } as unknown as Map<string, never> }))
        .rejects.toThrow(/into must be a Map/);
      // Nothing was run or written: a valid request still works, into arrays placed side by side.
      const side = new Float32Array(2 * plane);
      const got = await engine.forward(x, { taps, into: new Map([['layer1.0', { shape: [1, 64, 9, 9], data: side.subarray(0, plane) }], ['layer1.1', ok()]]) });
      expect(got.get('layer1.0')!.data.buffer).toBe(side.buffer);
    } finally {
      engine.dispose();
    }
  });
});
