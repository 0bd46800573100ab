// ResNetEngine: the public face of the engine. Holds a GPU context, the weights on the GPU and a
// small cache of compiled forward plans; `forward` runs a batch and reads back the taps asked for.

import { GpuContext, type GpuContextOptions } from '../gpu/context';
import type { HostTensor, TensorMap } from '../weights/safetensors';
import { type TapName, allTapNames, expectedTensors, tapShape } from './architecture';
import { type Ablation, type Computability, ForwardPlan, computability } from './forward';
import { NetworkWeights } from './gpu-weights';

export interface ForwardOptions {
  /** Taps to read back (METHOD.md names). Default: ['fc']. */
  taps?: TapName[];
  /** Channels to replace during the forward (zero- or mean-ablation). */
  ablations?: Ablation[];
}

export interface EngineOptions extends GpuContextOptions {
  /** Use an existing context (shares its device, pool and pipeline cache). */
  context?: GpuContext;
  /** Compiled plans kept for reuse (each holds its activation buffers). */
  maxCachedPlans?: number;
}

export class ResNetEngine {
  private weights: NetworkWeights | null = null;
  private readonly plans = new Map<string, ForwardPlan>();
  private readonly maxCachedPlans: number;
  private readonly ownsContext: boolean;
  /** Serialises GPU submissions of concurrent forward() calls that share a plan. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(readonly ctx: GpuContext, options: EngineOptions) {
    this.maxCachedPlans = options.maxCachedPlans ?? 4;
    this.ownsContext = !options.context;
  }

  static async create(options: EngineOptions = {}): Promise<ResNetEngine> {
    const ctx = options.context ?? (await GpuContext.create(options));
    return new ResNetEngine(ctx, options);
  }

  get adapter() {
    return this.ctx.adapter;
  }

  /** Upload a state dict (torchvision names). Missing tensors are allowed; see computability(). */
  loadWeights(tensors: TensorMap): void {
    const expected = expectedTensors();
    for (const [name, t] of tensors) {
      const shape = expected.get(name);
      if (!shape) continue; // loaders validate names; ignorable entries (num_batches_tracked) pass here
      if (shape.join('x') !== t.shape.join('x')) {
        throw new Error(`tensor '${name}' has shape [${t.shape}], expected [${shape}]`);
      }
    }
    this.disposePlans();
    this.weights?.destroy();
    this.weights = new NetworkWeights(this.ctx, tensors);
  }

  private requireWeights(): NetworkWeights {
    if (!this.weights) throw new Error('no weights loaded: call loadWeights() first');
    return this.weights;
  }

  /** Which taps the loaded weights can compute, and which tensors stop the rest. */
  computability(): Computability {
    return computability(this.requireWeights().missing);
  }

  /** Bytes of weights on the GPU. */
  get weightBytes(): number {
    return this.weights?.byteLength ?? 0;
  }

  /** The compiled plan for a key (built on first use, then cached). */
  plan(batch: number, height: number, width: number, taps: TapName[], ablations?: Ablation[]): ForwardPlan {
    const weights = this.requireWeights();
    const key = JSON.stringify([batch, height, width, taps, ablations ?? []]);
    let plan = this.plans.get(key);
    if (plan) {
      // Refresh its position for LRU eviction.
      this.plans.delete(key);
      this.plans.set(key, plan);
      return plan;
    }
    plan = new ForwardPlan(this.ctx, weights, { batch, height, width, taps, ablations });
    this.plans.set(key, plan);
    while (this.plans.size > this.maxCachedPlans) {
      const [oldestKey, oldest] = this.plans.entries().next().value as [string, ForwardPlan];
      this.plans.delete(oldestKey);
      // Let in-flight work that uses it finish before its buffers return to the pool.
      void this.queue.then(() => oldest.dispose());
    }
    return plan;
  }

  /** Run a batch (float32 NCHW) and read back the taps asked for, in one submission and one map. */
  async forward(input: HostTensor, options: ForwardOptions = {}): Promise<Map<TapName, HostTensor>> {
    this.ctx.checkAlive();
    const taps = options.taps ?? ['fc'];
    if (input.shape.length !== 4 || input.shape[1] !== 3) {
      throw new Error(`input must be a float32 NCHW tensor with 3 channels, got shape [${input.shape}]`);
    }
    const [batch, , height, width] = input.shape;
    if (input.data.length !== batch * 3 * height * width) {
      throw new Error(`input holds ${input.data.length} values, shape [${input.shape}] needs ${batch * 3 * height * width}`);
    }
    for (const t of taps) tapShape(t, batch, height, width);
    const run = async () => {
      const plan = this.plan(batch, height, width, taps, options.ablations);
      this.ctx.device.queue.writeBuffer(plan.input, 0, input.data.buffer, input.data.byteOffset, input.data.byteLength);
      const encoder = this.ctx.device.createCommandEncoder({ label: 'forward encoder' });
      this.ctx.encode(encoder, plan.dispatches, 'forward pass');
      // The copies go into the same submission, so a later forward cannot overwrite a tap first.
      const data = await this.ctx.readback(plan.outputs, encoder);
      return new Map(plan.outputs.map((o, i) => [o.tap, { shape: o.shape, data: data[i] }]));
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Every tap the loaded weights can compute, in forward order. */
  computableTaps(): TapName[] {
    return this.computability().computable;
  }

  static allTaps(): TapName[] {
    return allTapNames();
  }

  private disposePlans(): void {
    for (const p of this.plans.values()) p.dispose();
    this.plans.clear();
  }

  dispose(): void {
    this.disposePlans();
    this.weights?.destroy();
    this.weights = null;
    if (this.ownsContext) this.ctx.destroy();
  }
}
