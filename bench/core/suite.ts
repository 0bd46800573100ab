// The benchmark suite, the same code in a Chromium page and in Node: steps the runner asks for,
// each returning plain JSON. For every engine: setup, (pipeline creation), a first (cold) run on the
// verification input, the check of its logits against the float64 reference, and only then the
// timed runs. An engine whose logits disagree is not timed.

import type * as tfc from '@tensorflow/tfjs-core';
import type * as ortTypes from 'onnxruntime-web';
import type { Architecture } from '../../src/model/architecture';
import { architectureOf } from '../../src/model/family';
import { readSafetensors } from '../../src/weights/safetensors';
import { type EngineMemory, type KernelProfile, createOurEngine, engineStatus } from '../engine-adapter';
import type { LayerKernel } from '../../src/model/tune';
import { benchMatmul, type MatmulResult } from '../matmul';
import { buildResnetOnnx } from '../peers/onnx-resnet';
import { createOrtPeer } from '../peers/ort-peer';
import { buildTfjsResnet, tfjsUnsupported } from '../peers/tfjs-resnet';
import { type Agreement, LOGIT_TOLERANCE, compareLogits } from './compare';
import { networkMacs } from './flops';
import { type Timing, type TimingPlan, now, summarize, timeRuns } from './stats';
import { type HostTensor, type TensorMap, randomInput } from './weights';

export type EngineName = 'ours' | 'tfjs-webgpu' | 'ort-webgpu' | 'ort-wasm';

export interface SuiteEnv {
  kind: 'browser' | 'node';
  gpu: GPU;
  featureLevel: 'core' | 'compatibility';
  /** tfjs with the webgpu backend registered and selected. */
  loadTf(): Promise<typeof tfc>;
  /** onnxruntime-web, configured for this environment. */
  loadOrt(): Promise<typeof ortTypes>;
  readFile(path: string): Promise<Uint8Array>;
  log(line: string): void;
  cores: number;
  userAgent: string;
}

export interface DataPaths {
  /** safetensors, torchvision names (repo-relative path). */
  weights: string;
  /** safetensors with `input` [1,3,H,W]. */
  input: string;
  /** float64 reference logits of `input` ([1000] numbers, JSON). */
  referenceLogits: number[];
}

export interface Variant {
  /** 'b1' (batch 1, logits only), 'b1-all-taps', 'b1-all-taps-reused', 'b8', 'b32' */
  id: string;
  batch: number;
  taps: 'fc' | 'all';
  /** Each run writes the taps into the previous run's arrays (our `into` option; ours only). */
  reuse?: boolean;
}

export type Step =
  | { kind: 'env' }
  | { kind: 'matmul'; size: number; plan: TimingPlan }
  | {
    kind: 'model'; engine: EngineName; size: number; data: DataPaths; variants: Variant[];
    /** torchvision's constructor name (src/model/family.ts); absent: resnet18. */
    arch?: string;
    plan: TimingPlan; throughputPlan: TimingPlan; skipVerification?: boolean;
    /** Our engine's `convVariant` option (ours only); absent: the engine's choice per adapter. */
    convVariant?: string;
    /** Our engine's `winogradStride2` option (ours only); absent: the engine's choice per adapter. */
    winogradStride2?: boolean;
    /**
     * Skip a batch > 1 variant when batch x (batch-1 median) x (warm-ups + runs) would exceed this
     * many seconds (SwiftShader: a batch-32 forward takes minutes). 0 = never skip.
     */
    throughputBudgetSeconds: number;
  };

export interface EnvResult {
  kind: 'browser' | 'node';
  userAgent: string;
  cores: number;
  featureLevel: 'core' | 'compatibility';
  adapter: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean } | null;
  features: string[];
  limits: Record<string, number>;
  error?: string;
}

export interface VariantResult {
  id: string;
  batch: number;
  taps: 'fc' | 'all';
  tapCount: number;
  /** ms building the plan for this shape (pipelines, bind groups, buffers); ours only. */
  pipelineMs?: number | null;
  firstRunMs?: number;
  timing?: Timing;
  /** images per second at the median. */
  imagesPerSecond?: number;
  /** 2 * MACs / median, GFLOP/s. */
  effectiveGflops?: number;
  agreement?: Agreement;
  /** The engine's memory counters after this variant (pool peak is cumulative over the variants so far). */
  memory?: EngineMemory;
  /** Logits of the first run (batch 1 only), for the pairwise agreement between engines. */
  logits?: number[];
  skipped?: string;
  error?: string;
}

/** Which device an engine really ran on (peers pick their own adapter). */
export interface DeviceInfo {
  vendor?: string;
  architecture?: string;
  description?: string;
  /** false on a compatibility-mode device (no 'core-features-and-limits'). */
  core?: boolean;
  maxStorageBufferBindingSize?: number;
}

export function describeDevice(device: GPUDevice | undefined | null): DeviceInfo | undefined {
  if (!device) return undefined;
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  return {
    vendor: info?.vendor, architecture: info?.architecture, description: info?.description,
    core: device.features.has('core-features-and-limits'),
    maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
  };
}

export interface ModelResult {
  engine: EngineName;
  size: number;
  /** The architecture run (absent in results written before the benchmark ran other members: resnet18). */
  arch?: string;
  /** The device the engine ran on (wasm: none). */
  device?: DeviceInfo;
  /** ms: creating the engine / backend / session and uploading the weights. */
  setupMs?: number;
  /** ms building the ONNX model bytes (ORT only; not part of setup). */
  modelBuildMs?: number;
  /** JS-side ms in createComputePipeline after all runs (ours: the engine's own counter). */
  pipelineCreationMsTotal?: number | null;
  verification?: Agreement & { tolerance: number; against: 'float64 reference' };
  variants: VariantResult[];
  memory?: EngineMemory;
  /**
   * Ours, batch 1, logits only: median GPU ms per kernel over a few profiling runs (each kernel in
   * its own pass with timestamps), or why there is none.
   */
  kernelProfile?: (KernelProfile & { runs: number }) | { unavailable: string };
  /**
   * Ours, batch 1: the plain forward, all taps and all taps into reused arrays, run in turn in each
   * round (the order rotating), so that a machine whose speed drifts slows all three alike. The
   * ratios are medians of the per-round ratios; the sequential medians of `variants` are not.
   */
  interleavedTaps?: { rounds: number; plain: Timing; allTaps: Timing; reused: Timing; allTapsRatio: number; reusedRatio: number };
  /** Ours with `--conv-variant measured`: the kernel measured fastest for each convolution, and the measuring's ms. */
  kernelChoices?: { tuningMs: number; layers: LayerKernel[] };
  notes: string[];
  error?: string;
  available: boolean;
}

let cachedWeights: { path: string; weights: TensorMap } | null = null;

async function loadWeights(env: SuiteEnv, path: string): Promise<TensorMap> {
  if (cachedWeights?.path === path) return cachedWeights.weights;
  const { tensors } = readSafetensors(await env.readFile(path), path);
  cachedWeights = { path, weights: tensors };
  return tensors;
}

async function loadInput(env: SuiteEnv, path: string): Promise<HostTensor> {
  const { tensors } = readSafetensors(await env.readFile(path), path);
  const input = tensors.get('input');
  if (!input) throw new Error(`${path} holds no tensor 'input'`);
  return input;
}

export async function runStep(env: SuiteEnv, step: Step): Promise<unknown> {
  switch (step.kind) {
    case 'env':
      return describeEnv(env);
    case 'matmul':
      return runMatmul(env, step.size, step.plan);
    case 'model':
      return runModel(env, step);
    default:
      throw new Error(`unknown step ${(step as { kind: string }).kind}`);
  }
}

async function requestDevice(env: SuiteEnv): Promise<{ adapter: GPUAdapter; device: GPUDevice }> {
  const adapter = await env.gpu.requestAdapter(env.featureLevel === 'compatibility'
    ? ({ featureLevel: 'compatibility' } as GPURequestAdapterOptions) : {});
  if (!adapter) throw new Error(`no WebGPU adapter (featureLevel ${env.featureLevel})`);
  const device = await adapter.requestDevice({
    label: 'bench device',
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
      maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: adapter.limits.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: adapter.limits.maxComputeWorkgroupSizeY,
    },
  });
  return { adapter, device };
}

async function describeEnv(env: SuiteEnv): Promise<EnvResult> {
  const base = { kind: env.kind, userAgent: env.userAgent, cores: env.cores, featureLevel: env.featureLevel };
  try {
    const { adapter, device } = await requestDevice(env);
    const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
    const limits: Record<string, number> = {};
    for (const k of ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize',
      'maxComputeInvocationsPerWorkgroup', 'maxStorageBuffersPerShaderStage'] as const) {
      limits[k] = adapter.limits[k] as number;
    }
    const result: EnvResult = {
      ...base,
      adapter: info ? {
        vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description,
        isFallbackAdapter: (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter
          ?? (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter,
      } : null,
      features: [...adapter.features].map(String).sort(),
      limits,
    };
    device.destroy();
    return result;
  } catch (e) {
    return { ...base, adapter: null, features: [], limits: {}, error: String((e as Error).message ?? e) };
  }
}

async function runMatmul(env: SuiteEnv, size: number, plan: TimingPlan): Promise<MatmulResult> {
  const { device } = await requestDevice(env);
  try {
    return await benchMatmul(device, size, plan, env.log);
  } finally {
    device.destroy();
  }
}

interface Runner {
  /** Build the plan for a variant ahead of its first run (ours only); ms or null. */
  prepare?(batch: number, taps: string[]): Promise<number | null>;
  run(input: HostTensor, taps: string[], reuse?: boolean): Promise<Float32Array>;
  allTaps?(): string[];
  memory?(): EngineMemory;
  pipelineCreationMs?(): number | null;
  profile?(input: HostTensor, taps: string[]): Promise<KernelProfile | { unavailable: string }>;
  /** The GPUDevice in use (after the first run). */
  device?(): Promise<GPUDevice | undefined> | GPUDevice | undefined;
  dispose(): Promise<void> | void;
}

async function createRunner(env: SuiteEnv, engine: EngineName, weights: TensorMap, size: number, arch: Architecture,
  result: ModelResult, convVariant?: string, winogradStride2?: boolean): Promise<Runner> {
  if (engine === 'ours') {
    const { engine: e, createMs, loadMs } = await createOurEngine({ gpu: env.gpu, featureLevel: env.featureLevel, convVariant, winogradStride2,
      ...(result.arch ? { architecture: result.arch } : {}) }, weights);
    if (winogradStride2 !== undefined) result.notes.push(`winogradStride2 forced ${winogradStride2 ? 'on' : 'off'}`);
    if (convVariant === 'measured') {
      const t0 = now();
      const layers = await e.tuneKernels(1, size, size);
      result.kernelChoices = { tuningMs: now() - t0, layers };
      result.notes.push(`convolution kernels chosen by measurement on this adapter, per layer (${(now() - t0).toFixed(0)} ms at batch 1; ` +
        'larger batches measure their own shapes on first use)');
    } else if (convVariant) {
      result.notes.push(`convolution kernel forced to '${convVariant}'`);
    }
    result.setupMs = createMs + loadMs;
    result.notes.push(`engine create ${createMs.toFixed(0)} ms + weight upload ${loadMs.toFixed(0)} ms`);
    // The last result of a reusing run, whose arrays the next one writes into (kept through other
    // runs, which interleaveTaps puts between them).
    let last: Map<string, HostTensor> | undefined;
    return {
      prepare: (batch, taps) => e.prepare(batch, size, size, taps),
      async run(input, taps, reuse) {
        const out = await e.forward(input, taps, reuse ? last : undefined);
        if (reuse) last = out;
        const fc = out.get('fc');
        if (!fc) throw new Error('engine returned no fc tap');
        return fc.data;
      },
      allTaps: () => e.allTaps(),
      memory: () => e.memory(),
      pipelineCreationMs: () => e.pipelineCreationMs(),
      profile: (input, taps) => e.profileKernels(input, taps),
      device: () => e.device(),
      dispose: () => e.dispose(),
    };
  }
  if (engine === 'tfjs-webgpu') {
    const t0 = now();
    const tf = await env.loadTf();
    const model = buildTfjsResnet(tf, weights, arch);
    // Weight uploads are lazy in tfjs (on first use), so setup is backend init + tensor creation.
    result.setupMs = now() - t0;
    result.notes.push(`tfjs ${tf.version_core} backend ${tf.getBackend()}`);
    return {
      run: (input) => model.predict(input),
      device: () => (tf.backend() as unknown as { device?: GPUDevice }).device,
      dispose: () => model.dispose(),
    };
  }
  const ort = await env.loadOrt();
  const tb = now();
  const model = buildResnetOnnx(weights, 1, size, size, arch);
  result.modelBuildMs = now() - tb;
  result.notes.push(`ONNX model ${(model.bytes.length / 2 ** 20).toFixed(1)} MiB, ${model.nodeCount} nodes ` +
    `(${Object.entries(model.ops).map(([k, v]) => `${v} ${k}`).join(', ')}); onnxruntime-web ${ort.env.versions?.web ?? ''}`);
  const ep = engine === 'ort-webgpu' ? 'webgpu' : 'wasm';
  if (ep === 'wasm') result.notes.push(`wasm EP, ${ort.env.wasm.numThreads ?? 'default'} threads, SIMD`);
  const t0 = now();
  const peer = await createOrtPeer(ort, model.bytes, ep);
  result.setupMs = now() - t0;
  return {
    run: (input) => peer.predict(input),
    device: ep === 'webgpu' ? () => ort.env.webgpu.device as Promise<GPUDevice> : undefined,
    dispose: () => peer.dispose(),
  };
}

async function runModel(env: SuiteEnv, step: Extract<Step, { kind: 'model' }>): Promise<ModelResult> {
  const { engine, size } = step;
  const arch = architectureOf(step.arch ?? 'resnet18');
  const result: ModelResult = { engine, size, ...(step.arch ? { arch: arch.name } : {}), variants: [], notes: [], available: true };
  const unsupported = engine === 'tfjs-webgpu' ? tfjsUnsupported(arch) : null;
  if (unsupported) {
    result.available = false;
    result.error = unsupported;
    return result;
  }
  if (engine === 'ours') {
    const status = engineStatus();
    if (!status.available) {
      result.available = false;
      result.error = `engine not available: ${status.reason}`;
      return result;
    }
  }
  let runner: Runner | null = null;
  const macs = networkMacs(size, size, arch);
  try {
    const weights = await loadWeights(env, step.data.weights);
    const input = await loadInput(env, step.data.input);
    if (input.shape[2] !== size) throw new Error(`input is ${input.shape[2]} px, step wants ${size}`);
    env.log(`${engine}: setup`);
    runner = await createRunner(env, engine, weights, size, arch, result, step.convVariant, step.winogradStride2);
    env.log(`${engine}: setup ${result.setupMs?.toFixed(0)} ms`);
    const tapsFor = (v: Variant) => (v.taps === 'all' ? (runner?.allTaps?.() ?? ['fc']) : ['fc']);

    let verified = false;
    for (const v of step.variants) {
      const vr: VariantResult = { id: v.id, batch: v.batch, taps: v.taps, tapCount: 0 };
      result.variants.push(vr);
      if (v.taps === 'all' && !runner.allTaps) {
        vr.skipped = 'this engine has no taps';
        continue;
      }
      const taps = tapsFor(v);
      vr.tapCount = taps.length;
      try {
        const plan = v.batch === 1 ? step.plan : step.throughputPlan;
        if (v.batch > 1 && step.throughputBudgetSeconds > 0) {
          const b1 = result.variants.find((r) => r.id === 'b1')?.timing?.median;
          const estimate = b1 ? (b1 * v.batch * (plan.warmups + plan.runs + 1)) / 1000 : 0;
          if (estimate > step.throughputBudgetSeconds) {
            vr.skipped = `skipped: estimated ${(estimate / 60).toFixed(0)} min (${v.batch} x batch-1 median ` +
              `${(b1! / 1000).toFixed(1)} s x ${plan.warmups + plan.runs + 1} runs) exceeds the throughput budget of ` +
              `${step.throughputBudgetSeconds} s (--throughput-budget)`;
            env.log(`${engine} ${v.id}: ${vr.skipped}`);
            continue;
          }
        }
        if (v.batch > 1 && !verified && !step.skipVerification) {
          vr.skipped = 'not run: batch-1 verification did not pass';
          continue;
        }
        const batchInput = v.batch === 1 ? input : randomInput(1000 + v.batch, v.batch, size, size);
        if (runner.prepare) {
          vr.pipelineMs = await runner.prepare(v.batch, taps);
          if (vr.pipelineMs != null) env.log(`${engine} ${v.id}: plan + pipelines ${vr.pipelineMs.toFixed(0)} ms`);
        }
        const t0 = now();
        const logits = await runner.run(batchInput, taps, v.reuse);
        vr.firstRunMs = now() - t0;
        env.log(`${engine} ${v.id}: first run ${vr.firstRunMs.toFixed(0)} ms`);
        if (!result.device && runner.device) {
          result.device = describeDevice(await runner.device());
          const d = result.device;
          if (d) env.log(`${engine}: device ${[d.vendor, d.architecture, d.description].filter(Boolean).join(' / ') || '(no adapter info)'}, ` +
            `${d.core ? 'core' : 'compatibility'}, max storage binding ${((d.maxStorageBufferBindingSize ?? 0) / 2 ** 20).toFixed(0)} MiB`);
        }
        if (v.batch === 1) {
          vr.logits = Array.from(logits);
          vr.agreement = compareLogits(logits, step.data.referenceLogits);
          env.log(`${engine} ${v.id}: logits vs float64 reference: rel error ${vr.agreement.relError.toExponential(2)}` +
            `, top-1 ${vr.agreement.top1Agree ? 'agrees' : 'DIFFERS'}`);
          if (!verified) {
            result.verification = { ...vr.agreement, tolerance: LOGIT_TOLERANCE, against: 'float64 reference' };
            verified = vr.agreement.ok;
          }
          if (!vr.agreement.ok && !step.skipVerification) {
            vr.skipped = `not timed: logits differ from the float64 reference by ${vr.agreement.relError.toExponential(2)} ` +
              `of their scale (tolerance ${LOGIT_TOLERANCE})`;
            continue;
          }
        }
        if (plan.runs === 0) {
          vr.skipped = 'verification only (no timed runs)';
          continue;
        }
        vr.timing = await timeRuns(() => runner!.run(batchInput, taps, v.reuse), plan, `${engine} ${v.id}`, env.log);
        vr.imagesPerSecond = (v.batch * 1000) / vr.timing.median;
        vr.effectiveGflops = (2 * macs * v.batch) / vr.timing.median / 1e6;
        vr.memory = runner.memory?.();
        env.log(`${engine} ${v.id}: median ${vr.timing.median.toFixed(1)} ms (min ${vr.timing.min.toFixed(1)}, ` +
          `max ${vr.timing.max.toFixed(1)}, n=${vr.timing.n})`);
      } catch (e) {
        vr.error = String((e as Error).message ?? e);
        env.log(`${engine} ${v.id}: ERROR ${vr.error}`);
      }
    }
    const timed = (id: string) => result.variants.find((r) => r.id === id && r.batch === 1 && r.timing);
    if (engine === 'ours' && timed('b1') && timed('b1-all-taps') && timed('b1-all-taps-reused')) {
      try {
        result.interleavedTaps = await interleaveTaps(runner, input, tapsFor({ id: 'b1-all-taps', batch: 1, taps: 'all' }), step.plan.runs, env.log);
      } catch (e) {
        result.notes.push(`interleaved all-taps rounds failed: ${(e as Error).message ?? e}`);
      }
    }
    if (runner.profile && verified && step.plan.runs > 0) {
      try {
        result.kernelProfile = await profile(runner, input, Math.min(5, Math.max(1, step.plan.warmups + 1)), env.log);
      } catch (e) {
        result.kernelProfile = { unavailable: `profiling failed: ${(e as Error).message ?? e}` };
      }
    }
    result.memory = runner.memory?.();
    result.pipelineCreationMsTotal = runner.pipelineCreationMs?.() ?? undefined;
  } catch (e) {
    result.error = String((e as Error).stack ?? e);
    env.log(`${engine}: ERROR ${(e as Error).message ?? e}`);
  } finally {
    try {
      await runner?.dispose();
    } catch {
      /* disposal errors do not change the measures */
    }
  }
  return result;
}

/** ModelResult.interleavedTaps: `rounds` rounds of the three batch-1 runs, the order rotating. */
async function interleaveTaps(runner: Runner, input: HostTensor, allTaps: string[], rounds: number, log: (s: string) => void):
  Promise<NonNullable<ModelResult['interleavedTaps']>> {
  const kinds = [
    { taps: ['fc'], reuse: false },
    { taps: allTaps, reuse: false },
    { taps: allTaps, reuse: true },
  ];
  const samples: number[][] = [[], [], []];
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < 3; k++) {
      const which = (round + k) % 3;
      const t0 = now();
      await runner.run(input, kinds[which].taps, kinds[which].reuse);
      samples[which].push(now() - t0);
    }
  }
  const [plain, allTapsTiming, reused] = samples.map((x) => summarize(x, 0));
  const ratio = (k: number) => summarize(samples[k].map((t, i) => t / samples[0][i]), 0).median;
  const out = { rounds, plain, allTaps: allTapsTiming, reused, allTapsRatio: ratio(1), reusedRatio: ratio(2) };
  log(`ours interleaved (${rounds} rounds): plain ${plain.median.toFixed(1)}, all taps ${allTapsTiming.median.toFixed(1)} ` +
    `(${out.allTapsRatio.toFixed(2)}x), into reused arrays ${reused.median.toFixed(1)} ms (${out.reusedRatio.toFixed(2)}x)`);
  return out;
}

/** Per-kernel GPU times: the median of `runs` profiling runs, kernel by kernel. */
async function profile(runner: Runner, input: HostTensor, runs: number, log: (s: string) => void):
  Promise<(KernelProfile & { runs: number }) | { unavailable: string }> {
  const all: KernelProfile[] = [];
  for (let r = 0; r < runs; r++) {
    const p = await runner.profile!(input, ['fc']);
    if ('unavailable' in p) return p;
    all.push(p);
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const kernels = all[0].kernels.map((k, i) => ({ ...k, ms: median(all.map((p) => p.kernels[i].ms)) }));
  const totalMs = kernels.reduce((a, k) => a + k.ms, 0);
  log(`ours: per-kernel GPU time (timestamps, median of ${runs}): total ${totalMs.toFixed(1)} ms over ${kernels.length} kernels`);
  return { kernels, totalMs, runs };
}
