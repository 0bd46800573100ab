// Weights on the GPU: each convolution's packed filter with its BatchNorm folded into a per-channel
// epilogue (scale, shift), the stem's raw BN parameters (for the separate batchnorm kernel, used
// when the raw conv1 tap is asked for), and the classifier. The object owns every GPU form derived
// from these weights (the f16 copies, the transposed filters of the backward pass, the Winograd
// filters) and frees them all in destroy(): nothing about them is kept anywhere else.

import type { GpuContext } from '../gpu/context';
import { foldBatchnorm } from '../kernels/batchnorm';
import { CONV2D_CHANNEL_BLOCK, biasAsScaleShift, packConv2dWeights, packConv2dWeightsF16 } from '../kernels/conv2d';
import { GpuLimitError, mib, storageBufferLimit } from '../gpu/errors';
import type { Conv2dPrecision } from '../kernels/conv2d-variants';
import { conv2dWeightsTransposeDispatch, transposedWeightsLength } from '../kernels/conv2d-weights-transpose';
import { type WinogradTile, isWinogradShape, winogradFilterDispatch, winogradFilterLength } from '../kernels/conv2d-winograd';
import type { TensorMap } from '../util/tensor';
import { type Architecture, BN_EPS, type ConvSpec, HEAD_TENSORS, RESNET18, allConvs, convTensorNames, expectedTensors } from './architecture';

export interface ConvWeights {
  spec: ConvSpec;
  /** packConv2dWeights of the filter (f32). */
  weights: GPUBuffer;
  /** packConv2dWeightsF16 of the filter, when the weights were made with precision 'f16'. */
  weightsF16: GPUBuffer | null;
  /** BN folded: scale = gamma / sqrt(var + eps), shift = beta - mean * scale. */
  scale: GPUBuffer;
  shift: GPUBuffer;
}

/** A convolution's raw BatchNorm parameters and a unit epilogue (made for the stem only). */
export interface RawBatchnorm {
  /** Epilogue that leaves the convolution unchanged (conv1 has no bias). */
  unitScale: GPUBuffer;
  zeroShift: GPUBuffer;
  mean: GPUBuffer;
  variance: GPUBuffer;
  gamma: GPUBuffer;
  beta: GPUBuffer;
}

export interface NetworkWeightsOptions {
  /** 'f16': every convolution also gets an f16 copy of its packed filter (forwards may read either). */
  precision?: Conv2dPrecision;
  architecture?: Architecture;
}

/** One buffer the weights upload makes: its label (the tensor it holds) and its size in bytes. */
export interface WeightUpload {
  label: string;
  bytes: number;
}

/** A storage buffer's size for `bytes` of data (GpuContext.createStorageBuffer: whole words, at least 16). */
const storageBytes = (bytes: number) => Math.max(16, Math.ceil(bytes / 4) * 4);

/**
 * Every buffer NetworkWeights uploads for these weights, from the architecture and what the
 * checkpoint lacks alone (no GPU work): the sizes the budget and binding-limit checks read before
 * anything is uploaded. The constructor below makes exactly these (test/weights-memory.test.ts).
 */
export function weightUploads(arch: Architecture, missing: ReadonlySet<string>, precision: Conv2dPrecision = 'f32'): WeightUpload[] {
  const uploads: WeightUpload[] = [];
  const add = (label: string, floats: number) => uploads.push({ label, bytes: storageBytes(floats * 4) });
  for (const spec of allConvs(arch)) {
    if (convTensorNames(spec).some((n) => missing.has(n))) continue;
    const taps = (spec.inChannels / (spec.groups ?? 1)) * spec.kernel * spec.kernel;
    const grouped = (spec.groups ?? 1) > 1;
    const packed = grouped ? spec.outChannels * taps : Math.ceil(spec.outChannels / CONV2D_CHANNEL_BLOCK) * CONV2D_CHANNEL_BLOCK * taps;
    add(grouped ? `${spec.conv}.weight` : `${spec.conv}.weight (packed)`, packed);
    if (precision === 'f16' && !grouped) add(`${spec.conv}.weight (packed, f16)`, packed / 2);
    add(`${spec.bn} folded scale`, spec.outChannels);
    add(`${spec.bn} folded shift`, spec.outChannels);
    if (spec === arch.stem) for (const what of ['unit scale', 'zero shift', 'running_mean', 'running_var', 'weight', 'bias']) add(`${spec.conv} ${what}`, spec.outChannels);
  }
  if (!HEAD_TENSORS.some((n) => missing.has(n))) {
    add('fc.weight', arch.classes * arch.features);
    add('fc.bias', arch.classes);
  }
  return uploads;
}

/**
 * Whether the weights fit the adapter and the engine's budget: every buffer within the binding limit,
 * the sum within the budget. Throws one line naming what does not fit and why, before any upload.
 */
export function checkWeightsFit(arch: Architecture, uploads: readonly WeightUpload[], limits: Pick<GPUSupportedLimits, 'maxStorageBufferBindingSize' | 'maxBufferSize'>,
  budgetBytes: number): void {
  const binding = storageBufferLimit(limits);
  const largest = uploads.reduce((a, b) => (b.bytes > a.bytes ? b : a), { label: '', bytes: 0 });
  if (largest.bytes > binding.bytes) {
    throw new GpuLimitError(`${arch.name}'s ${largest.label} needs a ${mib(largest.bytes)} buffer, over this adapter's ${binding.name} of ${mib(binding.bytes)}`);
  }
  const total = uploads.reduce((a, b) => a + b.bytes, 0);
  if (total > budgetBytes) {
    throw new GpuLimitError(`${arch.name}'s weights need ${mib(total)} on the GPU (${uploads.length} buffers), over the engine's budget of ` +
      `${mib(budgetBytes)} (maxMemoryBytes) before any activation; raise the budget if the adapter has the memory`);
  }
}

export class NetworkWeights {
  readonly architecture: Architecture;
  /** The forms held: 'f16' means f16 filters exist beside the f32 ones (the backward reads f32). */
  readonly precision: Conv2dPrecision;
  /** State-dict tensors that the checkpoint lacks. */
  readonly missing: Set<string>;
  private readonly convs = new Map<string, ConvWeights>();
  private readonly raw = new Map<string, RawBatchnorm>();
  private fc: { weight: GPUBuffer; bias: GPUBuffer } | null = null;
  /** Uploaded buffers (what byteLength counts). */
  private readonly buffers: GPUBuffer[] = [];
  /** Derived on the GPU on first use, by key (transposed and Winograd filters). */
  private readonly derived = new Map<string, GPUBuffer>();

  constructor(private readonly ctx: GpuContext, tensors: TensorMap, options: NetworkWeightsOptions = {}) {
    this.architecture = options.architecture ?? RESNET18;
    this.precision = options.precision ?? 'f32';
    const expected = expectedTensors(this.architecture);
    this.missing = new Set([...expected.keys()].filter((name) => !tensors.has(name)));
    for (const spec of allConvs(this.architecture)) {
      if (convTensorNames(spec).some((n) => this.missing.has(n))) continue;
      const get = (suffix: string) => tensors.get(suffix)!.data;
      const shape = {
        batch: 1, inChannels: spec.inChannels, inHeight: 1, inWidth: 1,
        outChannels: spec.outChannels, kernel: spec.kernel, stride: spec.stride, padding: spec.padding,
      };
      const bn = {
        mean: get(`${spec.bn}.running_mean`), variance: get(`${spec.bn}.running_var`),
        gamma: get(`${spec.bn}.weight`), beta: get(`${spec.bn}.bias`),
      };
      const folded = foldBatchnorm(bn, BN_EPS);
      // A grouped convolution's kernel reads torchvision's layout [Cout, Cin/G, K, K] as it is.
      const grouped = (spec.groups ?? 1) > 1;
      const weights = grouped
        ? this.upload(`${spec.conv}.weight`, get(`${spec.conv}.weight`))
        : this.upload(`${spec.conv}.weight (packed)`, packConv2dWeights(get(`${spec.conv}.weight`), shape));
      // Whole vec4<f16> groups (8 bytes each), so the bits view as u32 words exactly.
      const weightsF16 = this.precision === 'f16' && !grouped
        ? this.upload(`${spec.conv}.weight (packed, f16)`, new Uint32Array(packConv2dWeightsF16(get(`${spec.conv}.weight`), shape).buffer))
        : null;
      this.convs.set(spec.conv, {
        spec,
        weights,
        weightsF16,
        scale: this.upload(`${spec.bn} folded scale`, folded.scale),
        shift: this.upload(`${spec.bn} folded shift`, folded.shift),
      });
      if (spec === this.architecture.stem) {
        const identity = biasAsScaleShift(spec.outChannels);
        this.raw.set(spec.conv, {
          unitScale: this.upload(`${spec.conv} unit scale`, identity.scale),
          zeroShift: this.upload(`${spec.conv} zero shift`, identity.shift),
          mean: this.upload(`${spec.bn}.running_mean`, bn.mean),
          variance: this.upload(`${spec.bn}.running_var`, bn.variance),
          gamma: this.upload(`${spec.bn}.weight`, bn.gamma),
          beta: this.upload(`${spec.bn}.bias`, bn.beta),
        });
      }
    }
    if (!HEAD_TENSORS.some((n) => this.missing.has(n))) {
      this.fc = {
        weight: this.upload('fc.weight', tensors.get('fc.weight')!.data),
        bias: this.upload('fc.bias', tensors.get('fc.bias')!.data),
      };
    }
  }

  private upload(label: string, data: Float32Array | Uint32Array): GPUBuffer {
    const buffer = this.ctx.createStorageBuffer(label, data);
    this.buffers.push(buffer);
    return buffer;
  }

  conv(spec: ConvSpec): ConvWeights {
    const w = this.convs.get(spec.conv);
    if (!w) throw new Error(`internal: ${spec.conv} was planned without its weights`);
    return w;
  }

  /** The packed filter a forward of this precision reads. */
  filter(spec: ConvSpec, precision: Conv2dPrecision): GPUBuffer {
    const w = this.conv(spec);
    if (precision === 'f32') return w.weights;
    if (!w.weightsF16) throw new Error(`internal: ${spec.conv} has no f16 weights (these weights were made with precision '${this.precision}')`);
    return w.weightsF16;
  }

  /** The raw BatchNorm of a convolution whose pre-BN output is a tap (the stem's conv1). */
  rawBatchnorm(spec: ConvSpec): RawBatchnorm {
    const r = this.raw.get(spec.conv);
    if (!r) throw new Error(`internal: ${spec.conv} has no raw BatchNorm parameters`);
    return r;
  }

  classifier(): { weight: GPUBuffer; bias: GPUBuffer } {
    if (!this.fc) throw new Error('internal: fc was planned without its weights');
    return this.fc;
  }

  /**
   * The filter a convolution's data gradient reads: the forward's, transposed to vec4s over input
   * channels with the epilogue scale folded in (and rotated by 180 degrees when `flip`, for a
   * stride-1 gradient run as a forward convolution). Made on the GPU (conv2d-weights-transpose) on
   * first use and kept until destroy(). `unitScale`: the bare convolution (the raw conv1 tap).
   */
  transposed(spec: ConvSpec, options: { unitScale?: boolean; flip?: boolean } = {}): GPUBuffer {
    const { unitScale = false, flip = false } = options;
    const key = `${spec.conv}${unitScale ? ' (unit scale)' : ''}${flip ? ' (flipped)' : ''}`;
    let buffer = this.derived.get(key);
    if (!buffer) {
      const w = this.conv(spec);
      const shape = { inChannels: spec.inChannels, outChannels: spec.outChannels, kernel: spec.kernel };
      buffer = this.ctx.device.createBuffer({
        label: `${key} transposed weights`, size: transposedWeightsLength(shape) * 4, usage: GPUBufferUsage.STORAGE,
      });
      this.ctx.run([conv2dWeightsTransposeDispatch(this.ctx, shape,
        { weights: w.weights, scale: unitScale ? this.rawBatchnorm(spec).unitScale : w.scale, output: buffer }, { flip },
        `${key} weights transpose`)]);
      this.derived.set(key, buffer);
    }
    return buffer;
  }

  /**
   * The Winograd filters U = G g G^T of a 3x3 stride-1 convolution (conv2d-winograd.ts): for
   * F(2x2, 3x3) 16 x ceil(Cout/4)*4 x Cin floats, 16/9 of the packed filter (for all 13 of
   * ResNet18's 3x3 stride-1 convolutions 64 MiB more; their packed filters: 36 MiB); for F(4x4, 3x3)
   * 36 x ..., 4x the packed filter (144 MiB more), at stride 2 as well (its three in ResNet18: 24 MiB). Made on the GPU from the packed filter on first use and
   * kept until destroy(), as transposed() is: only the plans that run 'winograd' pay for them, and
   * the state-dict filter need not be kept on the CPU in case a plan does later.
   */
  winograd(spec: ConvSpec, tile: WinogradTile = 2): GPUBuffer {
    return this.winogradOf(`${spec.conv} (Winograd F(${tile}x${tile}))`, `${spec.conv} Winograd F(${tile}x${tile})`, spec, tile,
      () => ({ weights: this.conv(spec).weights, shape: spec }));
  }

  /**
   * The Winograd filters of a 3x3 stride-1 convolution's data gradient, run as a convolution of
   * the output gradient with the flipped, transposed filter (transposed(spec, { flip: true }),
   * which is laid out as a forward filter of Cout inputs and Cin outputs): U of that filter, made
   * on the GPU on first use and kept until destroy().
   */
  gradientWinograd(spec: ConvSpec, tile: WinogradTile = 2, options: { unitScale?: boolean } = {}): GPUBuffer {
    const unitScale = options.unitScale ?? false;
    const key = `${spec.conv}${unitScale ? ' (unit scale)' : ''} gradient (Winograd F(${tile}x${tile}))`;
    return this.winogradOf(key, key, spec, tile, () => ({
      weights: this.transposed(spec, { unitScale, flip: true }), shape: { inChannels: spec.outChannels, outChannels: spec.inChannels },
    }));
  }

  /**
   * U of a packed 3x3 filter (`source()`: the buffer and its channels), made on the GPU the first
   * time `key` is asked for and kept in `derived`; `label` names the buffer and its dispatch.
   */
  private winogradOf(key: string, label: string, spec: ConvSpec, tile: WinogradTile,
    source: () => { weights: GPUBuffer; shape: { inChannels: number; outChannels: number } }): GPUBuffer {
    let buffer = this.derived.get(key);
    if (!buffer) {
      if (!isWinogradShape(spec, tile) || (spec.groups ?? 1) > 1) {
        throw new Error(`internal: ${spec.conv} is not a 3x3 padding-1 convolution of stride 1 (or 2, for F(4x4)), which Winograd F(${tile}x${tile}) needs`);
      }
      const { weights, shape } = source();
      buffer = this.ctx.device.createBuffer({ label: `${label} filter`, size: winogradFilterLength(shape, tile) * 4, usage: GPUBufferUsage.STORAGE });
      this.ctx.run([winogradFilterDispatch(this.ctx, shape, { weights, output: buffer }, tile, `${label} filter transform`)]);
      this.derived.set(key, buffer);
    }
    return buffer;
  }

  /** Bytes of the uploaded weights (the derived forms are made on demand). */
  get byteLength(): number {
    return this.buffers.reduce((sum, b) => sum + b.size, 0);
  }

  /** Free every buffer: the uploaded weights and everything derived from them. */
  destroy(): void {
    for (const b of this.buffers) b.destroy();
    for (const b of this.derived.values()) b.destroy();
    this.buffers.length = 0;
    this.derived.clear();
  }
}
