// Weights on the GPU: each convolution's packed filter with its BatchNorm folded into a per-channel
// epilogue (scale, shift), the stem's raw BN parameters (for the separate batchnorm kernel, used
// when the raw conv1 tap is asked for), and the classifier.

import type { GpuContext } from '../gpu/context';
import { foldBatchnorm } from '../kernels/batchnorm';
import { biasAsScaleShift, packConv2dWeights, packConv2dWeightsF16, registerF16Weights } from '../kernels/conv2d';
import type { TensorMap } from '../weights/safetensors';
import { BN_EPS, type ConvSpec, STEM, allConvs, convTensorNames, expectedTensors } from './architecture';

export interface ConvWeights {
  spec: ConvSpec;
  weights: GPUBuffer;
  /** BN folded: scale = gamma / sqrt(var + eps), shift = beta - mean * scale. */
  scale: GPUBuffer;
  shift: GPUBuffer;
}

export interface StemRaw {
  /** Epilogue that leaves the convolution unchanged (conv1 has no bias). */
  unitScale: GPUBuffer;
  zeroShift: GPUBuffer;
  mean: GPUBuffer;
  variance: GPUBuffer;
  gamma: GPUBuffer;
  beta: GPUBuffer;
}

export class NetworkWeights {
  readonly convs = new Map<string, ConvWeights>();
  stemRaw: StemRaw | null = null;
  fc: { weight: GPUBuffer; bias: GPUBuffer } | null = null;
  /** State-dict tensors that the checkpoint lacks. */
  readonly missing: Set<string>;
  private readonly buffers: GPUBuffer[] = [];

  /**
   * precision 'f16': every convolution also gets an f16 copy of its packed weights, which the
   * forward's conv2d dispatches read (registerF16Weights); the f32 copy stays for the backward pass.
   */
  /** 'f16' when the convolutions read f16 copies of their weights (only conv2dDispatch's f16 path does). */
  readonly precision: 'f32' | 'f16';

  constructor(private readonly ctx: GpuContext, tensors: TensorMap, options: { precision?: 'f32' | 'f16' } = {}) {
    this.precision = options.precision ?? 'f32';
    const expected = expectedTensors();
    this.missing = new Set([...expected.keys()].filter((name) => !tensors.has(name)));
    for (const spec of allConvs()) {
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
      const weights = this.upload(`${spec.conv}.weight (packed)`, packConv2dWeights(get(`${spec.conv}.weight`), shape));
      if (options.precision === 'f16') {
        const half = packConv2dWeightsF16(get(`${spec.conv}.weight`), shape);
        // Whole vec4<f16> groups (8 bytes each), so the bits view as u32 words exactly.
        registerF16Weights(weights, this.upload(`${spec.conv}.weight (packed, f16)`, new Uint32Array(half.buffer)));
      }
      this.convs.set(spec.conv, {
        spec,
        weights,
        scale: this.upload(`${spec.bn} folded scale`, folded.scale),
        shift: this.upload(`${spec.bn} folded shift`, folded.shift),
      });
      if (spec === STEM) {
        const identity = biasAsScaleShift(spec.outChannels);
        this.stemRaw = {
          unitScale: this.upload('conv1 unit scale', identity.scale),
          zeroShift: this.upload('conv1 zero shift', identity.shift),
          mean: this.upload('bn1.running_mean', bn.mean),
          variance: this.upload('bn1.running_var', bn.variance),
          gamma: this.upload('bn1.weight', bn.gamma),
          beta: this.upload('bn1.bias', bn.beta),
        };
      }
    }
    if (!this.missing.has('fc.weight') && !this.missing.has('fc.bias')) {
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

  get byteLength(): number {
    return this.buffers.reduce((sum, b) => sum + b.size, 0);
  }

  destroy(): void {
    for (const b of this.buffers) b.destroy();
    this.buffers.length = 0;
  }
}
