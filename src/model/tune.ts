// Kernel choice by measurement, as cuDNN's find mode and TVM's tuning do: for each convolution shape
// of a forward, every candidate kernel is timed on the adapter in use, on random data, exactly as a
// forward dispatches it (forward.ts convStepDispatches), and the fastest is kept in a KernelTable.
// The planner reads the table by shape (KernelChoices.shapes), so a table measured once serves every
// plan of those shapes; the engine keeps it (EngineOptions.kernelTable), Node keeps it in a JSON file
// per adapter in the cache folder (src/cli/kernel-cache-node.ts), a page can pass one in. The candidates
// give the same taps within float32 rounding (each is tested against the float64 reference), so a
// table changes speed, not results beyond that; a fixed table or a forced variant is deterministic.
// Browser-safe.

import type { AdapterDescription, Dispatch, GpuContext } from '../gpu/context';
import { packConv2dWeights } from '../kernels/conv2d';
import {
  CONV2D_VARIANTS, type Conv2dKernel, type Conv2dVariant, type ConvGeometry, type WinogradVariant, conv2dVariantRun, convShapeKey, gemmScratchBytes, isWinogradVariant,
  paddedInputFor, readsPaddedInput, winogradScratchBytes, winogradTileOf,
} from '../kernels/conv2d-variants';
import { winogradFilter } from '../kernels/conv2d-winograd';
import { zeroPadLength } from '../kernels/zero-pad';
import { mulberry32 } from '../util/random';
import type { ConvSpec } from './architecture';
import { convStepDispatches } from './forward';
import type { ForwardSchedule } from './planner';

/**
 * Bump when a kernel or a shape's candidates change: tables measured on older kernels are then
 * measured again (7: 'winograd4' a candidate of the 3x3 stride-2 convolutions too).
 */
export const KERNEL_TABLE_VERSION = 7;

export interface KernelMeasurement {
  /** The fastest candidate. */
  variant: Conv2dVariant;
  /** Median milliseconds per convolution of every candidate measured. */
  ms: Partial<Record<Conv2dVariant, number>>;
  /** Multiply-adds of the convolution (for GFLOP/s: 2 x macs / time). */
  macs: number;
}

export interface KernelTable {
  version: number;
  /** The adapter measured (adapterKey): a table is used on that adapter only. */
  adapter: string;
  /** By convShapeKey. */
  shapes: Record<string, KernelMeasurement>;
}

/** An adapter's identity for a kernel table: vendor, architecture, device, description, feature level. */
export function adapterKey(adapter: AdapterDescription): string {
  return [adapter.vendor, adapter.architecture, adapter.device, adapter.description, adapter.featureLevel].map((s) => s || '-').join(' | ');
}

/** An empty table for an adapter. */
export function emptyKernelTable(adapter: AdapterDescription): KernelTable {
  return { version: KERNEL_TABLE_VERSION, adapter: adapterKey(adapter), shapes: {} };
}

/**
 * Whether a table (say, read from a file or a page's storage) was measured on this adapter with
 * these kernels, and holds a known variant for every shape: anything else is measured again.
 */
export function kernelTableFits(table: KernelTable, adapter: AdapterDescription): boolean {
  const t = table as Partial<KernelTable> | null | undefined;
  const shapes = t?.shapes;
  return t?.version === KERNEL_TABLE_VERSION && t.adapter === adapterKey(adapter) &&
    typeof shapes === 'object' && shapes !== null && !Array.isArray(shapes) &&
    Object.values(shapes).every((m) => typeof m === 'object' && m !== null && CONV2D_VARIANTS.includes(m.variant));
}

/** The variants of a table by shape key, as KernelChoices.shapes takes them. */
export function tableChoices(table: KernelTable): Record<string, Conv2dVariant> {
  return Object.fromEntries(Object.entries(table.shapes).map(([key, m]) => [key, m.variant]));
}

/** The geometry of every convolution a schedule runs (grouped ones excluded: they have one kernel). */
export function scheduleConvs(schedule: ForwardSchedule): { spec: ConvSpec; geometry: ConvGeometry }[] {
  const out: { spec: ConvSpec; geometry: ConvGeometry }[] = [];
  for (const step of schedule.steps) {
    if (step.op !== 'conv' || (step.conv.groups ?? 1) > 1) continue;
    const [, , inHeight, inWidth] = schedule.tensors[step.input].shape;
    const c = step.conv;
    out.push({
      spec: c,
      geometry: { batch: schedule.batch, inChannels: c.inChannels, inHeight, inWidth, outChannels: c.outChannels, kernel: c.kernel, stride: c.stride, padding: c.padding },
    });
  }
  return out;
}

/**
 * The candidates that really run a shape (conv2dVariantRun: 'rows' and 'winograd' are 3x3 stride 1
 * only, 'winograd4' 3x3 stride 1 or 2; 'winograd-mixed', a choice between two candidates, is never
 * one itself).
 */
export function candidatesFor(g: ConvGeometry, candidates: readonly Conv2dVariant[] = CONV2D_VARIANTS): Conv2dKernel[] {
  return candidates.filter((v): v is Conv2dKernel => conv2dVariantRun(v, g) === v);
}

export interface MeasureOptions {
  /** Kernels to time (default every variant). */
  candidates?: readonly Conv2dVariant[];
  /** Timed rounds per candidate, interleaved (default 5); the median is kept. */
  rounds?: number;
  /** Convolutions per timed submission, so that submission overhead does not dominate (default: about 20 ms of work, 1 .. 32). */
  repeat?: number;
  onProgress?: (done: number, total: number, key: string, m: KernelMeasurement) => void;
}

/** The tuner sleeps this fraction of a candidate's fastest time before waiting (an oversleep would be timed). */
const FINISH_SLEEP_FRACTION = 0.75;

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * Measure the candidates on every geometry the table lacks, in place: random input and filters,
 * unit epilogue with ReLU, each candidate's dispatches warmed once, then `rounds` interleaved
 * rounds (the order rotated each round) of `repeat` convolutions per submission, wall-clock time to
 * onSubmittedWorkDone (in Node after a sleep through most of the candidate's fastest time so far:
 * GpuContext.finish). Returns the table.
 */
export async function measureKernels(ctx: GpuContext, table: KernelTable, geometries: readonly ConvGeometry[], options: MeasureOptions = {}): Promise<KernelTable> {
  const rounds = options.rounds ?? 5;
  const rng = mulberry32(20261204);
  const random = (n: number) => Float32Array.from({ length: n }, () => rng() * 2 - 1);
  const todo = new Map<string, ConvGeometry>();
  for (const g of geometries) if (!table.shapes[convShapeKey(g)]) todo.set(convShapeKey(g), g);
  let done = 0;
  for (const [key, g] of todo) {
    const candidates = candidatesFor(g, options.candidates);
    const oh = Math.floor((g.inHeight + 2 * g.padding - g.kernel) / g.stride) + 1;
    const ow = Math.floor((g.inWidth + 2 * g.padding - g.kernel) / g.stride) + 1;
    const macs = g.batch * g.outChannels * oh * ow * g.inChannels * g.kernel * g.kernel;
    const label = `kernel tuning ${key}`;
    const owned: GPUBuffer[] = [];
    const buffer = (what: string, data: Float32Array) => {
      const b = ctx.createStorageBuffer(`${label} ${what}`, data);
      owned.push(b);
      return b;
    };
    const filter = random(g.outChannels * g.inChannels * g.kernel * g.kernel);
    const input = buffer('input', random(g.batch * g.inChannels * g.inHeight * g.inWidth));
    const weights = buffer('filter', packConv2dWeights(filter, g));
    const scale = buffer('scale', new Float32Array(g.outChannels).fill(1));
    const shift = buffer('shift', new Float32Array(g.outChannels));
    const output = buffer('output', new Float32Array(g.batch * g.outChannels * oh * ow));
    const scratchBytes = gemmScratchBytes(g);
    const gemmScratch = candidates.includes('gemm') && scratchBytes ? buffer('split-K scratch', new Float32Array(scratchBytes / 4)) : undefined;
    // The Winograd variants read U, made here from the same random filter as NetworkWeights.winograd makes it.
    const winogradBuffers = (v: WinogradVariant) => {
      const tile = winogradTileOf(v);
      const bytes = winogradScratchBytes(g, tile);
      return {
        weights: buffer(`Winograd F(${tile}x${tile}) filter`, winogradFilter(filter, g, tile)),
        scratch: buffer(`Winograd F(${tile}x${tile}) input scratch`, new Float32Array(bytes.input / 4)),
        products: buffer(`Winograd F(${tile}x${tile}) products`, new Float32Array(bytes.products / 4)),
      };
    };
    const winograd = new Map(candidates.filter(isWinogradVariant).map((v) => [v, winogradBuffers(v)]));
    // 'direct' reads its input zero-padded where a forward would (paddedInputFor), the pad timed with it.
    const padded = candidates.includes('direct') && readsPaddedInput('direct', g) && paddedInputFor(ctx.adapter)
      ? buffer('zero-padded input', new Float32Array(zeroPadLength({ planes: g.batch * g.inChannels, height: g.inHeight, width: g.inWidth, pad: g.padding })))
      : undefined;
    try {
      const buffersFor = (v: Conv2dVariant) => ({
        input, weights, scale, shift, output, scratch: gemmScratch, ...(isWinogradVariant(v) ? winograd.get(v) : {}), ...(v === 'direct' && padded ? { paddedInput: padded } : {}),
      });
      const dispatches = new Map<Conv2dVariant, Dispatch[]>(candidates.map((v) => [v, [convStepDispatches(ctx, { ...g, groups: 1 },
        buffersFor(v), { variant: v, relu: true, precision: 'f32' }, `${label} (${v})`)].flat()]));
      // Warm-up (pipelines compiled), and the repeat count from the slowest candidate's first time.
      let slowest = 0;
      for (const d of dispatches.values()) {
        const t0 = performance.now();
        ctx.run(d);
        await ctx.finish();
        slowest = Math.max(slowest, performance.now() - t0);
      }
      const repeat = options.repeat ?? Math.max(1, Math.min(32, Math.round(20 / Math.max(slowest, 0.01))));
      const times = new Map<Conv2dVariant, number[]>(candidates.map((v) => [v, []]));
      for (let r = 0; r < rounds; r++) {
        for (let i = 0; i < candidates.length; i++) {
          const v = candidates[(i + r) % candidates.length];
          const list = Array.from({ length: repeat }, () => dispatches.get(v)!).flat();
          // In Node, the wait sleeps through most of the fastest submission seen so far first
          // (GpuContext.finish): its polling loop would otherwise take a core from a CPU adapter
          // and time every candidate up to 2x slow (lavapipe: the 3x3 'direct' convolutions).
          const seen = times.get(v)!;
          const sleepMs = seen.length ? FINISH_SLEEP_FRACTION * Math.min(...seen) * repeat : 0;
          const t0 = performance.now();
          ctx.run(list, label);
          await ctx.finish(sleepMs);
          seen.push((performance.now() - t0) / repeat);
        }
      }
      const ms = Object.fromEntries(candidates.map((v) => [v, median(times.get(v)!)])) as Partial<Record<Conv2dVariant, number>>;
      const variant = candidates.reduce((best, v) => (ms[v]! < ms[best]! ? v : best), candidates[0]);
      table.shapes[key] = { variant, ms, macs };
      options.onProgress?.(++done, todo.size, key, table.shapes[key]);
    } finally {
      for (const b of owned) b.destroy();
    }
  }
  return table;
}

/** One convolution of a forward with its measured kernel: what the benchmark reports per layer. */
export interface LayerKernel {
  /** Module path ('layer3.1.conv2'). */
  conv: string;
  key: string;
  variant: Conv2dVariant;
  /** Median ms per candidate. */
  ms: Partial<Record<Conv2dVariant, number>>;
  /** GFLOP/s of the chosen kernel: 2 x multiply-adds / its time. */
  gflops: number;
}

/** The table's choice for every convolution of a schedule, in forward order (shapes it lacks left out). */
export function layerKernels(schedule: ForwardSchedule, table: KernelTable): LayerKernel[] {
  return scheduleConvs(schedule).flatMap(({ spec, geometry }) => {
    const key = convShapeKey(geometry);
    const m = table.shapes[key];
    return m ? [{ conv: spec.conv, key, variant: m.variant, ms: m.ms, gflops: (2 * m.macs) / (m.ms[m.variant]! * 1e6) }] : [];
  });
}
