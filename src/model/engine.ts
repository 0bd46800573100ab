// ResNetEngine: the public face of the engine. Holds a GPU context, the weights on the GPU and a
// small cache of compiled forward plans; `forward` runs a batch and reads back the taps asked for.

import { type AdapterDescription, DeviceLostError, GpuContext, type GpuContextOptions } from '../gpu/context';
import { GpuLimitError, captureGpuErrors, mib, storageBufferLimit } from '../gpu/errors';
import { supportsF16 } from '../kernels/conv2d';
import {
  type Conv2dPrecision, type Conv2dVariant, backwardConv2dVariantFor, conv2dVariantFor, paddedInputFor, resolveConv2dVariant, winogradStride2For,
} from '../kernels/conv2d-variants';
import { type HostTensor, type TensorMap, elementCount, firstNonFinite } from '../util/tensor';
import { type Architecture, RESNET18, type TapName, allTapNames, expectedTensors, tapShape, winogradNetwork } from './architecture';
import { BackwardPlan } from './backward';
import { ForwardPlan } from './forward';
import { NetworkWeights, checkWeightsFit, weightUploads } from './gpu-weights';
import { recogniseArchitecture } from './recognise';
import { type KernelTable, type MeasureOptions, emptyKernelTable, kernelTableFits, measureKernels, scheduleConvs, tableChoices } from './tune';
import {
  type Ablation, type Computability, type ForwardRequest, type ForwardSchedule, type KernelChoices, computability, planForward,
  scheduleForward, scheduleMemory,
} from './planner';

export interface ForwardOptions {
  /** Taps to read back (METHOD.md names). Default: ['fc']. */
  taps?: TapName[];
  /** Channels to replace during the forward (zero- or mean-ablation). */
  ablations?: Ablation[];
  /**
   * Arrays to write the taps into instead of new ones: typically the result of the previous
   * forward, once the caller is done with it. Each entry must have the tap's shape and a
   * Float32Array of exactly its size, and no two may overlap; a tap it lacks gets a new array.
   * The returned map holds these same arrays. Reading every tap of ResNet18 back (26.8 MB) this
   * way saves the page faults of fresh memory: 40 to 80 ms a forward on a 2-core machine.
   */
  into?: ReadonlyMap<TapName, HostTensor>;
}

export interface EngineOptions extends GpuContextOptions {
  /** Use an existing context (shares its device, pool and pipeline cache). */
  context?: GpuContext;
  /** Destroy `context` when the engine is disposed (default: only a context the engine made itself). */
  ownContext?: boolean;
  /** Compiled plans kept for reuse (each holds its activation buffers). */
  maxCachedPlans?: number;
  /**
   * GPU memory budget in bytes for the weights plus one forward (its activation buffers, estimated
   * from above before anything is allocated, and its readback). A forward over it fails with a clear
   * error before any GPU work. Default DEFAULT_MAX_MEMORY_BYTES (4 GiB); Infinity disables the check.
   */
  maxMemoryBytes?: number;
  /**
   * The convolution kernel: 'auto' (default) picks per adapter (conv2dVariantFor); 'direct' or
   * 'rows' force one. This engine's plans use it (the `kernels` the planner is given).
   */
  convVariant?: Conv2dVariant | 'auto';
  /**
   * 'direct' convolutions with padding read a copy of their input with the zero padding in memory
   * (one more dispatch and a scratch tensor each; no bounds checks in the convolution): the same
   * bits either way. Default paddedInputFor(adapter): on SwiftShader only.
   */
  paddedInput?: boolean;
  /**
   * Where the variant is 'winograd4' or 'winograd-mixed', also run the 3x3 stride-2 convolutions by
   * F(4x4, 3x3)'s stride-2 form (else 'direct'). Default winogradStride2For(adapter): where
   * compatibility mode hides the adapter.
   */
  winogradStride2?: boolean;
  /**
   * 'f16': convolution weights stored as f16 (f32 products and sums; conv2d.wgsl reading f16 weights), on
   * adapters with the 'shader-f16' feature. Default 'f32'.
   */
  precision?: Conv2dPrecision;
  /**
   * Kernel choice by measurement (tune.ts): a table measured before on this adapter (used as it is:
   * deterministic), whose shapes override `convVariant`. A table of another adapter or kernel version
   * is ignored (kernelTableFits). Or a function that gives the table for the adapter once the
   * engine has one (a page's stored tables: createEngine's kernelTableStorage).
   */
  kernelTable?: KernelTable | ((adapter: AdapterDescription) => KernelTable | undefined);
  /**
   * Measure every convolution shape a forward meets that the table lacks, before its plan is built
   * (about 15 timed runs of each candidate; seconds on a CPU adapter, milliseconds on a GPU), and keep
   * the fastest. Default false: the per-adapter choice of `convVariant`.
   */
  measureKernels?: boolean;
  /** Called after a measurement added shapes to the table (Node's createEngine saves it to the cache). */
  onKernelTable?: (table: KernelTable) => void;
}

/**
 * Default memory budget. WebGPU does not say how much memory a device has; 4 GiB is more than any
 * ResNet18 forward the CLI makes (batch 64 at 224 with every tap needs about 2 GiB at most) and
 * less than a browser tab or a CPU adapter can usually give, so a runaway batch fails cleanly.
 */
export const DEFAULT_MAX_MEMORY_BYTES = 4 * 2 ** 30;

/** What one forward will allocate, computed from shapes alone (no GPU work). */
export interface ForwardMemoryEstimate {
  /** Upper bound on the plan's activation buffers: every tensor it materialises, none reused. */
  activationBytes: number;
  /** The readback staging buffer (every requested tap, 256-byte aligned). */
  readbackBytes: number;
  /** Weights already on the GPU. */
  weightBytes: number;
  total: number;
  /** The largest single activation tensor (what storage-binding limits apply to). */
  largest: { tensor: string; bytes: number };
}

export class ResNetEngine {
  private weights: NetworkWeights | null = null;
  private readonly plans = new Map<string, ForwardPlan>();
  private readonly maxCachedPlans: number;
  private readonly ownsContext: boolean;
  /** The weights' precision for every forward ('f16': the f16 filters). */
  readonly precision: Conv2dPrecision;
  /** The kernel of every layer, given to the planner with each request (per adapter, and per network when 'auto'). */
  private kernelChoices: KernelChoices;
  /** Serialises GPU submissions of concurrent forward() calls that share a plan. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Rejects if the last weights upload ran out of memory (WebGPU reports that asynchronously). */
  private weightsUploaded: Promise<void> = Promise.resolve();
  private disposed = false;
  readonly maxMemoryBytes: number;
  /** Measured kernel choices by convolution shape (null: none; the per-adapter choice everywhere). */
  private table: KernelTable | null;
  private readonly measure: boolean;
  /** `convVariant` was 'auto': the kernel follows the adapter and the loaded network. */
  private readonly autoVariant: boolean;
  private readonly onKernelTable?: (table: KernelTable) => void;

  private constructor(readonly ctx: GpuContext, options: EngineOptions, kernels: KernelChoices) {
    this.maxCachedPlans = options.maxCachedPlans ?? 4;
    this.precision = options.precision ?? 'f32';
    this.kernelChoices = kernels;
    this.autoVariant = (options.convVariant ?? 'auto') === 'auto';
    this.ownsContext = !options.context || options.ownContext === true;
    this.maxMemoryBytes = options.maxMemoryBytes ?? DEFAULT_MAX_MEMORY_BYTES;
    this.measure = options.measureKernels ?? false;
    this.onKernelTable = options.onKernelTable;
    const offered = typeof options.kernelTable === 'function' ? options.kernelTable(ctx.adapter) : options.kernelTable;
    const given = offered && kernelTableFits(offered, ctx.adapter) ? offered : null;
    this.table = given ?? (this.measure ? emptyKernelTable(ctx.adapter) : null);
    if (!(this.maxMemoryBytes > 0)) throw new Error(`maxMemoryBytes must be a positive number of bytes, got ${options.maxMemoryBytes}`);
  }

  static async create(options: EngineOptions = {}): Promise<ResNetEngine> {
    const ctx = options.context ?? (await GpuContext.create(options));
    try {
      if (options.precision === 'f16' && !supportsF16(ctx)) {
        throw new Error(`precision 'f16' needs the 'shader-f16' feature, which the adapter ${ctx.adapter.name} does not offer`);
      }
      const kernels = {
        conv2d: resolveConv2dVariant(ctx.adapter, options.convVariant ?? 'auto', winogradNetwork(RESNET18)),
        paddedInput: options.paddedInput ?? paddedInputFor(ctx.adapter),
        winogradStride2: options.winogradStride2 ?? winogradStride2For(ctx.adapter),
      };
      return new ResNetEngine(ctx, options, kernels);
    } catch (e) {
      if (!options.context || options.ownContext) ctx.destroy();
      throw e;
    }
  }

  get adapter() {
    return this.ctx.adapter;
  }

  /** The kernel of every layer that this engine's plans use. */
  get kernels(): KernelChoices {
    return this.kernelChoices;
  }

  /** Upload a state dict (torchvision names). Missing tensors are allowed; see computability(). */
  /**
   * Upload a state dict. Its architecture (any of torchvision's ResNets, model/family.ts) is
   * recognised from the tensors' names and shapes, or insisted on with `options.architecture`.
   */
  loadWeights(tensors: TensorMap, options: { architecture?: string } = {}): void {
    this.checkUsable();
    const shapes = new Map([...tensors].map(([name, t]) => [name, t.shape]));
    const { architecture, missing } = recogniseArchitecture(shapes, options.architecture);
    const expected = expectedTensors(architecture);
    for (const [name, t] of tensors) {
      const shape = expected.get(name);
      if (!shape) continue; // loaders validate names; ignorable entries (num_batches_tracked) pass here
      if (shape.join('x') !== t.shape.join('x')) {
        throw new Error(`tensor '${name}' has shape [${t.shape}], expected [${shape}]`);
      }
    }
    // What does not fit says so before anything is freed or uploaded (the old weights stay usable).
    checkWeightsFit(architecture, weightUploads(architecture, new Set(missing), this.precision), this.ctx.limits, this.maxMemoryBytes);
    this.disposePlans();
    this.weights?.destroy();
    this.weights = null;
    const upload = captureGpuErrors(this.ctx.device, 'uploading the weights', () => new NetworkWeights(this.ctx, tensors, { precision: this.precision, architecture }));
    this.weights = upload.value;
    this.weightsUploaded = upload.errors;
    // The per-adapter kernel may depend on the network's size (conv2dVariantFor's Winograd budget).
    if (this.autoVariant) this.kernelChoices = { ...this.kernelChoices, conv2d: conv2dVariantFor(this.ctx.adapter, winogradNetwork(architecture)) };
  }

  /** Throw if this engine was disposed or its device lost. */
  private checkUsable(): void {
    if (this.disposed) throw new Error('this ResNetEngine has been disposed: create a new engine');
    this.ctx.checkAlive();
  }

  private requireWeights(): NetworkWeights {
    if (!this.weights) throw new Error('no weights loaded: call loadWeights() first');
    return this.weights;
  }

  /** Which taps the loaded weights can compute, and which tensors stop the rest. */
  computability(): Computability {
    const w = this.requireWeights();
    return computability(w.missing, w.architecture);
  }

  /** Bytes of weights on the GPU. */
  get weightBytes(): number {
    return this.weights?.byteLength ?? 0;
  }

  /** A request of this engine: its weights' reach, its precision and its kernels. */
  private request(batch: number, height: number, width: number, taps: TapName[], ablations: Ablation[] = []): ForwardRequest {
    const kernels = this.table ? { ...this.kernels, shapes: tableChoices(this.table) } : this.kernels;
    return {
      architecture: this.weights?.architecture, batch, height, width, taps, ablations, missing: this.weights?.missing, precision: this.precision, kernels,
    };
  }

  /** The measured kernel choices (a copy), or null when this engine has none. */
  get kernelTable(): KernelTable | null {
    return this.table ? structuredClone(this.table) : null;
  }

  /**
   * Measure the convolution shapes a forward of this size would run that the table lacks (all of
   * them with `force`), and use the results from the next plan on. Returns the table. Plans already
   * built keep their kernels. Runs in the forward queue, so no forward of this engine overlaps it.
   */
  async tuneKernels(batch: number, height: number, width: number, options: MeasureOptions = {}): Promise<KernelTable> {
    this.checkUsable();
    this.requireWeights();
    const schedule = scheduleForward({ ...this.request(batch, height, width, ['fc']), missing: undefined });
    const work = async () => {
      this.table ??= emptyKernelTable(this.ctx.adapter);
      const before = Object.keys(this.table.shapes).length;
      await measureKernels(this.ctx, this.table, scheduleConvs(schedule).map((c) => c.geometry), options);
      if (Object.keys(this.table.shapes).length > before) this.onKernelTable?.(structuredClone(this.table));
      return structuredClone(this.table);
    };
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private memoryOf(schedule: ForwardSchedule): ForwardMemoryEstimate {
    const { activationBytes, readbackBytes, largest } = scheduleMemory(schedule);
    const weightBytes = this.weightBytes;
    return { activationBytes, readbackBytes, weightBytes, total: activationBytes + readbackBytes + weightBytes, largest };
  }

  /**
   * The memory a forward of this shape will need, from its schedule alone (no GPU work). The
   * activation figure is an upper bound (the plan reuses buffers of equal size, so it usually holds less).
   */
  estimateMemory(batch: number, height: number, width: number, taps: TapName[], ablations: Ablation[] = []): ForwardMemoryEstimate {
    return this.memoryOf(scheduleForward({ ...this.request(batch, height, width, taps, ablations), missing: undefined }));
  }

  /**
   * Everything that can be checked before GPU work: the request (planner.ts validateForwardRequest:
   * shapes, tap names, ablation channels, the weights' reach), then the device's buffer limits and
   * the memory budget against its schedule. Throws one clear line naming what is wrong.
   */
  private checkedSchedule(batch: number, height: number, width: number, taps: TapName[], ablations: Ablation[]):
    { schedule: ForwardSchedule; memory: ForwardMemoryEstimate } {
    const schedule = planForward(this.request(batch, height, width, taps, ablations));
    const memory = this.memoryOf(schedule);
    const limits = this.ctx.limits;
    const where = `batch ${batch} at ${height}x${width}`;
    const binding = storageBufferLimit(limits);
    if (memory.largest.bytes > binding.bytes) {
      throw new GpuLimitError(`tensor ${memory.largest.tensor} of a forward of ${where} needs ${mib(memory.largest.bytes)}, ` +
        `over this adapter's ${binding.name} of ${mib(binding.bytes)}; use a smaller batch or input`);
    }
    if (memory.readbackBytes > limits.maxBufferSize) {
      throw new GpuLimitError(`reading back ${taps.length} tap(s) of a forward of ${where} needs a ${mib(memory.readbackBytes)} staging buffer, ` +
        `over this adapter's maxBufferSize of ${mib(limits.maxBufferSize)}; ask for fewer taps or a smaller batch`);
    }
    if (memory.total > this.maxMemoryBytes) {
      throw new GpuLimitError(`a forward of ${where} with ${taps.length} tap(s) needs up to ${mib(memory.total)} of GPU memory ` +
        `(weights ${mib(memory.weightBytes)}, activations ${mib(memory.activationBytes)}, readback ${mib(memory.readbackBytes)}), ` +
        `over the engine's budget of ${mib(this.maxMemoryBytes)} (maxMemoryBytes); use a smaller batch or input, or raise the budget`);
    }
    return { schedule, memory };
  }

  /** Activation bytes held by cached plans. */
  private cachedPlanBytes(): number {
    let sum = 0;
    for (const p of this.plans.values()) sum += p.activationBytes;
    return sum;
  }

  /** The compiled plan for a key (built on first use, then cached). */
  plan(batch: number, height: number, width: number, taps: TapName[], ablations?: Ablation[]): ForwardPlan {
    return this.planChecked(batch, height, width, taps, ablations, false).plan;
  }

  /**
   * The plan, and `errors`: rejects if building it ran out of GPU memory or failed validation
   * (WebGPU says so asynchronously). A failed plan is dropped from the cache and its buffers freed.
   * `inQueue`: called from a queued forward, so no other forward of this engine is in flight and
   * evicted plans can be freed at once (before the new plan allocates) rather than after the queue.
   */
  private planChecked(batch: number, height: number, width: number, taps: TapName[], ablations: Ablation[] | undefined,
    inQueue: boolean): { plan: ForwardPlan; errors: Promise<void> } {
    this.checkUsable();
    const weights = this.requireWeights();
    const key = planKey(batch, height, width, taps, ablations);
    let plan = this.plans.get(key);
    if (plan) {
      // Refresh its position for LRU eviction.
      this.plans.delete(key);
      this.plans.set(key, plan);
      return { plan, errors: Promise.resolve() };
    }
    const { schedule, memory } = this.checkedSchedule(batch, height, width, taps, ablations ?? []);
    // Cached plans hold their buffers: drop them (and the pool's free buffers) when the new plan
    // would push the total over the budget.
    if (this.plans.size && memory.total + this.cachedPlanBytes() > this.maxMemoryBytes) {
      const old = [...this.plans.values()];
      this.plans.clear();
      const free = () => {
        for (const p of old) p.dispose();
        this.ctx.pool.trim();
      };
      if (inQueue) free();
      else void this.queue.then(free);
    }
    const where = `building the forward plan for batch ${batch} at ${height}x${width}`;
    const built = captureGpuErrors(this.ctx.device, where,
      () => new ForwardPlan(this.ctx, weights, schedule));
    plan = built.value;
    const maxGroups = this.ctx.limits.maxComputeWorkgroupsPerDimension;
    const tooBig = plan.dispatches.find((d) => d.workgroups.some((g) => g > maxGroups));
    if (tooBig) {
      plan.dispose();
      throw new GpuLimitError(`kernel '${tooBig.label}' of a forward of batch ${batch} at ${height}x${width} needs a ` +
        `${tooBig.workgroups.join('x')} workgroup grid, over this adapter's ${maxGroups} per dimension; use a smaller batch or input`);
    }
    this.plans.set(key, plan);
    const errors = built.errors.catch((e) => {
      if (this.plans.get(key) === plan) this.plans.delete(key);
      plan!.dispose();
      throw e;
    });
    errors.catch(() => undefined);
    while (this.plans.size > this.maxCachedPlans) {
      const [oldestKey, oldest] = this.plans.entries().next().value as [string, ForwardPlan];
      this.plans.delete(oldestKey);
      // Let in-flight work that uses it finish before its buffers return to the pool.
      void this.queue.then(() => oldest.dispose());
    }
    return { plan, errors };
  }

  /**
   * Run a batch (float32 NCHW) and read back the taps asked for, in one submission and one map.
   * Concurrent calls are served one after another, each with its own input and taps. Everything
   * checkable (shapes, values, limits, budget) is checked before any GPU work; a lost device
   * rejects with DeviceLostError.
   */
  async forward(input: HostTensor, options: ForwardOptions = {}): Promise<Map<TapName, HostTensor>> {
    this.checkUsable();
    const taps = options.taps ?? ['fc'];
    if (!input || !Array.isArray(input.shape) || input.shape.length !== 4 || input.shape[1] !== 3) {
      throw new Error(`input must be a float32 NCHW tensor with 3 channels, got shape [${input?.shape}]`);
    }
    if (!(input.data instanceof Float32Array)) {
      throw new Error(`input data must be a Float32Array, got ${(input.data as object)?.constructor?.name ?? typeof input.data}`);
    }
    const [batch, , height, width] = input.shape;
    if (input.data.length !== batch * 3 * height * width) {
      throw new Error(`input holds ${input.data.length} values, shape [${input.shape}] needs ${batch * 3 * height * width}`);
    }
    this.requireWeights();
    // A cached plan's request passed these checks when it was built (plans are dropped with their weights).
    if (!this.plans.has(planKey(batch, height, width, taps, options.ablations))) {
      this.checkedSchedule(batch, height, width, taps, options.ablations ?? []);
    }
    const into = options.into ? intoArrays(options.into, taps, batch, height, width, this.architecture) : undefined;
    // NaN or infinity would flow through every layer and come back as plausible-looking NaN taps.
    const bad = firstNonFinite(input.data);
    if (bad >= 0) {
      const plane = height * width;
      throw new Error(`input value ${input.data[bad]} at [${Math.floor(bad / (3 * plane))}, ${Math.floor(bad / plane) % 3}, ` +
        `${Math.floor(bad / width) % height}, ${bad % width}] is not finite`);
    }
    if (this.measure && !this.plans.has(planKey(batch, height, width, taps, options.ablations))) {
      await this.tuneKernels(batch, height, width);
    }
    const run = async () => {
      try {
        this.checkUsable();
        await this.weightsUploaded;
        const { plan, errors } = this.planChecked(batch, height, width, taps, options.ablations, true);
        await errors;
        this.ctx.device.queue.writeBuffer(plan.input, 0, input.data.buffer, input.data.byteOffset, input.data.byteLength);
        const encoder = this.ctx.device.createCommandEncoder({ label: 'forward encoder' });
        this.ctx.encode(encoder, plan.dispatches, 'forward pass');
        // The copies go into the same submission, so a later forward cannot overwrite a tap first.
        const data = await this.ctx.readback(plan.outputs, encoder, plan.readbackSlot, into);
        return new Map(plan.outputs.map((o, i) => [o.tap, { shape: o.shape, data: data[i] }]));
      } catch (e) {
        throw await this.explainFailure(e);
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * When the device goes away mid-forward, Dawn rejects the pending map with a bare AbortError a
   * moment before `device.lost` settles: report the loss, not the abort.
   */
  private async explainFailure(e: unknown): Promise<unknown> {
    if (e instanceof DeviceLostError) return e;
    const name = (e as { name?: string } | null)?.name;
    if (name !== 'AbortError' && name !== 'OperationError') return e;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const lost = await Promise.race([
      this.ctx.lost,
      new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), 1000); }),
    ]);
    clearTimeout(timer);
    return lost ?? e;
  }

  /**
   * A differentiable network from `target` back to the input, for a batch of one input size: a
   * BackwardPlan on this engine's weights, kernels and precision (what feature visualisation
   * drives, src/browser/featureviz.ts). The caller disposes it; the transposed filters it makes
   * belong to the weights and go with them.
   */
  backwardPlan(batch: number, height: number, width: number, target: TapName): BackwardPlan {
    this.checkUsable();
    const weights = this.requireWeights();
    // An automatic choice takes the differentiable plan's own default (backwardConv2dVariantFor).
    const kernels = this.autoVariant
      ? { ...this.kernels, conv2d: backwardConv2dVariantFor(this.ctx.adapter, winogradNetwork(weights.architecture)) }
      : this.kernels;
    return new BackwardPlan(this.ctx, weights, batch, height, width, target, { kernels, precision: this.precision });
  }

  /** Every tap the loaded weights can compute, in forward order. */
  computableTaps(): TapName[] {
    return this.computability().computable;
  }

  static allTaps(): TapName[] {
    return allTapNames();
  }

  /** The loaded network's architecture (resnet18 until weights are loaded). */
  get architecture(): Architecture {
    return this.weights?.architecture ?? RESNET18;
  }

  private disposePlans(): void {
    for (const p of this.plans.values()) p.dispose();
    this.plans.clear();
  }

  /** Free the plans and weights (and the context, if this engine created it). Safe after device loss and twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.disposePlans();
    this.weights?.destroy();
    this.weights = null;
    if (this.ownsContext) this.ctx.destroy();
  }
}

/**
 * The `into` array of each requested tap (undefined: a new one), checked before any GPU work: the
 * tap's shape, a Float32Array of its size, no overlap with another target. (The input may be one:
 * it is copied to the GPU before anything is read back.)
 */
function intoArrays(into: ReadonlyMap<TapName, HostTensor>, taps: TapName[], batch: number, height: number, width: number,
  arch: Architecture): (Float32Array | undefined)[] {
  if (!(into instanceof Map)) throw new Error('into must be a Map from tap names to tensors (a previous forward\'s result)');
  const used: { tap: string; data: Float32Array }[] = [];
  return taps.map((tap) => {
    const target = into.get(tap);
    if (target === undefined) return undefined;
    const shape = tapShape(tap, batch, height, width, arch);
    const data = target?.data;
    if (!(data instanceof Float32Array)) throw new Error(`into: tap '${tap}' needs a Float32Array, got ${(data as object)?.constructor?.name ?? typeof data}`);
    if (!Array.isArray(target.shape) || target.shape.join() !== shape.join() || data.length !== elementCount(shape)) {
      throw new Error(`into: tap '${tap}' is [${shape}] (${elementCount(shape)} values), the array given is [${target.shape}] with ${data.length} values`);
    }
    const other = used.find((u) => u.data.buffer === data.buffer &&
      u.data.byteOffset < data.byteOffset + data.byteLength && data.byteOffset < u.data.byteOffset + u.data.byteLength);
    if (other) throw new Error(`into: the arrays for taps '${other.tap}' and '${tap}' overlap`);
    used.push({ tap, data });
    return data;
  });
}

/** The plan cache's key: everything that makes two requests of one engine differ. */
function planKey(batch: number, height: number, width: number, taps: TapName[], ablations: Ablation[] | undefined): string {
  return JSON.stringify([batch, height, width, taps, ablations ?? []]);
}

