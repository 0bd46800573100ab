// The device layer: adapter and device acquisition, limits, labelled buffers, one-pass dispatch of
// many kernels, and readback of any set of buffers with one copy and one map.

import { BufferPool } from './buffers';
import { GpuLimitError, firstLine, mib } from './errors';
import type { Kernel } from './kernel';
import { PipelineCache } from './pipelines';
import type { UniformFields, UniformLayout, UniformValues } from './uniforms';
import { BUFFER_ALIGNMENT, alignedBytes } from '../util/tensor';

/** One kernel launch, prepared once and encoded into a compute pass as often as needed. */
export interface Dispatch {
  label: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  workgroups: [number, number, number];
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A short name: 'swiftshader', 'lavapipe', or the vendor/architecture. */
  name: string;
  isFallbackAdapter: boolean;
  featureLevel: 'core' | 'compatibility';
}

export interface GpuContextOptions {
  /** An existing device (a page that already has one). */
  device?: GPUDevice;
  /** The GPU entry point; defaults to navigator.gpu. */
  gpu?: GPU;
  powerPreference?: GPUPowerPreference;
  /** Ask for a compatibility-mode adapter (WebGPU compat, e.g. on OpenGL ES). */
  featureLevel?: 'core' | 'compatibility';
  forceFallbackAdapter?: boolean;
}

/** Storage-binding size ResNet18 needs at batch 1, 224x224 (conv1 output, 64x112x112 float32). */
export const MIN_STORAGE_BINDING_BYTES = 64 * 112 * 112 * 4;

export class WebGpuUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebGpuUnavailableError';
  }
}

export class DeviceLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeviceLostError';
  }
}

function describeAdapter(info: GPUAdapterInfo | undefined, isFallback: boolean, featureLevel: 'core' | 'compatibility'): AdapterDescription {
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = info?.description ?? '';
  const all = `${vendor} ${architecture} ${device} ${description}`.toLowerCase();
  const name = all.includes('swiftshader') ? 'swiftshader'
    : all.includes('llvmpipe') || all.includes('lavapipe') ? 'lavapipe'
    : [vendor, architecture].filter(Boolean).join(' ') || description
      // Compatibility mode over ANGLE reports no adapter info at all.
      || (featureLevel === 'compatibility' ? 'compatibility-mode adapter (no adapter info)' : 'unnamed adapter');
  return { vendor, architecture, device, description, name, isFallbackAdapter: isFallback, featureLevel };
}

export class GpuContext {
  readonly pipelines: PipelineCache;
  readonly pool: BufferPool;
  /** Resolves with a DeviceLostError when the device is lost; every later call throws it. */
  readonly lost: Promise<DeviceLostError>;
  private lostError: DeviceLostError | null = null;
  /** Rejecters of pending waits (whenLost), called on loss. */
  private readonly lostWaiters = new Set<(e: DeviceLostError) => void>();
  private readonly ownsDevice: boolean;
  private placeholderBuffer: GPUBuffer | null = null;
  private unusedReluOutputBuffer: GPUBuffer | null = null;

  /**
   * The GPU entry point the device came from. Held so that it lives as long as the context: Dawn's
   * Node binding tears its instance down when the object returned by create() is collected.
   */
  private gpuEntry: GPU | null = null;

  /**
   * Sleep through most of a readback's expected GPU time before calling mapAsync (see
   * ReadbackSlot). On by default in Node, where the WebGPU implementation is Dawn's binding.
   */
  deferMaps = isNodeRuntime();

  /** How the adapter was found, where the caller resolved it (Node: which driver and why). */
  origin: string | null = null;

  private constructor(readonly device: GPUDevice, readonly adapter: AdapterDescription, ownsDevice: boolean) {
    this.ownsDevice = ownsDevice;
    this.pipelines = new PipelineCache(device);
    this.pool = new BufferPool(device);
    this.lost = device.lost.then((info) => {
      this.lostError = new DeviceLostError(
        `WebGPU device lost (${info.reason}): ${firstLine(info.message || 'no message')}; ` +
        'nothing more can run on it: dispose this engine and create a new one to continue.');
      for (const reject of this.lostWaiters) reject(this.lostError);
      this.lostWaiters.clear();
      return this.lostError;
    });
  }

  static async create(options: GpuContextOptions = {}): Promise<GpuContext> {
    if (options.device) {
      return new GpuContext(options.device, describeAdapter((options.device as { adapterInfo?: GPUAdapterInfo }).adapterInfo, false, 'core'), false);
    }
    const gpu = options.gpu ?? (globalThis.navigator as Navigator | undefined)?.gpu;
    if (!gpu) {
      throw new WebGpuUnavailableError(
        'WebGPU is not available here: navigator.gpu is missing. Use a browser with WebGPU enabled ' +
        '(Chrome/Edge 113+, or Chromium with --enable-unsafe-webgpu), or run the Node CLI, which uses Dawn.');
    }
    const featureLevel = options.featureLevel ?? 'core';
    const adapter = await gpu.requestAdapter({
      powerPreference: options.powerPreference,
      forceFallbackAdapter: options.forceFallbackAdapter,
      ...(featureLevel === 'compatibility' ? { featureLevel: 'compatibility' } : {}),
    } as GPURequestAdapterOptions);
    if (!adapter) {
      throw new WebGpuUnavailableError(
        'WebGPU is present but no adapter was found. On a machine without a GPU, install a Vulkan CPU driver ' +
        '(Debian: chromium ships SwiftShader; mesa-vulkan-drivers has lavapipe) and libvulkan1.');
    }
    const limits = adapter.limits;
    const need = (name: keyof GPUSupportedLimits, value: number) => {
      const have = limits[name] as number;
      if (have < value) {
        throw new WebGpuUnavailableError(`adapter limit ${String(name)} is ${have}, below the ${value} ResNet18 needs`);
      }
    };
    need('maxStorageBufferBindingSize', MIN_STORAGE_BINDING_BYTES);
    need('maxComputeWorkgroupStorageSize', 16384);
    need('maxComputeInvocationsPerWorkgroup', 256);
    need('maxStorageBuffersPerShaderStage', 6);
    const requiredFeatures: GPUFeatureName[] = [];
    if (adapter.features.has('timestamp-query')) requiredFeatures.push('timestamp-query');
    if (adapter.features.has('shader-f16')) requiredFeatures.push('shader-f16');
    // Subgroups: on lavapipe the direct convolution and the Winograd products share their loads
    // across a subgroup by shuffles (kernels/conv2d.ts, kernels/conv2d-winograd.ts).
    if (adapter.features.has('subgroups')) requiredFeatures.push('subgroups' as GPUFeatureName);
    const device = await adapter.requestDevice({
      label: 'resnet-stream device',
      requiredFeatures,
      requiredLimits: {
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxBufferSize: limits.maxBufferSize,
        maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
        maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
        maxComputeWorkgroupSizeY: limits.maxComputeWorkgroupSizeY,
      },
    });
    const info = (adapter as { info?: GPUAdapterInfo }).info;
    const isFallback = (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false;
    const ctx = new GpuContext(device, describeAdapter(info, isFallback, featureLevel), true);
    ctx.gpuEntry = gpu;
    device.addEventListener?.('uncapturederror', (event) => {
      const e = (event as GPUUncapturedErrorEvent).error;
      console.error(`WebGPU error: ${e.message}`);
    });
    return ctx;
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  /**
   * The fewest and most lanes a subgroup of this device has, where the device has the 'subgroups'
   * feature (requested whenever the adapter offers it); null where it has not, or does not say.
   * The CPU adapters have one size: lavapipe 8 (256-bit vectors), SwiftShader 4.
   */
  get subgroupSizes(): { min: number; max: number } | null {
    if (!this.device.features.has('subgroups')) return null;
    const info = (this.device as { adapterInfo?: { subgroupMinSize?: number; subgroupMaxSize?: number } }).adapterInfo;
    const min = info?.subgroupMinSize;
    const max = info?.subgroupMaxSize;
    return typeof min === 'number' && typeof max === 'number' && min > 0 && max >= min ? { min, max } : null;
  }

  /**
   * The lanes of this device's subgroups where they all have one size, else null. The subgroup
   * kernels run workgroups of exactly one subgroup, so that their shuffles and broadcasts reach the
   * whole workgroup: a size that varied could split a workgroup across subgroups.
   */
  get fixedSubgroupSize(): number | null {
    const sizes = this.subgroupSizes;
    return sizes && sizes.min === sizes.max ? sizes.max : null;
  }

  /** fixedSubgroupSize, or throws, naming `label` and what needs the subgroups. */
  requireFixedSubgroupSize(label: string, what: string): number {
    const sizes = this.subgroupSizes;
    if (!sizes) throw new Error(`${label}: ${what} need the 'subgroups' feature, which ${this.adapter.name} does not offer`);
    if (sizes.min !== sizes.max) throw new Error(`${label}: ${what} need subgroups of one size; ${this.adapter.name}'s have ${sizes.min} to ${sizes.max} lanes`);
    return sizes.max;
  }

  get hasTimestamps(): boolean {
    return this.device.features.has('timestamp-query');
  }

  /**
   * A promise that rejects when the device is lost, to race a wait against, and `done` to detach it
   * afterwards. Racing `this.lost.then(throw)` instead leaves a reaction on the never-settling
   * `lost` per call, which holds the whole wait: the soak benchmark measured ~1.4 KB of heap per forward.
   */
  whenLost(): { rejected: Promise<never>; done: () => void } {
    let reject!: (e: DeviceLostError) => void;
    const rejected = new Promise<never>((_, r) => { reject = r; });
    rejected.catch(() => undefined); // raced by the caller; never an unhandled rejection
    if (this.lostError) reject(this.lostError);
    else this.lostWaiters.add(reject);
    return { rejected, done: () => this.lostWaiters.delete(reject) };
  }

  /** Throw if the device has been lost. */
  checkAlive(): void {
    if (this.lostError) throw this.lostError;
  }

  /** Largest element count one storage binding may hold. */
  get maxBindingElements(): number {
    return Math.floor(this.device.limits.maxStorageBufferBindingSize / 4);
  }

  /** Check a buffer size against the device limits before any dispatch, with a clear error. */
  checkBindingSize(label: string, byteLength: number): void {
    if (byteLength > this.device.limits.maxStorageBufferBindingSize) {
      throw new GpuLimitError(`${label} needs ${mib(byteLength)} in one storage binding, more than this ` +
        `adapter's limit of ${mib(this.device.limits.maxStorageBufferBindingSize)}; use a smaller batch or input`);
    }
  }

  /** A storage buffer filled with data (weights, inputs). Not pooled. */
  createStorageBuffer(label: string, data: Float32Array | Uint32Array, extraUsage = 0): GPUBuffer {
    this.checkAlive();
    this.checkBindingSize(label, data.byteLength);
    const buffer = this.device.createBuffer({
      label,
      size: Math.max(16, Math.ceil(data.byteLength / 4) * 4),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC | extraUsage,
    });
    writeBuffer(this.device, buffer, data);
    return buffer;
  }

  /** A uniform buffer of a declared layout, filled with `values` (uniforms.ts). */
  createUniformBuffer<F extends UniformFields>(label: string, layout: UniformLayout<F>, values: UniformValues<F>): GPUBuffer {
    const buffer = this.device.createBuffer({ label, size: layout.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.device.queue.writeBuffer(buffer, 0, layout.pack(values));
    return buffer;
  }

  /**
   * A 16-byte storage buffer to bind where a kernel's optional input is switched off (one per
   * context, freed with it).
   */
  get placeholder(): GPUBuffer {
    this.placeholderBuffer ??= this.createStorageBuffer('unused optional input (placeholder)', new Float32Array(4));
    return this.placeholderBuffer;
  }

  /**
   * Another 16-byte storage buffer, for the second (post-ReLU) output of a kernel that writes only
   * one: a buffer may fill only one writable binding of a dispatch, and `placeholder` may fill another.
   */
  get unusedReluOutput(): GPUBuffer {
    this.unusedReluOutputBuffer ??= this.createStorageBuffer('unused ReLU output (placeholder)', new Float32Array(4));
    return this.unusedReluOutputBuffer;
  }

  /**
   * One launch of `kernel`: its pipeline for these override constants, a uniform buffer of its
   * params (binding 0) and the storage buffers in binding order after it.
   */
  dispatch<F extends UniformFields>(label: string, kernel: Kernel<F>, d: {
    constants?: Record<string, number>; params?: UniformValues<F>; buffers: GPUBuffer[]; workgroups: [number, number, number];
  }): Dispatch {
    const pipeline = this.pipelines.get(kernel, d.constants);
    if (kernel.params && !d.params) throw new Error(`${label}: the ${kernel.label} kernel needs its params`);
    const params = kernel.params ? [this.createUniformBuffer(`${label} params`, kernel.params, d.params!)] : [];
    return { label, pipeline, bindGroup: this.bindGroup(label, pipeline, [...params, ...d.buffers]), workgroups: d.workgroups };
  }

  /** A pooled storage buffer for activations. */
  acquire(label: string, byteLength: number): GPUBuffer {
    this.checkAlive();
    this.checkBindingSize(label, byteLength);
    return this.pool.acquire(byteLength,
      GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, label);
  }

  release(buffer: GPUBuffer): void {
    this.pool.release(buffer);
  }

  /** Bind group over buffers in binding order (0, 1, 2, ...). */
  bindGroup(label: string, pipeline: GPUComputePipeline, buffers: GPUBuffer[]): GPUBindGroup {
    return this.device.createBindGroup({
      label: `${label} bind group`,
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  }

  /** Encode dispatches into one compute pass of an existing encoder. */
  encode(encoder: GPUCommandEncoder, dispatches: Dispatch[], label = 'resnet-stream pass'): void {
    const pass = encoder.beginComputePass({ label });
    for (const d of dispatches) {
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(...d.workgroups);
    }
    pass.end();
  }

  /** Run dispatches in one compute pass and one submission. */
  run(dispatches: Dispatch[], label = 'resnet-stream run'): void {
    this.checkAlive();
    const encoder = this.device.createCommandEncoder({ label: `${label} encoder` });
    this.encode(encoder, dispatches, `${label} pass`);
    this.device.queue.submit([encoder.finish()]);
  }

  /**
   * Copy every (buffer, byteLength) into one staging buffer in one submission, map it once, and
   * return a Float32Array per source. `encoder` lets the caller append the copies to its own work.
   * `slot` (one per repeated caller, e.g. a forward plan) keeps the staging buffer between calls
   * and learns how long the work takes, so that in Node the wait is mostly a timer (ReadbackSlot).
   * `into[i]`, where given, receives source i's values in place of a new array (its length must match).
   */
  async readback(sources: { buffer: GPUBuffer; byteLength: number }[], encoder?: GPUCommandEncoder,
    slot?: ReadbackSlot, into?: readonly (Float32Array | undefined)[]): Promise<Float32Array[]> {
    this.checkAlive();
    into?.forEach((target, i) => {
      if (target && target.length * 4 !== sources[i].byteLength) {
        throw new Error(`readback: target ${i} holds ${target.length} values, its source ${sources[i].byteLength / 4}`);
      }
    });
    const offsets: number[] = [];
    let total = 0;
    for (const s of sources) {
      offsets.push(total);
      total += alignedBytes(s.byteLength);
    }
    const size = Math.max(BUFFER_ALIGNMENT, total);
    const kept = slot?.take(this.device, size, `readback staging (${sources.length} tensors)`);
    const staging = kept ?? this.device.createBuffer({
      label: `readback staging (${sources.length} tensors)`,
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = encoder ?? this.device.createCommandEncoder({ label: 'readback encoder' });
    sources.forEach((s, i) => enc.copyBufferToBuffer(s.buffer, 0, staging, offsets[i], Math.ceil(s.byteLength / 4) * 4));
    this.device.queue.submit([enc.finish()]);
    const submitted = performance.now();
    const lostSignal = this.whenLost();
    const lost = lostSignal.rejected;
    try {
      // The queue runs without Dawn's event polling; only the map itself needs it.
      const sleptMs = await this.sleepBeforeWait(slot?.sleepMs() ?? 0, lost);
      const woke = performance.now();
      await Promise.race([staging.mapAsync(GPUMapMode.READ), lost]);
      const done = performance.now();
      slot?.record(sleptMs, done - submitted, done - woke);
      const mapped = staging.getMappedRange();
      // A caller's array (`into`, same length) is overwritten; otherwise a new one. Writing into
      // memory already in use skips the page faults of fresh memory, which cost more than the copy
      // itself (ResNet18's 26.8 MB of taps on 2 cores: 24 ms or more into new arrays, about 1.3 ms
      // into arrays in use).
      const results = sources.map((s, i) => {
        const target = into?.[i];
        if (!target) return new Float32Array(mapped.slice(offsets[i], offsets[i] + s.byteLength));
        target.set(new Float32Array(mapped, offsets[i], s.byteLength / 4));
        return target;
      });
      staging.unmap();
      return results;
    } finally {
      lostSignal.done();
      if (kept) slot!.give(kept);
      else staging.destroy();
    }
  }

  /**
   * Wait for all submitted work. `sleepFirstMs`: sleep that long first where waiting polls
   * (sleepBeforeWait), as readback does (ReadbackSlot). A caller that times work passes less than it
   * expects.
   */
  async finish(sleepFirstMs = 0): Promise<void> {
    const lostSignal = this.whenLost();
    try {
      await this.sleepBeforeWait(sleepFirstMs, lostSignal.rejected);
      await Promise.race([this.device.queue.onSubmittedWorkDone(), lostSignal.rejected]);
    } finally {
      lostSignal.done();
    }
  }

  /**
   * In Node (deferMaps) sleep `ms` on a timer before a wait: Dawn's Node binding waits by polling in
   * a busy loop, which takes a core from a CPU adapter's threads. Not where maps are not deferred
   * (browsers do not poll), nor below ReadbackSlot.MIN_SLEEP_MS. Returns the ms slept, or `lost`'s
   * rejection.
   */
  private async sleepBeforeWait(ms: number, lost: Promise<never>): Promise<number> {
    if (!this.deferMaps || ms < ReadbackSlot.MIN_SLEEP_MS) return 0;
    await Promise.race([new Promise((ok) => setTimeout(ok, ms)), lost]);
    return ms;
  }

  destroy(): void {
    this.pool.trim();
    this.placeholderBuffer?.destroy();
    this.placeholderBuffer = null;
    this.unusedReluOutputBuffer?.destroy();
    this.unusedReluOutputBuffer = null;
    if (this.ownsDevice) this.device.destroy();
    this.gpuEntry = null;
  }
}

/** Node (Dawn's binding), as opposed to a browser or a worker in one. */
function isNodeRuntime(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string' && typeof (globalThis as { window?: unknown }).window === 'undefined';
}

/**
 * State for one caller that reads back the same work again and again (a forward plan): a staging
 * buffer kept between calls, and the learned time from submission to a mappable result.
 *
 * Why the timing: Dawn's Node binding resolves a pending mapAsync / onSubmittedWorkDone by calling
 * instance.ProcessEvents() from setImmediate, over and over, until the promise settles. That is a
 * busy loop on the JS thread for the whole GPU wait; on a CPU adapter (lavapipe, SwiftShader) it
 * takes a core from the driver's own threads (measured: bench/node/overhead.mjs). The queue itself
 * runs without that polling, so readback sleeps on a timer for most of the expected time and only
 * then maps. Too short a sleep costs a little polling; too long costs idle latency, so the sleep is
 * a fraction of the estimate, and the estimate shrinks whenever the result was already there.
 */
export class ReadbackSlot {
  /** Sleep this fraction of the estimate: polling the rest costs less than oversleeping. */
  static readonly SLEEP_FRACTION = 0.85;
  /** Below this (ms) a timer is too coarse to be worth it: map at once. */
  static readonly MIN_SLEEP_MS = 4;
  /** A map that resolves within this (ms) after waking means the work was done before: overslept. */
  static readonly PROMPT_MS = 1;

  private staging: GPUBuffer | null = null;
  private inUse = false;
  /** Estimated ms from submission to a mappable result; null until measured. */
  estimateMs: number | null = null;
  /** Readbacks recorded (the first, cold one, sets no estimate: it includes shader compilation). */
  runs = 0;

  /** The kept staging buffer if free and large enough (else null: the caller makes a fresh one). */
  take(device: GPUDevice, size: number, label: string): GPUBuffer | null {
    if (this.inUse) return null;
    if (!this.staging || this.staging.size < size) {
      this.staging?.destroy();
      this.staging = device.createBuffer({ label, size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    }
    this.inUse = true;
    return this.staging;
  }

  give(buffer: GPUBuffer): void {
    if (buffer !== this.staging) return;
    // After a failure between map and unmap, leave it copyable for the next call.
    if (buffer.mapState === 'mapped') buffer.unmap();
    this.inUse = false;
  }

  sleepMs(): number {
    const ms = this.estimateMs === null ? 0 : this.estimateMs * ReadbackSlot.SLEEP_FRACTION;
    return ms >= ReadbackSlot.MIN_SLEEP_MS ? ms : 0;
  }

  /** One readback: how long it slept, submission to mapped, and waking to mapped (ms). */
  record(sleptMs: number, totalMs: number, pollMs: number): void {
    this.runs++;
    if (this.runs === 1) return;
    if (sleptMs > 0 && pollMs <= ReadbackSlot.PROMPT_MS) {
      // Done before we woke: the true time is at most sleptMs, so aim lower next time.
      this.estimateMs = sleptMs * 0.8;
    } else {
      // Woke early (or did not sleep): totalMs is the true time, within the polling latency.
      this.estimateMs = this.estimateMs === null ? totalMs : 0.5 * this.estimateMs + 0.5 * totalMs;
    }
  }

  destroy(): void {
    this.staging?.destroy();
    this.staging = null;
    this.inUse = false;
  }
}

/** queue.writeBuffer with a private copy when the source is a view on shared memory (Dawn crashes on those). */
export function writeBuffer(device: GPUDevice, buffer: GPUBuffer, data: Float32Array | Uint32Array, offset = 0): void {
  const shared = typeof SharedArrayBuffer !== 'undefined' && data.buffer instanceof SharedArrayBuffer;
  const src = shared ? data.slice() : data;
  device.queue.writeBuffer(buffer, offset, src.buffer, src.byteOffset, src.byteLength);
}

/** Workgroup grid for `count` invocations of `workgroupSize` threads: x up to 65535, spill into y. */
export function grid1d(count: number, workgroupSize: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(count / workgroupSize));
  if (groups <= 65535) return [groups, 1, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y, 1];
}
