// GPU faults and limits (issue #8): a lost device is reported as one clear DeviceLostError (for the
// forward in flight, the one queued behind it and every later one), nothing hangs, dispose() still
// works and a new engine runs correctly afterwards; requests that exceed the device's buffer limits
// or the engine's memory budget, and malformed inputs, fail with a clear error before any GPU work
// (the pool does not change); a real out-of-memory from the driver becomes a GpuOutOfMemoryError.

import { describe, expect, it } from 'vitest';
import { DeviceLostError, type GpuContext } from '../src/gpu/context';
import { GpuLimitError, GpuOutOfMemoryError, GpuValidationError, captureGpuErrors } from '../src/gpu/errors';
import { type AdapterChoice, createNodeContext, defaultCpuAdapter } from '../src/gpu/node';
import { ResNetEngine } from '../src/model/engine';
import { randomWeights } from '../src/weights/random';
import { freshSeed, makeRng, randomArray, relativeError, testContext } from './helpers/gpu';
import { referenceForward } from './reference/resnet';

// Same bound and reasoning as test/network.test.ts: float32 through 20 layers of sums of up to a few
// thousand terms lands near 1e-5 of a tap's scale; 1e-4 leaves a margin and still catches any
// corruption (a stale or foreign buffer gives errors of order 1).
const NETWORK_TOLERANCE = 1e-4;
const adapterChoice = (process.env.RESNET_STREAM_ADAPTER as AdapterChoice | undefined) ?? defaultCpuAdapter();

/** Reject with a clear message if `p` has not settled within `ms` (a hang must fail the test, not stall it). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms (hang)`)), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** The rejection of `p` (fails if it resolves). */
async function rejection(p: Promise<unknown>, what: string): Promise<Error> {
  try {
    await within(p, 20_000, what);
  } catch (e) {
    return e as Error;
  }
  throw new Error(`${what}: resolved, expected a rejection`);
}

function poolState(ctx: GpuContext) {
  return { allocated: ctx.pool.bytesAllocated, inUse: ctx.pool.bytesInUse, buffers: ctx.pool.bufferCount };
}

function input(batch: number, height: number, width: number, seed: number) {
  return { shape: [batch, 3, height, width], data: randomArray(batch * 3 * height * width, makeRng(seed), -2, 2) };
}

describe('device loss', () => {
  it('rejects the forward in flight, the one queued and later ones with one clear DeviceLostError; a new engine works', async () => {
    const seed = freshSeed();
    const weights = randomWeights(seed);
    const a = input(1, 32, 32, seed + 1);
    const b = input(1, 40, 36, seed + 2);
    // A context of its own: destroying the shared test context would break the other tests.
    const ctx = await createNodeContext(adapterChoice);
    const engine = await ResNetEngine.create({ context: ctx });
    engine.loadWeights(weights);
    const first = await within(engine.forward(a), 60_000, 'first forward');
    expect(relativeError(first.get('fc')!.data, referenceForward(weights, a).get('fc')!.data), `seed ${seed}`)
      .toBeLessThanOrEqual(NETWORK_TOLERANCE);

    // Destroy the device right after the next submission, so that forward is genuinely in flight
    // (submitted, its readback map pending) when the device goes; a second one waits in the queue.
    const queue = ctx.device.queue;
    const submit = queue.submit.bind(queue);
    let submissions = 0;
    queue.submit = (buffers: Iterable<GPUCommandBuffer>) => {
      submit(buffers);
      submissions++;
      ctx.device.destroy();
    };
    const inFlight = engine.forward(a);
    const queued = engine.forward(b, { taps: ['layer2.1', 'fc'] });
    const errors = [await rejection(inFlight, 'forward in flight'), await rejection(queued, 'queued forward')];
    queue.submit = submit;
    expect(submissions).toBe(1);
    const later = await rejection(engine.forward(a), 'forward after the loss');
    for (const e of [...errors, later]) {
      expect(e).toBeInstanceOf(DeviceLostError);
      // One line that says what happened and what to do.
      expect(e.message).not.toContain('\n');
      expect(e.message).toMatch(/^WebGPU device lost \(destroyed\)/);
      expect(e.message).toMatch(/create a new one/);
    }
    console.log(`device loss, as reported: ${later.message}`);
    expect(() => engine.dispose()).not.toThrow();
    expect(() => engine.dispose()).not.toThrow(); // twice is harmless
    expect(() => ctx.destroy()).not.toThrow();

    // A new engine on a new context in the same process runs a correct forward.
    const ctx2 = await createNodeContext(adapterChoice);
    const engine2 = await ResNetEngine.create({ context: ctx2 });
    engine2.loadWeights(weights);
    const again = await within(engine2.forward(b, { taps: ['layer2.1', 'fc'] }), 60_000, 'forward on the new engine');
    const want = referenceForward(weights, b);
    for (const tap of ['layer2.1', 'fc']) {
      expect(relativeError(again.get(tap)!.data, want.get(tap)!.data), `${tap} seed ${seed}`).toBeLessThanOrEqual(NETWORK_TOLERANCE);
    }
    engine2.dispose();
    ctx2.destroy();
  });
});

describe('limits and the memory budget, checked before any GPU work', () => {
  it('names the tensor, its size and the storage-binding limit when a batch is too large', async () => {
    const ctx = await testContext();
    const engine = await ResNetEngine.create({ context: ctx, maxMemoryBytes: Infinity });
    engine.loadWeights(randomWeights(3));
    const limit = Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize);
    // The stem's output (the relu tap when only fc is read back), [N, 64, 16, 16] at 32x32, is the
    // largest tensor: 64 KiB per image.
    const batch = Math.floor(limit / (64 * 16 * 16 * 4)) + 1;
    const before = poolState(ctx);
    let error: Error | null = null;
    try {
      engine.plan(batch, 32, 32, ['fc']);
    } catch (e) {
      error = e as Error;
    }
    expect(error).toBeInstanceOf(GpuLimitError);
    console.log(`limit, as reported: ${error!.message}`);
    expect(error!.message).toContain(`relu [${batch}, 64, 16, 16]`);
    expect(error!.message).toContain(`${((batch * 64 * 16 * 16 * 4) / 2 ** 20).toFixed(1)} MiB`);
    expect(error!.message).toContain(`${(limit / 2 ** 20).toFixed(1)} MiB`);
    expect(error!.message).toMatch(/maxStorageBufferBindingSize|maxBufferSize/);
    expect(poolState(ctx)).toEqual(before);
    // The same through forward() with a real input (where that input is of reasonable size).
    if (batch * 3 * 32 * 32 * 4 <= 256 * 2 ** 20) {
      const big = { shape: [batch, 3, 32, 32], data: new Float32Array(batch * 3 * 32 * 32) };
      await expect(engine.forward(big)).rejects.toThrow(GpuLimitError);
      expect(poolState(ctx)).toEqual(before);
    }
    // A huge image at batch 1 too.
    expect(() => engine.plan(1, 8192, 8192, ['fc'])).toThrow(/relu \[1, 64, 4096, 4096\] .* needs 4096\.0 MiB/);
    expect(poolState(ctx)).toEqual(before);
    engine.dispose();
  });

  it('refuses a forward over the memory budget with "needs X MiB ... budget Y MiB", allocating nothing', async () => {
    const ctx = await testContext();
    const weights = randomWeights(5);
    const budget = 64 * 2 ** 20;
    const engine = await ResNetEngine.create({ context: ctx, maxMemoryBytes: budget });
    engine.loadWeights(weights); // about 45 MiB of weights: a small forward still fits
    const small = input(1, 32, 32, 9);
    const got = await engine.forward(small);
    expect(relativeError(got.get('fc')!.data, referenceForward(weights, small).get('fc')!.data)).toBeLessThanOrEqual(NETWORK_TOLERANCE);
    const before = poolState(ctx);
    const estimate = engine.estimateMemory(64, 64, 64, ['fc']);
    expect(estimate.total).toBeGreaterThan(budget);
    const error = await rejection(engine.forward(input(64, 64, 64, 10)), 'forward over budget');
    expect(error).toBeInstanceOf(GpuLimitError);
    console.log(`budget, as reported: ${error.message}`);
    expect(error.message).toContain(`needs up to ${(estimate.total / 2 ** 20).toFixed(1)} MiB`);
    expect(error.message).toContain('budget of 64.0 MiB');
    expect(poolState(ctx)).toEqual(before);
    await expect(ResNetEngine.create({ context: ctx, maxMemoryBytes: 0 })).rejects.toThrow(/maxMemoryBytes/);
    engine.dispose();
  });

  it('drops cached plans (and their buffers) when a new plan would push the total over the budget', async () => {
    const ctx = await testContext();
    const weights = randomWeights(12);
    const probe = await ResNetEngine.create({ context: ctx, maxMemoryBytes: Infinity });
    probe.loadWeights(weights);
    const a = input(2, 40, 40, 13);
    const bTaps = ['layer1.1', 'fc'];
    const heldByA = probe.plan(2, 40, 40, ['fc']).activationBytes;
    const needB = probe.estimateMemory(2, 40, 40, bTaps).total;
    probe.dispose();
    // Room for B's forward and half of A's plan: building B must evict A first.
    const budget = needB + heldByA / 2;
    const inUse = ctx.pool.bytesInUse;
    const engine = await ResNetEngine.create({ context: ctx, maxMemoryBytes: budget });
    engine.loadWeights(weights);
    const ra = await engine.forward(a);
    expect(ctx.pool.bytesInUse - inUse).toBe(heldByA);
    const rb = await engine.forward(a, { taps: bTaps });
    await new Promise((r) => setTimeout(r, 0)); // the eviction waits for the queue
    const heldByB = engine.plan(2, 40, 40, bTaps).activationBytes;
    expect(ctx.pool.bytesInUse - inUse).toBe(heldByB);
    const want = referenceForward(weights, a);
    expect(relativeError(ra.get('fc')!.data, want.get('fc')!.data)).toBeLessThanOrEqual(NETWORK_TOLERANCE);
    for (const t of bTaps) expect(relativeError(rb.get(t)!.data, want.get(t)!.data), t).toBeLessThanOrEqual(NETWORK_TOLERANCE);
    engine.dispose();
  });

  it('estimates from above what a plan really allocates', async () => {
    const ctx = await testContext();
    const engine = await ResNetEngine.create({ context: ctx });
    engine.loadWeights(randomWeights(6));
    const cases: [number, number, number, string[]][] = [
      [1, 32, 32, ['fc']], [2, 45, 38, ResNetEngine.allTaps()], [1, 64, 48, ['layer1.0.bn2']],
      [3, 33, 35, ['conv1', 'layer2.0.downsample.1', 'layer3.1.sum']], [1, 32, 32, ['input']],
    ];
    for (const [batch, h, w, taps] of cases) {
      const estimate = engine.estimateMemory(batch, h, w, taps);
      const plan = engine.plan(batch, h, w, taps);
      const staging = plan.outputs.reduce((s, o) => s + Math.ceil(o.byteLength / 256) * 256, 0);
      expect(plan.activationBytes, `${batch}x${h}x${w} ${taps.length} taps`).toBeLessThanOrEqual(estimate.activationBytes);
      expect(staging).toBeLessThanOrEqual(estimate.readbackBytes);
      console.log(`estimate ${batch}x${h}x${w}, ${taps.length} tap(s): activations ${estimate.activationBytes} B (plan holds ${plan.activationBytes} B, ` +
        `${(estimate.activationBytes / plan.activationBytes).toFixed(2)}x)`);
    }
    engine.dispose();
  });

  it('rejects malformed requests with one clear line, before any GPU work', async () => {
    const ctx = await testContext();
    const engine = await ResNetEngine.create({ context: ctx });
    engine.loadWeights(randomWeights(8));
    const ok = input(1, 32, 32, 4);
    const before = poolState(ctx);
    const cases: [string, Promise<unknown>, RegExp][] = [
      ['wrong length', engine.forward({ shape: [1, 3, 32, 32], data: new Float32Array(100) }), /holds 100 values, shape \[1,3,32,32\] needs 3072/],
      ['2 channels', engine.forward({ shape: [1, 2, 32, 32], data: new Float32Array(2048) }), /3 channels/],
      ['too small', engine.forward({ shape: [1, 3, 31, 40], data: new Float32Array(3 * 31 * 40) }), /at least 32x32.*31x40/],
      ['batch 0', engine.forward({ shape: [0, 3, 32, 32], data: new Float32Array(0) }), /batch must be a positive integer, got 0/],
      ['NaN', engine.forward({ shape: [1, 3, 32, 32], data: Object.assign(new Float32Array(3072), { 1100: NaN }) }), /input value NaN at \[0, 1, 2, 12\] is not finite/],
      ['Infinity', engine.forward({ shape: [1, 3, 32, 32], data: Object.assign(new Float32Array(3072), { 5: -Infinity }) }), /-Infinity at \[0, 0, 0, 5\]/],
      ['float64', engine.forward({ shape: [1, 3, 32, 32], data: new Float64Array(3072) as unknown as Float32Array }), /Float32Array, got Float64Array/],
      ['unknown tap', engine.forward(ok, { taps: ['layer9.0'] }), /unknown tap 'layer9\.0'/],
      ['no taps', engine.forward(ok, { taps: [] }), /at least one tap/],
      ['channel', engine.forward(ok, { taps: ['fc'], ablations: [{ tap: 'layer1.0', channels: [64] }] }), /channel 64 is out of range 0\.\.63/],
      ['skip', engine.forward(ok, { taps: ['fc'], ablations: [{ tap: 'layer1.0.skip', channels: [1] }] }), /through the tap it aliases/],
      ['values', engine.forward(ok, { taps: ['fc'], ablations: [{ tap: 'layer1.0', channels: [1, 2], values: [0] }] }), /1 values for 2 channels/],
    ];
    for (const [what, p, pattern] of cases) {
      const e = await rejection(p, what);
      expect(e.message, what).toMatch(pattern);
      expect(e.message, what).not.toContain('\n');
    }
    // Nothing was allocated, and the engine still works.
    expect(poolState(ctx)).toEqual(before);
    await expect(engine.forward(ok)).resolves.toBeInstanceOf(Map);
    engine.dispose();
    await expect(engine.forward(ok)).rejects.toThrow(/has been disposed: create a new engine/);
  });
});

describe('out of memory', () => {
  it('turns a real driver out-of-memory into a GpuOutOfMemoryError naming what was being done', async (test) => {
    const ctx = await testContext();
    // lavapipe and SwiftShader both refuse a buffer of exactly maxBufferSize at creation, without
    // touching memory (measured: lavapipe's vkCreateBuffer and SwiftShader's vkAllocateMemory return
    // VK_ERROR_OUT_OF_DEVICE_MEMORY in under a millisecond). On a real GPU such a buffer may succeed
    // and really take the memory, so only the CPU adapters run this.
    if (!['lavapipe', 'swiftshader'].includes(ctx.adapter.name)) {
      test.skip(`adapter ${ctx.adapter.name}: a maxBufferSize allocation is not known to fail cheaply here`);
      return;
    }
    const size = ctx.limits.maxBufferSize;
    let buffer: GPUBuffer | null = null;
    const { errors } = captureGpuErrors(ctx.device, 'allocating a test buffer of maxBufferSize', () => {
      buffer = ctx.device.createBuffer({ label: 'out-of-memory probe', size, usage: GPUBufferUsage.STORAGE });
    });
    const e = await rejection(errors, 'out-of-memory scope');
    (buffer as GPUBuffer | null)?.destroy();
    console.log(`out of memory, as reported: ${e.message}`);
    expect(e).toBeInstanceOf(GpuOutOfMemoryError);
    expect(e.message).toMatch(/^out of GPU memory while allocating a test buffer of maxBufferSize: .*OUT_OF_DEVICE_MEMORY/);
    expect(e.message).not.toContain('\n');
    // A validation failure in the same wrapper is reported as such, and the scopes stay balanced
    // (a later, valid allocation reports nothing).
    const invalid = captureGpuErrors(ctx.device, 'allocating an oversized buffer', () =>
      ctx.device.createBuffer({ label: 'oversized probe', size: size + 4, usage: GPUBufferUsage.STORAGE }).destroy());
    await expect(invalid.errors).rejects.toThrow(GpuValidationError);
    await expect(invalid.errors).rejects.toThrow(/exceeds the max buffer size limit/);
    const fine = captureGpuErrors(ctx.device, 'allocating a small buffer', () =>
      ctx.device.createBuffer({ label: 'small probe', size: 256, usage: GPUBufferUsage.STORAGE }).destroy());
    await expect(fine.errors).resolves.toBeUndefined();
  });
});
