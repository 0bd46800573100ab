// The one place the benchmark touches our engine's API. If src/index.ts changes, fix it here.
//
// '../src/index' is resolved by the bench build (bench/build.mjs): to src/index.ts when it exports
// ResNetEngine and bundles, else to a stand-in module, so the peers are measured either way and
// the results say why the engine rows are missing.
//
// API used (src/model/engine.ts):
//   ResNetEngine.create({ gpu?, device?, featureLevel? })     -> engine
//   engine.loadWeights(Map<name, {shape, data}>, { architecture? })  (a family member's name)
//   engine.forward({shape: [N,3,H,W], data}, { taps, into? })   -> Map<tap, {shape, data}>
//   optional, used when present: engine.plan(N, H, W, taps)    (pipelines + buffers, timed apart)
//   engine.ctx.pipelines.creationMs, engine.ctx.pool.peakBytesInUse, engine.weightBytes,
//   engine.computableTaps() / ResNetEngine.allTaps(), engine.adapter, engine.dispose()
//   per-kernel profile (internals): engine.plan(...).dispatches [{label, pipeline, bindGroup,
//   workgroups}], plan.input (GPUBuffer), engine.ctx.device, device.features 'timestamp-query'

import * as engineModule from '../src/index';
import { profileDispatches } from './core/profile';
import type { HostTensor, TensorMap } from './core/weights';
import type { LayerKernel } from '../src/model/tune';

export interface EngineMemory {
  weightBytes?: number;
  /** Peak bytes of pooled activation buffers handed out at once. */
  poolPeakBytesInUse?: number;
  poolBytesAllocated?: number;
}

export interface OurEngine {
  adapter?: unknown;
  /** The engine's GPUDevice (to record which adapter it ran on). */
  device(): GPUDevice | undefined;
  /** Every tap name the loaded weights can compute. */
  allTaps(): string[];
  /** Build (and cache) the plan for a shape and tap set: pipelines, bind groups, buffers. */
  prepare(batch: number, height: number, width: number, taps: string[]): Promise<number | null>;
  /** `into`: an earlier result whose arrays this one overwrites (the engine's `into` option). */
  forward(input: HostTensor, taps: string[], into?: Map<string, HostTensor>): Promise<Map<string, HostTensor>>;
  /** JS-side ms spent in createComputePipeline so far (the engine's own counter), if it keeps one. */
  pipelineCreationMs(): number | null;
  memory(): EngineMemory;
  /**
   * GPU time per kernel from timestamp queries: each dispatch in its own compute pass with
   * timestampWrites (a profiling run only: the timed runs keep one pass for the whole forward).
   * null + reason when the device has no timestamp queries or the engine's internals differ.
   */
  profileKernels(input: HostTensor, taps: string[]): Promise<KernelProfile | { unavailable: string }>;
  /** Measure the kernel of every convolution of a forward of this size (src/model/tune.ts), and report each layer's choice. */
  tuneKernels(batch: number, height: number, width: number): Promise<LayerKernel[]>;
  dispose(): void;
}

export interface KernelProfile {
  /**
   * One entry per dispatch, in forward order: GPU ms between the pass's begin and end timestamps;
   * `shader` is the pipeline's label up to ' pipeline' (the kernel kind, e.g. 'conv2d').
   */
  kernels: { label: string; shader: string; ms: number }[];
  totalMs: number;
}

export function engineStatus(): { available: boolean; reason?: string } {
  const m = engineModule as Record<string, unknown>;
  if (typeof m.ResNetEngine === 'function') return { available: true };
  return { available: false, reason: String(m.ENGINE_UNAVAILABLE_REASON ?? 'src/index.ts does not export ResNetEngine') };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

export async function createOurEngine(options: { gpu?: GPU; featureLevel?: 'core' | 'compatibility'; convVariant?: string; winogradStride2?: boolean; architecture?: string },
  weights: TensorMap): Promise<{ engine: OurEngine; createMs: number; loadMs: number }> {
  const status = engineStatus();
  if (!status.available) throw new Error(`our engine is not available: ${status.reason}`);
  const Engine = (engineModule as Any).ResNetEngine;
  const t0 = performance.now();
  // 'measured': every convolution's kernel chosen by measurement on this adapter (tune.ts).
  const kernels = options.convVariant === 'measured' ? { measureKernels: true } : options.convVariant ? { convVariant: options.convVariant } : {};
  const stride2 = options.winogradStride2 !== undefined ? { winogradStride2: options.winogradStride2 } : {};
  const e: Any = await Engine.create({ gpu: options.gpu, featureLevel: options.featureLevel, ...kernels, ...stride2 });
  const t1 = performance.now();
  // Insisting on the architecture turns a mix-up of weight files into an error, not a wrong network.
  e.loadWeights(weights, ...(options.architecture ? [{ architecture: options.architecture }] : []));
  // Weight uploads are queued; wait for them so loadMs is the real upload time.
  await e.ctx?.device?.queue?.onSubmittedWorkDone?.();
  const t2 = performance.now();
  const engine: OurEngine = {
    adapter: e.adapter,
    device: () => e.ctx?.device,
    allTaps: () => (typeof e.computableTaps === 'function' ? e.computableTaps() : Engine.allTaps()),
    async prepare(batch, height, width, taps) {
      if (typeof e.plan !== 'function') return null;
      const s = performance.now();
      e.plan(batch, height, width, taps);
      // In Chromium pipeline creation runs in the GPU process; the queue is ordered behind it.
      await e.ctx?.device?.queue?.onSubmittedWorkDone?.();
      return performance.now() - s;
    },
    forward: (input, taps, into) => e.forward(input, { taps, ...(into ? { into } : {}) }),
    pipelineCreationMs: () => (typeof e.ctx?.pipelines?.creationMs === 'number' ? e.ctx.pipelines.creationMs : null),
    memory: () => ({
      weightBytes: e.weightBytes,
      poolPeakBytesInUse: e.ctx?.pool?.peakBytesInUse,
      poolBytesAllocated: e.ctx?.pool?.bytesAllocated,
    }),
    profileKernels: (input, taps) => profileKernels(e, input, taps),
    async tuneKernels(batch, height, width) {
      const table = await e.tuneKernels(batch, height, width);
      return (engineModule as Any).layerKernels(e.plan(batch, height, width, ['fc']).schedule, table);
    },
    dispose: () => e.dispose(),
  };
  return { engine, createMs: t1 - t0, loadMs: t2 - t1 };
}

async function profileKernels(e: Any, input: HostTensor, taps: string[]): Promise<KernelProfile | { unavailable: string }> {
  const device: GPUDevice | undefined = e.ctx?.device;
  if (!device) return { unavailable: 'engine.ctx.device not found' };
  if (!device.features.has('timestamp-query')) return { unavailable: 'the device has no timestamp-query feature' };
  if (typeof e.plan !== 'function') return { unavailable: 'engine.plan() not found' };
  const [batch, , height, width] = input.shape;
  const plan = e.plan(batch, height, width, taps);
  const dispatches = plan?.dispatches as { label: string; pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; workgroups: [number, number, number] }[] | undefined;
  if (!Array.isArray(dispatches) || !plan.input) return { unavailable: 'plan.dispatches / plan.input not found' };
  device.queue.writeBuffer(plan.input, 0, input.data.buffer, input.data.byteOffset, input.data.byteLength);
  const ms = await profileDispatches(device, dispatches, 'bench kernel profile');
  const kernels = dispatches.map((d, i) => ({ label: d.label, shader: (d.pipeline.label || d.label).replace(/ pipeline.*$/, ''), ms: ms[i] }));
  return { kernels, totalMs: kernels.reduce((a, k) => a + k.ms, 0) };
}
