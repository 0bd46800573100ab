// Kernel choice by measurement (src/model/tune.ts): the tuner times every candidate that really runs
// a shape and keeps the fastest; an engine plans each convolution with the table's variant for its
// shape; a measuring engine measures each new shape once, on first use, and reports the table; a
// table of another adapter is ignored; Node keeps the table per adapter in the cache folder. A
// tuned network's taps match the float64 reference as every variant's do (the variants' kernels
// are tested one by one elsewhere): 1e-4 of each tap's scale, the bound of
// test/network-conv-variants.test.ts (float32 through 20 layers of up to 4,608-term sums is ~1e-5).
// Speed itself is not asserted (bench/ measures it).

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ConvGeometry, convShapeKey } from '../src/kernels/conv2d-variants';
import { allTapNames } from '../src/model/architecture';
import { ResNetEngine } from '../src/model/engine';
import { type KernelTable, candidatesFor, emptyKernelTable, kernelTableFits, measureKernels } from '../src/model/tune';
import { randomWeights } from '../src/weights/random';
import { referenceForward } from './reference/resnet';
import { freshSeed, makeRng, randomArray, relativeError, testContext } from './helpers/gpu';

const F32_TOLERANCE = 1e-4;
const cache = mkdtempSync(join(tmpdir(), 'resnet-stream-kernel-cache-'));
afterAll(() => rmSync(cache, { recursive: true, force: true }));

const geometry = (inChannels: number, size: number, outChannels: number, kernel: number, stride: number): ConvGeometry =>
  ({ batch: 1, inChannels, inHeight: size, inWidth: size, outChannels, kernel, stride, padding: kernel === 3 ? 1 : kernel === 7 ? 3 : 0 });

describe('kernel choice by measurement', () => {
  it('times every candidate that runs a shape, keeps the fastest, counts its multiply-adds', async () => {
    const ctx = await testContext();
    const shapes = [geometry(16, 12, 24, 3, 1), geometry(16, 12, 32, 3, 2), geometry(24, 9, 40, 1, 1)];
    const progress: string[] = [];
    const table = await measureKernels(ctx, emptyKernelTable(ctx.adapter), [...shapes, shapes[0]], {
      rounds: 3, repeat: 2, onProgress: (_d, _t, key) => progress.push(key),
    });
    expect(progress).toEqual(shapes.map(convShapeKey)); // the repeated shape once
    expect(candidatesFor(shapes[0])).toEqual(['direct', 'rows', 'gemm', 'winograd', 'winograd4']);
    expect(candidatesFor(shapes[1])).toEqual(['direct', 'gemm', 'winograd4']); // F(4x4, 3x3)'s stride-2 form
    for (const g of shapes) {
      const m = table.shapes[convShapeKey(g)];
      expect(Object.keys(m.ms).sort()).toEqual([...candidatesFor(g)].sort());
      for (const v of candidatesFor(g)) expect(m.ms[v]).toBeGreaterThan(0);
      expect(m.ms[m.variant]).toBe(Math.min(...Object.values(m.ms) as number[]));
      const out = Math.floor((g.inHeight + 2 * g.padding - g.kernel) / g.stride) + 1;
      expect(m.macs).toBe(g.outChannels * out * out * g.inChannels * g.kernel * g.kernel);
    }
    // Nothing left to measure: the table comes back as it was.
    const again = await measureKernels(ctx, structuredClone(table), shapes, { onProgress: () => { throw new Error('measured again'); } });
    expect(again).toEqual(table);
  });

  it('a fixed table decides each convolution by its shape (another adapter\'s table is ignored); the taps match the float64 reference', async () => {
    const seed = freshSeed();
    const ctx = await testContext();
    const weights = randomWeights(seed);
    const input = { shape: [1, 3, 40, 40], data: randomArray(3 * 40 * 40, makeRng(seed), -2, 2) };
    // A table that sends every 3x3 stride-1 convolution to 'rows', every other to 'gemm'.
    const probe = await ResNetEngine.create({ context: ctx, convVariant: 'direct' });
    probe.loadWeights(weights);
    const table: KernelTable = emptyKernelTable(ctx.adapter);
    for (const step of probe.plan(1, 40, 40, ['fc']).schedule.steps) {
      if (step.op !== 'conv') continue;
      const s = probe.plan(1, 40, 40, ['fc']).schedule.tensors[step.input].shape;
      const g = { batch: 1, inChannels: step.conv.inChannels, inHeight: s[2], inWidth: s[3], outChannels: step.conv.outChannels, kernel: step.conv.kernel, stride: step.conv.stride, padding: step.conv.padding };
      table.shapes[convShapeKey(g)] = { variant: step.conv.kernel === 3 && step.conv.stride === 1 ? 'rows' : 'gemm', ms: {}, macs: 0 };
    }
    probe.dispose();
    const tuned = await ResNetEngine.create({ context: ctx, convVariant: 'direct', kernelTable: table });
    const foreign = await ResNetEngine.create({ context: ctx, convVariant: 'direct', kernelTable: { ...table, adapter: 'another adapter' } });
    try {
      tuned.loadWeights(weights);
      foreign.loadWeights(weights);
      const variants = (e: ResNetEngine) => e.plan(1, 40, 40, allTapNames()).schedule.steps.flatMap((s) => (s.op === 'conv' ? [`${s.conv.conv}:${s.variant}`] : []));
      const chosen = variants(tuned);
      // 13 3x3 stride-1 convolutions (layer1's 4, 3 in each later stage); 7 others (the 7x7 stem, three
      // 3x3 stride-2 and three 1x1 stride-2 downsamples).
      expect(chosen.filter((v) => v.endsWith(':rows')).length).toBe(13);
      expect(chosen.filter((v) => v.endsWith(':gemm')).length).toBe(7);
      expect(variants(foreign).every((v) => v.endsWith(':direct'))).toBe(true);
      expect(foreign.kernelTable).toBeNull();
      const got = await tuned.forward(input, { taps: allTapNames() });
      const want = referenceForward(weights, input);
      for (const tap of allTapNames()) expect(relativeError(got.get(tap)!.data, want.get(tap)!.data), `${tap} (seed ${seed})`).toBeLessThanOrEqual(F32_TOLERANCE);
    } finally {
      tuned.dispose();
      foreign.dispose();
    }
  });

  it('a measuring engine measures each new shape once, before the first forward of a size, and reports the table', async () => {
    const seed = freshSeed();
    const ctx = await testContext();
    const reported: KernelTable[] = [];
    const engine = await ResNetEngine.create({ context: ctx, measureKernels: true, onKernelTable: (t) => reported.push(t) });
    try {
      const weights = randomWeights(seed);
      engine.loadWeights(weights);
      const input = { shape: [1, 3, 33, 33], data: randomArray(3 * 33 * 33, makeRng(seed), -2, 2) };
      const first = await engine.forward(input, { taps: ['layer3.1', 'fc'] });
      expect(reported).toHaveLength(1);
      const keys = Object.keys(reported[0].shapes);
      // ResNet18 at 33x33: 20 convolutions, 11 distinct geometries.
      expect(keys).toHaveLength(11);
      await engine.forward(input, { taps: ['fc'] });
      expect(reported).toHaveLength(1); // the same size: nothing new
      const want = referenceForward(weights, input);
      for (const tap of ['layer3.1', 'fc']) expect(relativeError(first.get(tap)!.data, want.get(tap)!.data), tap).toBeLessThanOrEqual(F32_TOLERANCE);
      expect(engine.kernelTable!.shapes).toEqual(reported[0].shapes);
    } finally {
      engine.dispose();
    }
  });

  it('Node: createEngine({ measureKernels }) keeps the table per adapter in the cache folder and reuses it', async () => {
    const { createEngine, kernelTablePath } = await import('../src/index-node');
    const saved = process.env.RESNET_STREAM_CACHE;
    process.env.RESNET_STREAM_CACHE = cache;
    try {
      const weights = randomWeights(3);
      const input = { shape: [1, 3, 32, 32], data: new Float32Array(3 * 32 * 32).fill(0.25) };
      const measured: KernelTable[] = [];
      const a = await createEngine({ adapter: (process.env.RESNET_STREAM_ADAPTER as 'lavapipe' | undefined) ?? undefined, measureKernels: true, onKernelTable: (t) => measured.push(t) });
      a.loadWeights(weights);
      await a.forward(input);
      const path = kernelTablePath(a.adapter);
      a.dispose();
      expect(measured).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 200)); // the write is not awaited by the forward
      expect(readdirSync(join(cache, 'kernels'))).toEqual([path.split('/').pop()]);
      const b = await createEngine({ adapter: (process.env.RESNET_STREAM_ADAPTER as 'lavapipe' | undefined) ?? undefined, measureKernels: true, onKernelTable: (t) => measured.push(t) });
      try {
        b.loadWeights(weights);
        await b.forward(input);
        expect(measured).toHaveLength(1); // read from the file: nothing measured again
        expect(b.kernelTable!.shapes).toEqual(measured[0].shapes);
      } finally {
        b.dispose();
      }
    } finally {
      if (saved === undefined) delete process.env.RESNET_STREAM_CACHE;
      else process.env.RESNET_STREAM_CACHE = saved;
    }
  });

  it('a table fits only its adapter and kernel version, with a known variant for every shape', async () => {
    const ctx = await testContext();
    const good: KernelTable = { ...emptyKernelTable(ctx.adapter), shapes: { 'b1 3x8x8 -> 4 k3 s1 p1': { variant: 'rows', ms: { rows: 1 }, macs: 864 } } };
    expect(kernelTableFits(good, ctx.adapter)).toBe(true);
    expect(kernelTableFits(emptyKernelTable(ctx.adapter), ctx.adapter)).toBe(true);
    const bad: unknown[] = [
      null, 5, 'table', { ...good, version: good.version + 1 }, { ...good, adapter: 'another adapter' }, { ...good, shapes: null },
      { ...good, shapes: [] }, { ...good, shapes: { k: null } }, { ...good, shapes: { k: { variant: 'fastest' } } },
    ];
    for (const t of bad) expect(kernelTableFits(t as KernelTable, ctx.adapter), JSON.stringify(t)).toBe(false);
  });

  it('a page: createEngine({ measureKernels, kernelTableStorage }) keeps the table in the storage per adapter and reuses it; bad items and refusing storages only cost a measurement', async () => {
    const { createEngine, kernelTableStorageKey } = await import('../src/browser/engine');
    const ctx = await testContext();
    const items = new Map<string, string>();
    const storage = { getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v) };
    const weights = randomWeights(5);
    const input = { shape: [1, 3, 32, 32], data: new Float32Array(3 * 32 * 32).fill(0.5) };
    const measured: KernelTable[] = [];
    const run = async (store: typeof storage) => {
      const engine = await createEngine({ context: ctx, measureKernels: true, kernelTableStorage: store, onKernelTable: (t) => measured.push(t) });
      try {
        engine.loadWeights(weights);
        const fc = (await engine.forward(input)).get('fc')!.data;
        return { fc, table: engine.kernelTable! };
      } finally {
        engine.dispose();
      }
    };
    const key = kernelTableStorageKey(ctx.adapter);
    // 1. Measured, kept under the adapter's key; the caller's onKernelTable still hears of it.
    const first = await run(storage);
    expect(measured).toHaveLength(1);
    expect([...items.keys()]).toEqual([key]);
    expect(JSON.parse(items.get(key)!)).toEqual(first.table);
    // 2. Read back: nothing measured, the same choices, the same logits.
    const second = await run(storage);
    expect(measured).toHaveLength(1);
    expect(second.table).toEqual(first.table);
    expect(second.fc).toEqual(first.fc);
    // 3. An item of another kernel version: measured again and rewritten. (Other tables that do not
    //    fit: kernelTableFits below.)
    items.set(key, JSON.stringify({ ...first.table, version: -1 }));
    await run(storage);
    expect(measured).toHaveLength(2);
    expect(JSON.parse(items.get(key)!).version).toBe(first.table.version);
    // 4. An item that does not parse in a storage that refuses to write (quota, privacy settings):
    //    measured, and the forward still runs.
    const refusing = { getItem: () => '{ not json', setItem: () => { throw new Error('QuotaExceededError'); } };
    const fourth = await run(refusing);
    expect(measured).toHaveLength(3);
    expect(relativeError(fourth.fc, first.fc)).toBeLessThanOrEqual(F32_TOLERANCE); // its choices may differ
  });
});
