// The soak benchmark (issue #8, bundled and started by bench/soak.mjs with --expose-gc): N forwards
// of one engine, `concurrency` requested at a time, sampling every K forwards the buffer pool's
// bytes (allocated, in use) and buffer count, the JS heap after a full GC, external and array-buffer
// memory and the RSS. Every result is checked: the first forward of each input against a float64
// forward, every later one bit for bit against that first result (so a stale or foreign buffer, a
// cross-contaminated concurrent forward or a corrupted plan shows up as a mismatch).
//
//   node --expose-gc bench/.build/soak.mjs [--adapter lavapipe|swiftshader|default] [--forwards 10000]
//        [--every 200] [--size 64] [--batch 1] [--taps layer1.1,layer3.1.bn2,fc] [--concurrency 2]
//        [--inputs 4] [--out-dir bench/results] [--date YYYY-MM-DD] [--tag name] [--note 'text for the .md']
//
// Writes <out-dir>/<date>-soak-<adapter>[-tag].json (every sample) and .md (a table and the verdict).

import { writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { type AdapterChoice, createNodeContext, defaultCpuAdapter } from '../src/gpu/node';
import { ResNetEngine } from '../src/model/engine';
import { randomWeights } from '../src/weights/random';
import { mulberry32, normalSource } from '../src/util/random';
import { referenceForward } from './core/reference';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}
function intArg(name: string, fallback: number): number {
  const v = Number(arg(name, String(fallback)));
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
}

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (bench/soak.mjs does)');

const adapterChoice = arg('adapter', defaultCpuAdapter()) as AdapterChoice;
const forwards = intArg('forwards', 10_000);
const every = intArg('every', Math.max(1, Math.round(forwards / 50)));
const size = intArg('size', 64);
const batch = intArg('batch', 1);
const concurrency = intArg('concurrency', 2);
const inputCount = intArg('inputs', 4);
const taps = arg('taps', 'layer1.1,layer3.1.bn2,fc').split(',');
const outDir = resolve(arg('out-dir', 'bench/results'));
const date = arg('date', new Date().toISOString().slice(0, 10));
const tag = arg('tag', '');
const note = arg('note', '');
const log = (line: string) => process.stderr.write(`[soak] ${line}\n`);

// Flatness criteria (the verdict): the pool must not change at all after the first forward (its
// buffers are reused by construction, so any change is a leak or churn); the heap's least-squares
// slope over the second half must stay under HEAP_SLOPE_LIMIT bytes per forward (a leak of one
// small object per forward, ~100 bytes, fails it; GC noise of a few hundred KiB over thousands of
// forwards does not); RSS, which also holds Dawn's and the driver's native memory and the
// allocator's slack, gets a looser RSS_SLOPE_LIMIT.
const HEAP_SLOPE_LIMIT = 64;
const RSS_SLOPE_LIMIT = 1024;

interface Sample {
  forwards: number;
  seconds: number;
  msPerForward: number;
  poolBytesAllocated: number;
  poolBytesInUse: number;
  poolBuffers: number;
  pipelines: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  rss: number;
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  return sxx ? sxy / sxx : 0;
}

function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

const mib = (b: number) => (b / 2 ** 20).toFixed(2);

async function main(): Promise<void> {
  const loadBefore = loadavg();
  const ctx = await createNodeContext(adapterChoice);
  const engine = await ResNetEngine.create({ context: ctx });
  const weights = randomWeights(20261129);
  engine.loadWeights(weights);
  const inputs = Array.from({ length: inputCount }, (_, k) => {
    const normal = normalSource(mulberry32(1000 + k));
    const data = new Float32Array(batch * 3 * size * size);
    for (let i = 0; i < data.length; i++) data[i] = normal();
    return { shape: [batch, 3, size, size], data };
  });
  log(`adapter ${ctx.adapter.name} (${ctx.adapter.description || ctx.adapter.device}); ${forwards} forwards of batch ${batch} ` +
    `at ${size}x${size}, taps ${taps.join(',')}, ${concurrency} at a time, ${inputCount} inputs; sample every ${every}`);

  // The first result per input is the expected one for every later forward of that input; the
  // first input's logits are also checked against the float64 forward.
  const expected: (Map<string, { data: Float32Array }> | null)[] = inputs.map(() => null);
  let mismatches = 0;
  let firstMismatch = '';
  const check = (k: number, got: Map<string, { data: Float32Array }>, index: number) => {
    const want = expected[k];
    if (!want) {
      expected[k] = got;
      return;
    }
    for (const t of taps) {
      if (!bitsEqual(got.get(t)!.data, want.get(t)!.data)) {
        mismatches++;
        firstMismatch ||= `forward ${index}, input ${k}, tap ${t}`;
      }
    }
  };
  const runOne = async (index: number) => {
    const k = index % inputCount;
    check(k, await engine.forward(inputs[k], { taps }), index);
  };

  const samples: Sample[] = [];
  const start = performance.now();
  let lastTime = start;
  let lastCount = 0;
  const sample = (count: number) => {
    gc!();
    gc!();
    const m = process.memoryUsage();
    const t = performance.now();
    const s: Sample = {
      forwards: count,
      seconds: (t - start) / 1000,
      msPerForward: count > lastCount ? (t - lastTime) / (count - lastCount) : 0,
      poolBytesAllocated: ctx.pool.bytesAllocated,
      poolBytesInUse: ctx.pool.bytesInUse,
      poolBuffers: ctx.pool.bufferCount,
      pipelines: ctx.pipelines.size,
      heapUsed: m.heapUsed,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      rss: m.rss,
    };
    samples.push(s);
    // The time of the GC above is not a forward's: restart the clock after it.
    lastTime = performance.now();
    lastCount = count;
    log(`${String(count).padStart(6)} forwards, ${s.seconds.toFixed(0)} s, ${s.msPerForward.toFixed(1)} ms/forward; pool ${mib(s.poolBytesAllocated)} MiB ` +
      `(${s.poolBuffers} buffers, ${mib(s.poolBytesInUse)} in use); heap ${mib(s.heapUsed)} MiB; rss ${mib(s.rss)} MiB; mismatches ${mismatches}`);
  };

  await runOne(0);
  const got0 = expected[0]!.get('fc');
  let referenceError: number | null = null;
  if (got0) {
    const want = referenceForward(weights, inputs[0]);
    let scale = 0;
    let worst = 0;
    for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got0.data[i] - want[i]));
    referenceError = worst / scale;
    log(`first forward vs float64: worst fc error ${referenceError.toExponential(2)} of the logits' scale`);
  }
  sample(1);
  let done = 1;
  while (done < forwards) {
    const n = Math.min(concurrency, forwards - done);
    await Promise.all(Array.from({ length: n }, (_, j) => runOne(done + j)));
    const before = done;
    done += n;
    if (Math.floor(done / every) > Math.floor(before / every) || done === forwards) sample(done);
  }
  const seconds = (performance.now() - start) / 1000;
  const loadAfter = loadavg();

  // Verdict over the second half of the run (the first half includes warm-up: JIT, caches).
  const half = samples.filter((s) => s.forwards >= forwards / 2);
  const xs = half.map((s) => s.forwards);
  const heapSlope = slope(xs, half.map((s) => s.heapUsed));
  const rssSlope = slope(xs, half.map((s) => s.rss));
  const externalSlope = slope(xs, half.map((s) => s.external));
  const after1 = samples.slice(0);
  const poolFlat = after1.every((s) => s.poolBytesAllocated === after1[0].poolBytesAllocated
    && s.poolBytesInUse === after1[0].poolBytesInUse && s.poolBuffers === after1[0].poolBuffers);
  const verdict = {
    poolFlat,
    heapSlopeBytesPerForward: heapSlope,
    heapFlat: heapSlope < HEAP_SLOPE_LIMIT,
    rssSlopeBytesPerForward: rssSlope,
    rssFlat: rssSlope < RSS_SLOPE_LIMIT,
    externalSlopeBytesPerForward: externalSlope,
    mismatches,
    firstMismatch: firstMismatch || null,
    referenceError,
    criteria: {
      pool: 'bytes allocated, bytes in use and buffer count identical in every sample from the first forward on',
      heap: `least-squares slope of heapUsed (after gc) over the second half < ${HEAP_SLOPE_LIMIT} bytes per forward`,
      rss: `least-squares slope of rss over the second half < ${RSS_SLOPE_LIMIT} bytes per forward`,
      results: 'every forward bit-identical to the first forward of the same input; the first checked against float64 (1e-4 of scale)',
    },
  };
  const pass = poolFlat && verdict.heapFlat && verdict.rssFlat && mismatches === 0 && (referenceError === null || referenceError <= 1e-4);
  const name = `${date}-soak-${ctx.adapter.name.replace(/[^a-z0-9]+/gi, '-')}${tag ? `-${tag}` : ''}`;
  const meta = {
    kind: 'soak', date, adapter: ctx.adapter, limits: { maxStorageBufferBindingSize: ctx.limits.maxStorageBufferBindingSize, maxBufferSize: ctx.limits.maxBufferSize },
    forwards, batch, size, taps, concurrency, inputs: inputCount, sampleEvery: every, seconds, note: note || undefined,
    msPerForward: (seconds * 1000) / forwards, weightBytes: engine.weightBytes,
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, totalMemory: totalmem(), node: process.version },
    loadAverage1mBefore: Math.round(loadBefore[0] * 100) / 100, loadAverage1mAfter: Math.round(loadAfter[0] * 100) / 100,
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify({ ...meta, pass, verdict, samples }, null, 1)}\n`);

  const rows = samples.map((s) => `| ${s.forwards} | ${s.seconds.toFixed(0)} | ${s.msPerForward.toFixed(1)} | ${mib(s.poolBytesAllocated)} | ` +
    `${mib(s.poolBytesInUse)} | ${s.poolBuffers} | ${mib(s.heapUsed)} | ${mib(s.external)} | ${mib(s.rss)} |`);
  const yes = (b: boolean) => (b ? 'flat' : '**NOT flat**');
  const md = `# Soak: ${forwards.toLocaleString('en')} forwards, ${ctx.adapter.name}, ${date}

${pass ? 'PASS' : '**FAIL**'}: ${forwards.toLocaleString('en')} forwards of batch ${batch} at ${size}x${size} (taps ${taps.join(', ')}),
${concurrency} requested at a time from one engine, ${inputCount} inputs in turn; Node ${process.version} + Dawn (npm \`webgpu\`),
adapter ${ctx.adapter.name} (${ctx.adapter.description || ctx.adapter.device}), ${cpus().length} cores (${cpus()[0]?.model}),
load average (1 min) ${meta.loadAverage1mBefore} before and ${meta.loadAverage1mAfter} after (other jobs share the machine).
${seconds.toFixed(0)} s in all, ${meta.msPerForward.toFixed(1)} ms per forward including the sampling.
${note ? `\n${note}\n` : ''}
| verdict | measured | criterion |
|---|---|---|
| GPU buffer pool | ${yes(poolFlat)}: ${mib(samples[0].poolBytesAllocated)} MiB in ${samples[0].poolBuffers} buffers after forward 1, ${mib(samples.at(-1)!.poolBytesAllocated)} MiB in ${samples.at(-1)!.poolBuffers} after forward ${forwards} | ${verdict.criteria.pool} |
| JS heap | ${yes(verdict.heapFlat)}: ${heapSlope.toFixed(2)} bytes per forward (${mib(half[0]?.heapUsed ?? 0)} to ${mib(half.at(-1)?.heapUsed ?? 0)} MiB over the second half) | ${verdict.criteria.heap} |
| RSS | ${yes(verdict.rssFlat)}: ${rssSlope.toFixed(1)} bytes per forward (${mib(half[0]?.rss ?? 0)} to ${mib(half.at(-1)?.rss ?? 0)} MiB) | ${verdict.criteria.rss} |
| results | ${mismatches} mismatches${firstMismatch ? ` (first: ${firstMismatch})` : ''}; first forward vs float64 ${referenceError === null ? 'not checked (no fc tap)' : referenceError.toExponential(2)} | ${verdict.criteria.results} |

External (ArrayBuffer) memory slope over the second half: ${externalSlope.toFixed(2)} bytes per forward.
Weights on the GPU: ${mib(engine.weightBytes)} MiB (not pooled). Heap figures are \`process.memoryUsage().heapUsed\` after two
\`gc()\` calls; ms/forward is the mean over each interval, without the sampling's GC.

| forwards | s | ms/forward | pool MiB | pool in use MiB | pool buffers | heap MiB | external MiB | rss MiB |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}
`;
  writeFileSync(join(outDir, `${name}.md`), md);
  log(`${pass ? 'PASS' : 'FAIL'}: pool ${poolFlat ? 'flat' : 'NOT flat'}, heap ${heapSlope.toFixed(2)} B/forward, rss ${rssSlope.toFixed(1)} B/forward, ` +
    `${mismatches} mismatches; wrote ${join(outDir, name)}.json and .md`);
  engine.dispose();
  ctx.destroy();
  process.exitCode = pass ? 0 : 1;
}

main().catch((e: Error) => {
  process.stderr.write(`soak: ${process.env.RESNET_STREAM_DEBUG ? e.stack : e.message}\n`);
  process.exit(2);
});
