// A small soak (issue #8; the full one is bench/soak.ts, `npm run bench:soak`): 201 forwards from one
// engine, two requested at a time, alternating inputs. The buffer pool must not change at all after
// the first forward (plans reuse their buffers), the JS heap must not grow per forward, and every
// result must be bit-identical to the first forward of the same input (itself checked against the
// float64 reference).

import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { ResNetEngine } from '../src/model/engine';
import { randomWeights } from '../src/weights/random';
import { freshSeed, makeRng, randomArray, relativeError, testContext } from './helpers/gpu';
import { referenceForward } from './reference/resnet';

// gc() without restarting the worker with --expose-gc: the flag can be set at run time and the
// function picked up from a fresh context.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

// The first forward, then 100 pairs.
const FORWARDS = Number(process.env.SOAK_TEST_FORWARDS ?? 201);
const WARMUP = Number(process.env.SOAK_TEST_WARMUP ?? 50);
const SAMPLE_EVERY = 10;
// Heap bounds. The leak fixed in #8 (each readback left a reaction on the never-settling device.lost
// promise) cost ~730 bytes per readback in isolation and ~1,400 bytes per forward in the soak
// benchmark. After gc the heap still moves by +-200 KiB between samples (V8's old space and JIT
// code; measured, not growing), so 150 forwards cannot resolve a few hundred bytes per forward: the
// forward soak bounds the slope at 1 KiB per forward (16 samples, every 10 forwards from 50 on) and
// the readback path, cheap enough to repeat 2,000 times, is bounded at 100 bytes per call.
const HEAP_SLOPE_LIMIT = 1024;
const READBACKS = 4000;
const READBACK_SLOPE_LIMIT = 100;
// As in test/network.test.ts: float32 through 20 layers lands near 1e-5 of a tap's scale.
const NETWORK_TOLERANCE = 1e-4;

function slope(xs: number[], ys: number[]): number {
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let sxy = 0;
  let sxx = 0;
  xs.forEach((x, i) => { sxy += (x - mx) * (ys[i] - my); sxx += (x - mx) ** 2; });
  return sxy / sxx;
}

describe('soak', () => {
  it(`runs ${FORWARDS} forwards with a flat buffer pool and heap, every result exact`, async () => {
    const seed = freshSeed();
    const weights = randomWeights(seed);
    const ctx = await testContext();
    const engine = await ResNetEngine.create({ context: ctx });
    engine.loadWeights(weights);
    const taps = ['layer1.1', 'fc'];
    const inputs = [0, 1, 2].map((k) => ({ shape: [1, 3, 32, 32], data: randomArray(3 * 32 * 32, makeRng(seed + k), -2, 2) }));
    const first: (Map<string, { data: Float32Array }> | null)[] = inputs.map(() => null);
    let mismatches = 0;
    const one = async (i: number) => {
      const k = i % inputs.length;
      const got = await engine.forward(inputs[k], { taps });
      if (!first[k]) {
        first[k] = got;
        const want = referenceForward(weights, inputs[k]);
        for (const t of taps) expect(relativeError(got.get(t)!.data, want.get(t)!.data), `${t} seed ${seed}`).toBeLessThanOrEqual(NETWORK_TOLERANCE);
        return;
      }
      for (const t of taps) {
        const a = new Uint32Array(got.get(t)!.data.buffer);
        const b = new Uint32Array(first[k]!.get(t)!.data.buffer);
        if (a.length !== b.length || a.some((v, j) => v !== b[j])) mismatches++;
      }
    };
    await one(0);
    const pool = () => ({ allocated: ctx.pool.bytesAllocated, inUse: ctx.pool.bytesInUse, buffers: ctx.pool.bufferCount });
    const pool1 = pool();
    const xs: number[] = [];
    const heap: number[] = [];
    for (let done = 1; done < FORWARDS; done += 2) {
      await Promise.all([one(done), one(done + 1)]);
      const n = done + 2;
      if (n % SAMPLE_EVERY === 1) expect(pool(), `pool after ${n} forwards`).toEqual(pool1);
      if (n >= WARMUP && n % SAMPLE_EVERY === 1) {
        gc();
        gc();
        xs.push(n);
        heap.push(process.memoryUsage().heapUsed);
      }
    }
    const heapSlope = slope(xs, heap);
    console.log(`soak (seed ${seed}, ${ctx.adapter.name}): pool ${pool1.allocated} B in ${pool1.buffers} buffers throughout; ` +
      `heap ${(heap[0] / 2 ** 20).toFixed(2)} -> ${(heap.at(-1)! / 2 ** 20).toFixed(2)} MiB, slope ${heapSlope.toFixed(1)} B/forward`);
    expect(mismatches, `seed ${seed}`).toBe(0);
    expect(pool()).toEqual(pool1);
    expect(heapSlope).toBeLessThan(HEAP_SLOPE_LIMIT);
    engine.dispose();
  });

  it(`reads back ${READBACKS} times with a flat heap`, async () => {
    const ctx = await testContext();
    const values = randomArray(256, makeRng(freshSeed()));
    const buffer = ctx.createStorageBuffer('soak readback source', values);
    const xs: number[] = [];
    const heap: number[] = [];
    let wrong = 0;
    for (let i = 1; i <= READBACKS; i++) {
      const [got] = await ctx.readback([{ buffer, byteLength: values.byteLength }]);
      if (got.some((v, j) => v !== values[j])) wrong++;
      if (i >= READBACKS / 4 && i % (READBACKS / 8) === 0) {
        gc();
        gc();
        xs.push(i);
        heap.push(process.memoryUsage().heapUsed);
      }
    }
    buffer.destroy();
    const heapSlope = slope(xs, heap);
    console.log(`readback soak: heap ${(heap[0] / 2 ** 20).toFixed(2)} -> ${(heap.at(-1)! / 2 ** 20).toFixed(2)} MiB over ` +
      `${READBACKS * 3 / 4} readbacks, slope ${heapSlope.toFixed(1)} B/readback`);
    expect(wrong).toBe(0);
    expect(heapSlope).toBeLessThan(READBACK_SLOPE_LIMIT);
  });
});
