// Test helpers: one GPU context per test file (Dawn in Node; lavapipe where Mesa 25 provides it, as
// it is about 4x faster than SwiftShader; RESNET_STREAM_ADAPTER overrides), upload / download, fresh
// random data, and error measures.

import { GpuContext } from '../../src/gpu/context';
import { type AdapterChoice, createNodeContext, defaultCpuAdapter } from '../../src/gpu/node';

let shared: Promise<GpuContext> | null = null;

export function testContext(): Promise<GpuContext> {
  shared ??= createNodeContext((process.env.RESNET_STREAM_ADAPTER as AdapterChoice | undefined) ?? defaultCpuAdapter());
  return shared;
}

export function upload(ctx: GpuContext, data: Float32Array, label = 'test input'): GPUBuffer {
  return ctx.createStorageBuffer(label, data);
}

/** An output buffer poisoned with NaN, so a kernel that skips an element cannot pass. */
export function poisoned(ctx: GpuContext, count: number, label = 'test output'): GPUBuffer {
  return ctx.createStorageBuffer(label, new Float32Array(count).fill(NaN));
}

export async function download(ctx: GpuContext, buffer: GPUBuffer, count: number): Promise<Float32Array> {
  const [data] = await ctx.readback([{ buffer, byteLength: count * 4 }]);
  return data;
}

/** Deterministic-per-seed uniform random numbers in [lo, hi); tests pass a fresh seed each run. */
export function randomArray(count: number, rng: () => number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(count);
  for (let i = 0; i < count; i++) a[i] = lo + (hi - lo) * rng();
  return a;
}

/** mulberry32 (the weight initialiser's generator): small, fast, seedable. */
export { mulberry32 as makeRng } from '../../src/util/random';

/** A fresh seed per run (printed by the caller so a failure can be replayed). */
export function freshSeed(): number {
  const fromEnv = process.env.TEST_SEED;
  return fromEnv ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31);
}

/** max |a - b| / max(|b|_inf, tiny): error relative to the reference's scale. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst / Math.max(scale, 1e-30);
}

interface TapTensor { shape: number[]; data: ArrayLike<number> }

/**
 * relativeError of every tap of a forward against the reference's, and the worst as [tap, error].
 * A tap whose shape differs throws, naming it.
 */
export function tapErrors(got: ReadonlyMap<string, TapTensor>, want: ReadonlyMap<string, TapTensor>, taps: readonly string[]):
  { errors: Record<string, number>; worst: [string, number] } {
  const errors: Record<string, number> = {};
  let worst: [string, number] = ['', 0];
  for (const tap of taps) {
    const [g, w] = [got.get(tap), want.get(tap)];
    if (!g || !w || g.shape.join('x') !== w.shape.join('x')) throw new Error(`${tap}: shape ${g?.shape.join('x')} against the reference's ${w?.shape.join('x')}`);
    errors[tap] = relativeError(g.data, w.data);
    if (!(errors[tap] <= worst[1])) worst = [tap, errors[tap]];
  }
  return { errors, worst };
}

/**
 * A kernel test's ReLU setting: false, true (the kernel's fused ReLU) or 'both' (the kernel writes
 * y before the ReLU and `reluOutput` after it, ReluOptions in src/kernels/relu.ts). `opts` go to
 * the dispatch; the reference applies ReLU when `referenceRelu`; `check` (after the run) requires the
 * second output to be max(y, 0) of the very values in y, element for element (NaN-poisoned, so a
 * skipped element fails too).
 */
export function reluCase(ctx: GpuContext, relu: boolean | 'both', count: number, label: string) {
  const reluOutput = relu === 'both' ? poisoned(ctx, count, `${label} ReLU output`) : undefined;
  return {
    opts: { relu: relu === true, ...(reluOutput ? { reluOutput } : {}) },
    referenceRelu: relu === true,
    async check(y: Float32Array): Promise<void> {
      if (!reluOutput) return;
      const got = await download(ctx, reluOutput, count);
      const wrong = got.findIndex((v, i) => !(v === Math.max(y[i], 0)));
      if (wrong >= 0) throw new Error(`${label}: ReLU output [${wrong}] is ${got[wrong]}, max(y, 0) is ${Math.max(y[wrong], 0)}`);
      // The check can fail: y holds both signs here (else it would prove little).
      if (!y.some((v) => v < 0) || !y.some((v) => v > 0)) throw new Error(`${label}: y should hold both signs for the ReLU output's check`);
    },
  };
}
