// Where a batch-1 forward's wall-clock time goes on Node + Dawn (issue #6). Bundled and run by
// bench/node/overhead.mjs (see there for options). One process, one adapter, one engine; several
// ways of running the same plan, interleaved round by round so machine load hits them alike:
//
//   api      engine.forward(): the public path, whatever it does now (total; the plan's learned
//            GPU time, which sets how long readback sleeps before mapping).
//   api-map  the same with ctx.deferMaps = false: no sleep, mapAsync right after submit.
//   api-into the same, writing into the previous round's arrays (`into`), as the analysis does.
//   api-fc   engine.forward() of the logits alone: the plain forward the taps are compared with
//            (each mode's median per-round ratio to it is printed when it runs).
//   old      the path before issue #6, replicated here: writeBuffer, one pass, copies into a fresh
//            staging buffer, one submit, mapAsync straight away, slice, destroy.
//   split    the same work with a timing point between every step, a cached staging buffer, and
//            onSubmittedWorkDone before mapAsync, so the GPU wait and the map are apart:
//            upload (writeBuffer) | encode (encoder, pass, copies, finish) | submit |
//            gpu (submit -> onSubmittedWorkDone) | map (mapAsync after that) | copy (slice out).
//            copy is split again into getRange | slice | unmap.
//   profile  the same, with a timestamp query at the pass's begin and end: the GPU time of the
//            one-pass forward itself (not per kernel), to compare with the wall clock.
//   profile-sleep  the same, but sleeping through most of the expected time first, as readback
//            now does (ReadbackSlot): the pass's GPU time without Dawn's polling beside it.
//
// Also: the round-trip latency of an empty submit + onSubmittedWorkDone and of a 256-byte copy +
// mapAsync (how promptly Dawn's Node binding resolves its promises), and the process's CPU time per
// wall-clock time during a forward, for the JS thread and for all other threads apart, from
// /proc/self/task (Dawn's binding polls its events from setImmediate while a
// promise is pending: that polling is on the same cores as lavapipe's threads).

import { readFileSync, readdirSync } from 'node:fs';
import { ReadbackSlot } from '../../src/gpu/context';
import { createNodeContext, type AdapterChoice } from '../../src/gpu/node';
import { ResNetEngine } from '../../src/model/engine';
import { type TapName, allTapNames } from '../../src/model/architecture';
import { randomWeights } from '../../src/weights/random';
import { mulberry32, normalSource } from '../../src/util/random';
import type { HostTensor } from '../../src/weights/safetensors';
import { option } from '../core/args';

const adapter = option('adapter', 'lavapipe') as AdapterChoice;
const size = Number(option('size', '224'));
const rounds = Number(option('rounds', '10'));
const warmups = Number(option('warmups', '2'));
// 'all': every tap of the network (the all-taps readback).
const taps = (option('taps', 'fc') === 'all' ? allTapNames() : option('taps', 'fc').split(',')) as TapName[];
const modes = option('modes', 'api,old,split,profile').split(',');
const log = (s: string) => process.stderr.write(`${s}\n`);

const now = () => performance.now();

/** CPU ms of this process's main (JS) thread and of all its other threads (Dawn, lavapipe), from /proc. */
function threadCpu(): { main: number; others: number } {
  const tick = 10; // USER_HZ = 100 on Linux
  let main = 0;
  let others = 0;
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ms = (Number(f[11]) + Number(f[12])) * tick;
      if (Number(tid) === process.pid) main += ms;
      else others += ms;
    }
  } catch {
    return { main: NaN, others: NaN };
  }
  return { main, others };
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function randomInput(seed: number): HostTensor {
  const data = new Float32Array(3 * size * size);
  const normal = normalSource(mulberry32(seed));
  for (let i = 0; i < data.length; i++) data[i] = normal();
  return { shape: [1, 3, size, size], data };
}

async function main(): Promise<void> {
  const ctx = await createNodeContext(adapter);
  const { device } = ctx;
  log(`adapter: ${ctx.adapter.description || ctx.adapter.name}; size ${size}; taps ${taps.join(',')}; rounds ${rounds} after ${warmups} warm-ups`);
  const engine = await ResNetEngine.create({ context: ctx });
  engine.loadWeights(randomWeights(20261129));
  await device.queue.onSubmittedWorkDone();
  const input = randomInput(7);
  const plan = engine.plan(1, size, size, taps);
  await device.queue.onSubmittedWorkDone();

  // ---- Round trips of (almost) no work.
  const tiny = device.createBuffer({ label: 'overhead tiny src', size: 256, usage: GPUBufferUsage.COPY_SRC });
  const tinyRead = device.createBuffer({ label: 'overhead tiny staging', size: 256, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const rt: Record<string, number[]> = { 'empty submit -> onSubmittedWorkDone': [], '256 B copy -> mapAsync': [] };
  for (let i = 0; i < 50; i++) {
    let t = now();
    device.queue.submit([]);
    await device.queue.onSubmittedWorkDone();
    rt['empty submit -> onSubmittedWorkDone'].push(now() - t);
    t = now();
    const enc = device.createCommandEncoder({ label: 'overhead tiny encoder' });
    enc.copyBufferToBuffer(tiny, 0, tinyRead, 0, 256);
    device.queue.submit([enc.finish()]);
    await tinyRead.mapAsync(GPUMapMode.READ);
    tinyRead.unmap();
    rt['256 B copy -> mapAsync'].push(now() - t);
  }
  for (const [k, xs] of Object.entries(rt)) log(`round trip, ${k}: median ${median(xs).toFixed(3)} ms, max ${Math.max(...xs).toFixed(2)} ms (n=50)`);

  // ---- The forward, several ways.
  const offsets: number[] = [];
  let total = 0;
  for (const o of plan.outputs) {
    offsets.push(total);
    total += Math.ceil(o.byteLength / 256) * 256;
  }
  const staging = device.createBuffer({ label: 'overhead staging', size: Math.max(256, total), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const ts = ctx.hasTimestamps;
  const querySet = ts ? device.createQuerySet({ label: 'overhead pass timestamps', type: 'timestamp', count: 2 }) : null;
  const resolve = ts ? device.createBuffer({ label: 'overhead timestamp resolve', size: 256, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }) : null;
  const stampRead = ts ? device.createBuffer({ label: 'overhead timestamp staging', size: 256, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }) : null;

  type Sample = Record<string, number>;
  const samples: Record<string, Sample[]> = {};

  const encodeForward = (withStamps: boolean): GPUCommandBuffer => {
    const encoder = device.createCommandEncoder({ label: 'overhead forward encoder' });
    const pass = encoder.beginComputePass({
      label: 'overhead forward pass',
      ...(withStamps && querySet ? { timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {}),
    });
    for (const d of plan.dispatches) {
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(...d.workgroups);
    }
    pass.end();
    plan.outputs.forEach((o, i) => encoder.copyBufferToBuffer(o.buffer, 0, staging, offsets[i], Math.ceil(o.byteLength / 4) * 4));
    if (withStamps && querySet && resolve && stampRead) {
      encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
      encoder.copyBufferToBuffer(resolve, 0, stampRead, 0, 16);
    }
    return encoder.finish();
  };

  let previous: Map<TapName, HostTensor> | undefined;
  const runs: Record<string, () => Promise<Sample>> = {
    'api-into': async () => {
      const t0 = now();
      previous = await engine.forward(input, { taps, into: previous });
      return { total: now() - t0 };
    },
    'api-fc': async () => {
      const t0 = now();
      await engine.forward(input, { taps: ['fc'] });
      return { total: now() - t0 };
    },
    api: async () => {
      const c0 = process.cpuUsage();
      const t0 = now();
      await engine.forward(input, { taps });
      const wall = now() - t0;
      const c = process.cpuUsage(c0);
      return { total: wall, cpuPerWall: (c.user + c.system) / 1000 / wall, estimate: plan.readbackSlot.estimateMs ?? NaN };
    },
    'api-map': async () => {
      // The same public path with the sleep-before-map turned off (the staging buffer still kept).
      ctx.deferMaps = false;
      try {
        const t0 = now();
        await engine.forward(input, { taps });
        return { total: now() - t0 };
      } finally {
        ctx.deferMaps = true;
      }
    },
    old: async () => {
      const t0 = now();
      device.queue.writeBuffer(plan.input, 0, input.data.buffer, input.data.byteOffset, input.data.byteLength);
      const encoder = device.createCommandEncoder({ label: 'overhead old encoder' });
      const pass = encoder.beginComputePass({ label: 'overhead old pass' });
      for (const d of plan.dispatches) {
        pass.setPipeline(d.pipeline);
        pass.setBindGroup(0, d.bindGroup);
        pass.dispatchWorkgroups(...d.workgroups);
      }
      pass.end();
      const fresh = device.createBuffer({ label: 'overhead old staging', size: Math.max(256, total), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      plan.outputs.forEach((o, i) => encoder.copyBufferToBuffer(o.buffer, 0, fresh, offsets[i], Math.ceil(o.byteLength / 4) * 4));
      device.queue.submit([encoder.finish()]);
      await fresh.mapAsync(GPUMapMode.READ);
      const mapped = fresh.getMappedRange();
      plan.outputs.map((o, i) => new Float32Array(mapped.slice(offsets[i], offsets[i] + o.byteLength)));
      fresh.unmap();
      fresh.destroy();
      return { total: now() - t0 };
    },
    split: async () => split(false),
    profile: async () => split(true),
    'profile-sleep': async () => split(true, sleeper),
  };

  const sleeper = new ReadbackSlot();
  async function split(withStamps: boolean, slot?: ReadbackSlot): Promise<Sample> {
    const c0 = process.cpuUsage();
    const t0 = now();
    device.queue.writeBuffer(plan.input, 0, input.data.buffer, input.data.byteOffset, input.data.byteLength);
    const t1 = now();
    const cb = encodeForward(withStamps);
    const t2 = now();
    device.queue.submit([cb]);
    const t3 = now();
    const sleepMs = slot?.sleepMs() ?? 0;
    if (sleepMs > 0) await new Promise((ok) => setTimeout(ok, sleepMs));
    const woke = now();
    await device.queue.onSubmittedWorkDone();
    const t4 = now();
    slot?.record(sleepMs, t4 - t3, t4 - woke);
    const c4 = process.cpuUsage(c0);
    await staging.mapAsync(GPUMapMode.READ);
    const t5 = now();
    const mapped = staging.getMappedRange();
    const t5a = now();
    plan.outputs.map((o, i) => new Float32Array(mapped.slice(offsets[i], offsets[i] + o.byteLength)));
    const t5b = now();
    staging.unmap();
    const t6 = now();
    const s: Sample = {
      upload: t1 - t0, encode: t2 - t1, submit: t3 - t2, gpu: t4 - t3, map: t5 - t4, copy: t6 - t5, getRange: t5a - t5, slice: t5b - t5a, unmap: t6 - t5b, total: t6 - t0,
      cpuPerWallWhileWaiting: (c4.user + c4.system) / 1000 / (t4 - t0),
    };
    if (withStamps && stampRead) {
      await stampRead.mapAsync(GPUMapMode.READ);
      const [b, e] = new BigUint64Array(stampRead.getMappedRange(0, 16));
      stampRead.unmap();
      s.passGpu = Number(e - b) / 1e6;
    }
    return s;
  }

  for (let r = -warmups; r < rounds; r++) {
    for (const m of modes) {
      const fn = runs[m];
      if (!fn) throw new Error(`unknown mode '${m}' (${Object.keys(runs).join(', ')})`);
      const c0 = threadCpu();
      const f0 = process.resourceUsage().minorPageFault;
      const s = await fn();
      const c1 = threadCpu();
      s.pageFaults = process.resourceUsage().minorPageFault - f0;
      s.jsThreadCpu = c1.main - c0.main;
      s.otherThreadsCpu = c1.others - c0.others;
      if (r >= 0) (samples[m] ??= []).push(s);
    }
    if (r >= 0) log(`round ${r + 1}/${rounds}: ${modes.map((m) => `${m} ${samples[m][r].total.toFixed(0)}`).join(', ')} ms`);
  }

  const result: Record<string, Record<string, number>> = {};
  for (const m of modes) {
    const keys = Object.keys(samples[m][0]);
    result[m] = Object.fromEntries(keys.map((k) => [k, median(samples[m].map((s) => s[k]))]));
    log(`${m.padEnd(8)} ${keys.map((k) => `${k} ${result[m][k].toFixed(k.startsWith('cpu') ? 2 : 1)}`).join(' | ')}  (medians, ms)`);
  }
  for (const m of modes) {
    const sum = (k: string) => samples[m].reduce((a, x) => a + x[k], 0);
    log(`${m.padEnd(8)} CPU per wall-clock ms over all rounds: JS thread ${(sum('jsThreadCpu') / sum('total')).toFixed(2)}, ` +
      `other threads (Dawn, driver) ${(sum('otherThreadsCpu') / sum('total')).toFixed(2)}`);
  }
  const base = result.old?.total;
  if (base) for (const m of modes) if (m !== 'old') log(`${m} / old: ${(result[m].total / base).toFixed(3)}`);
  if (samples['api-fc']) {
    for (const m of modes) {
      if (m === 'api-fc') continue;
      const ratios = samples[m].map((s, r) => s.total / samples['api-fc'][r].total);
      log(`${m} / api-fc: median of the per-round ratios ${median(ratios).toFixed(3)}, of the medians ${(result[m].total / result['api-fc'].total).toFixed(3)}`);
    }
  }
  const { loadavg } = await import('node:os');
  log(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  process.stdout.write(`${JSON.stringify({ adapter: ctx.adapter, size, taps, rounds, roundTrips: Object.fromEntries(Object.entries(rt).map(([k, xs]) => [k, median(xs)])), medians: result, samples }, null, 1)}\n`);
  engine.dispose();
}

main().then(() => process.exit(0), (e) => {
  process.stderr.write(`overhead: ${(e as Error).message}\n`);
  process.exit(1);
});
