// The backward plan: the gradient of a scalar objective on one tap with respect to the network's
// (normalised) input, for a batch, weights fixed. It runs a forward plan that computes only the
// part of the network the target tap depends on (a layer1 target never runs layer2..4) and keeps
// the activations the backward needs, then walks back from the tap to the input:
//
//   block output  relu(sum)  -> mask by the output itself          (relu-backward)
//   sum = skip + bn2          -> the same gradient to both operands (no kernel)
//   bn2(conv2(h))             -> the conv's data gradient with bn2's folded scale, masked by
//                                bn1 > 0 (h = relu(bn1): the block's inner ReLU)
//   bn1(conv1(x))             -> the conv's data gradient with bn1's folded scale, plus the skip
//                                gradient (the fan-out of x) as addend, masked by x > 0 when x is
//                                the previous block's output (its final ReLU)
//   downsample.1(downsample.0(x)) -> the conv's data gradient with its folded scale (skip gradient)
//   maxpool                   -> maxpool2d-backward (argmax with PyTorch's ties), masked by
//                                relu > 0 (the stem ReLU, fused)
//   bn1(conv1(input))         -> the stem conv's data gradient with its folded scale
//   avgpool (target)          -> global-avgpool-backward, then as from layer4.1's output
//
// A conv's data gradient reads the forward's weights transposed (vec4s over input channels) with
// the BN scale folded in, made on first use by conv2d-weights-transpose and owned (freed) by the
// NetworkWeights (NetworkWeights.transposed). Stride 1: it is the convolution of dy with the flipped filters (padding
// K-1-P), run by the forward conv2d kernel, then add-backward applies addend and mask in place.
// Stride 2: conv2d-backward's gather, addend and mask fused.
//
// The saved activations are ordinary forward taps: 'relu', every block's bn1 and every block's
// output up to the target.

import { type Dispatch, type GpuContext } from '../gpu/context';
import { addBackwardDispatch } from '../kernels/add-backward';
import { conv2dDispatch } from '../kernels/conv2d';
import { type Conv2dPrecision, conv2dVariantFor } from '../kernels/conv2d-variants';
import { conv2dBackwardDispatch } from '../kernels/conv2d-backward';
import { globalAvgPoolBackwardDispatch } from '../kernels/global-avgpool-backward';
import { maxpool2dBackwardDispatch } from '../kernels/maxpool2d-backward';
import { reluBackwardDispatch } from '../kernels/relu-backward';
import { BLOCKS, type ConvSpec, FEATURE_WIDTH, STEM, type TapName, spatialPlan, tapShape, tapStageIndex } from './architecture';
import { elementCount as count } from '../util/tensor';
import { ForwardPlan } from './forward';
import type { NetworkWeights } from './gpu-weights';
import { type KernelChoices, planForward } from './planner';

/**
 * A network that can be differentiated from one tap to its input, for a batch of one input size:
 * the contract the feature-visualisation loop needs (src/featureviz/render.ts).
 */
export interface DifferentiableNetwork {
  readonly batch: number;
  readonly height: number;
  readonly width: number;
  /** The tap differentiated from, and its shape [N, C, h, w]. */
  readonly target: TapName;
  readonly targetShape: number[];
  /** Network input [N, 3, H, W] (normalised); written by the caller before `forward` runs. */
  readonly input: GPUBuffer;
  /** The target tap's values after `forward`. */
  readonly targetOutput: GPUBuffer;
  /** dL/d(target), [N, C, h, w]: written by the caller (the seed). */
  readonly targetGrad: GPUBuffer;
  /** dL/d(input) after `backward`. */
  readonly inputGrad: GPUBuffer;
  /** Forward dispatches (saving what the backward needs). */
  readonly forward: Dispatch[];
  /** Backward dispatches: targetGrad -> inputGrad. Valid after `forward` in the same or a later pass. */
  readonly backward: Dispatch[];
  dispose(): void;
}

/** Taps a backward from `target` reads: the target and the activations that gate the gradient. */
export function savedTaps(target: TapName): TapName[] {
  if (target === 'input' || target === 'fc') {
    throw new Error(`backward from '${target}' is not supported (targets: conv1 .. layer4.1 taps and avgpool)`);
  }
  const stage = target === 'avgpool' ? BLOCKS.length - 1 : tapStageIndex(target);
  const taps = new Set<TapName>([target]);
  if (stage >= 0 || target === 'maxpool' || target === 'relu') taps.add('relu');
  for (let i = 0; i <= stage; i++) {
    taps.add(`${BLOCKS[i].name}.bn1`);
    if (i < stage) taps.add(BLOCKS[i].name);
  }
  if (target === 'avgpool') taps.add(BLOCKS[BLOCKS.length - 1].name);
  return [...taps];
}

/** How a BackwardPlan runs: its kernels and the weights' precision for the forward part. */
export interface BackwardOptions {
  /** Default: conv2dVariantFor(adapter) for every convolution. */
  kernels?: KernelChoices;
  /** The forward part's convolution weights (the gradient always reads the f32 filters). Default 'f32'. */
  precision?: Conv2dPrecision;
}

export class BackwardPlan implements DifferentiableNetwork {
  readonly forwardPlan: ForwardPlan;
  readonly forward: Dispatch[];
  readonly backward: Dispatch[] = [];
  readonly targetShape: number[];
  readonly targetOutput: GPUBuffer;
  readonly targetGrad: GPUBuffer;
  readonly inputGrad: GPUBuffer;
  private readonly owned: GPUBuffer[] = [];
  private readonly created: GPUBuffer[] = [];

  constructor(private readonly ctx: GpuContext, weights: NetworkWeights,
    readonly batch: number, readonly height: number, readonly width: number, readonly target: TapName, options: BackwardOptions = {}) {
    const kernels = options.kernels ?? { conv2d: conv2dVariantFor(ctx.adapter) };
    this.forwardPlan = new ForwardPlan(ctx, weights, planForward({
      batch, height, width, taps: savedTaps(target), missing: weights.missing, kernels, precision: options.precision,
    }));
    this.forward = this.forwardPlan.dispatches;
    const tap = (name: TapName) => {
      const o = this.forwardPlan.outputs.find((t) => t.tap === name);
      if (!o) throw new Error(`internal: tap '${name}' was not kept by the forward plan`);
      return o.buffer;
    };
    this.targetShape = tapShape(target, batch, height, width);
    this.targetOutput = tap(target);
    this.targetGrad = this.alloc(`backward seed d/d(${target})`, this.targetShape);
    this.inputGrad = this.alloc('d/d(input)', [batch, 3, height, width]);
    const plan = spatialPlan(height, width);
    const push = (d: Dispatch) => this.backward.push(d);
    const convShape = (spec: ConvSpec, inH: number, inW: number) => ({
      batch, inChannels: spec.inChannels, inHeight: inH, inWidth: inW,
      outChannels: spec.outChannels, kernel: spec.kernel, stride: spec.stride, padding: spec.padding,
    });
    const blockInputSize = (i: number): [number, number] => (i === 0 ? plan.pooled : plan.blocks[i - 1]);
    // The forward kernel's epilogue for a gradient run as a convolution: scale 1, shift 0.
    const unit = this.own(ctx.createStorageBuffer('backward unit scale', new Float32Array(512).fill(1)));
    const zero = this.own(ctx.createStorageBuffer('backward zero shift', new Float32Array(512)));
    /**
     * dL/d(conv input) from dL/d(bn output), plus an optional addend (the skip gradient) and ReLU
     * mask. Stride 1: the gradient is the convolution of dy with the flipped, transposed filters
     * (padding K-1-P), run with the forward conv2d kernel, then add-backward applies the addend and
     * mask in place. Stride 2: conv2d-backward's gather, with both fused.
     */
    const convBackward = (spec: ConvSpec, inSize: [number, number], gradOutput: GPUBuffer, gradInput: GPUBuffer,
      extra: { addend?: GPUBuffer; mask?: GPUBuffer; unitScale?: boolean } = {}) => {
      const shape = convShape(spec, inSize[0], inSize[1]);
      if (spec.stride === 1) {
        const [oh, ow] = [inSize[0] + 2 * spec.padding - spec.kernel + 1, inSize[1] + 2 * spec.padding - spec.kernel + 1];
        push(conv2dDispatch(ctx, {
          batch, inChannels: spec.outChannels, inHeight: oh, inWidth: ow, outChannels: spec.inChannels,
          kernel: spec.kernel, stride: 1, padding: spec.kernel - 1 - spec.padding,
        }, {
          input: gradOutput, weights: weights.transposed(spec, { unitScale: extra.unitScale, flip: true }),
          scale: unit, shift: zero, output: gradInput,
        }, { relu: false, variant: kernels.conv2d }, `${spec.conv} backward (as a convolution)`));
        if (extra.addend || extra.mask) {
          push(addBackwardDispatch(ctx, count([batch, spec.inChannels, ...inSize]),
            { gradient: extra.addend, mask: extra.mask, accumulator: gradInput }, `${spec.conv} backward epilogue`));
        }
        return;
      }
      push(conv2dBackwardDispatch(ctx, shape, {
        gradOutput, weightsTransposed: weights.transposed(spec, { unitScale: extra.unitScale }), gradInput,
        addend: extra.addend, mask: extra.mask,
      }, `${spec.conv} backward`));
    };

    /**
     * Whole blocks i = from .. 0, starting from dL/d(sum) of block `from`. Each step goes through
     * conv2 (+ bn2, masked by bn1 > 0: the inner ReLU), the skip (downsample or identity) and
     * conv1 (+ bn1) with the skip gradient as addend; the gradient at x = relu(sum_{i-1}) is
     * masked by block i-1's output as it is written, so it is dL/d(sum_{i-1}) directly. Returns
     * dL/d(maxpool output).
     */
    const wholeBlocks = (gradSum: GPUBuffer, from: number): GPUBuffer => {
      let g = gradSum;
      for (let i = from; i >= 0; i--) {
        const b = BLOCKS[i];
        const outShape = tapShape(b.name, batch, height, width);
        const inSize = blockInputSize(i);
        const inShape = [batch, b.inChannels, ...inSize];
        const gh = this.alloc(`d/d(${b.name} relu(bn1))`, outShape);
        convBackward(b.conv2, plan.blocks[i], g, gh, { mask: tap(`${b.name}.bn1`) });
        let skipGrad = g;
        if (b.downsample) {
          skipGrad = this.alloc(`d/d(${b.name} input) via downsample`, inShape);
          convBackward(b.downsample, inSize, g, skipGrad);
        }
        const next = this.alloc(i > 0 ? `d/d(${BLOCKS[i - 1].name}.sum)` : 'd/d(maxpool)', inShape);
        convBackward(b.conv1, inSize, gh, next, { addend: skipGrad, mask: i > 0 ? tap(BLOCKS[i - 1].name) : undefined });
        g = next;
      }
      return g;
    };

    // ---- From the target to dL/d(maxpool output), for targets in the blocks.
    const stage = target === 'avgpool' ? BLOCKS.length - 1 : tapStageIndex(target);
    let gradPool: GPUBuffer | null = null;
    if (stage >= 0) {
      const b = BLOCKS[stage];
      const outShape = tapShape(b.name, batch, height, width);
      const inSize = blockInputSize(stage);
      const inShape = [batch, b.inChannels, ...inSize];
      const prevMask = stage > 0 ? tap(BLOCKS[stage - 1].name) : undefined;
      /** Continue from dL/d(block input), already masked: it is dL/d(sum) of the block before. */
      const fromBlockInput = (g: GPUBuffer) => (stage > 0 ? wholeBlocks(g, stage - 1) : g);
      if (target === 'avgpool' || target === b.name) {
        // Through the block's final ReLU to `sum`, then the whole block.
        let gOut = this.targetGrad;
        if (target === 'avgpool') {
          gOut = this.alloc(`d/d(${b.name})`, outShape);
          push(globalAvgPoolBackwardDispatch(ctx, { batch, channels: FEATURE_WIDTH, height: outShape[2], width: outShape[3] },
            { gradOutput: this.targetGrad, gradInput: gOut }));
        }
        const gradSum = this.alloc(`d/d(${b.name}.sum)`, outShape);
        push(reluBackwardDispatch(ctx, count(outShape), { gradOutput: gOut, activation: tap(b.name), gradInput: gradSum },
          `${b.name} relu backward`));
        gradPool = wholeBlocks(gradSum, stage);
      } else if (target === `${b.name}.sum`) {
        gradPool = wholeBlocks(this.targetGrad, stage);
      } else if (target === `${b.name}.bn2`) {
        // The branch only: conv2 (masked by the inner ReLU), then conv1.
        const gh = this.alloc(`d/d(${b.name} relu(bn1))`, outShape);
        convBackward(b.conv2, plan.blocks[stage], this.targetGrad, gh, { mask: tap(`${b.name}.bn1`) });
        const gx = this.alloc(`d/d(${b.name} input)`, inShape);
        convBackward(b.conv1, inSize, gh, gx, { mask: prevMask });
        gradPool = fromBlockInput(gx);
      } else if (target === `${b.name}.bn1`) {
        const gx = this.alloc(`d/d(${b.name} input)`, inShape);
        convBackward(b.conv1, inSize, this.targetGrad, gx, { mask: prevMask });
        gradPool = fromBlockInput(gx);
      } else if (target === `${b.name}.downsample.1` || (target === `${b.name}.skip` && b.downsample)) {
        const gx = this.alloc(`d/d(${b.name} input)`, inShape);
        convBackward(b.downsample!, inSize, this.targetGrad, gx, { mask: prevMask });
        gradPool = fromBlockInput(gx);
      } else if (target === `${b.name}.skip`) {
        // skip = x for a plain block: the seed is the gradient at x, through the previous ReLU.
        let gx = this.targetGrad;
        if (prevMask) {
          gx = this.alloc(`d/d(${BLOCKS[stage - 1].name}.sum)`, inShape);
          push(reluBackwardDispatch(ctx, count(inShape), { gradOutput: this.targetGrad, activation: prevMask, gradInput: gx },
            `${BLOCKS[stage - 1].name} relu backward`));
        }
        gradPool = fromBlockInput(gx);
      } else {
        throw new Error(`internal: unhandled target '${target}'`);
      }
    }

    // ---- The stem: maxpool (with the stem ReLU fused), conv1 + bn1.
    const stemShape = tapShape('relu', batch, height, width);
    const inputSize: [number, number] = [height, width];
    let gradBn1: GPUBuffer;
    let unitScale = false;
    if (stage >= 0 || target === 'maxpool') {
      const gPool = gradPool ?? this.targetGrad;
      gradBn1 = this.alloc('d/d(bn1)', stemShape);
      push(maxpool2dBackwardDispatch(ctx, { batch, channels: 64, inHeight: plan.stem[0], inWidth: plan.stem[1], kernel: 3, stride: 2, padding: 1 },
        { input: tap('relu'), gradOutput: gPool, gradInput: gradBn1 }, { reluMask: true }, 'maxpool backward (+ stem relu)'));
    } else if (target === 'relu') {
      gradBn1 = this.alloc('d/d(bn1)', stemShape);
      push(reluBackwardDispatch(ctx, count(stemShape), { gradOutput: this.targetGrad, activation: tap('relu'), gradInput: gradBn1 }, 'stem relu backward'));
    } else if (target === 'bn1') {
      gradBn1 = this.targetGrad;
    } else if (target === 'conv1') {
      gradBn1 = this.targetGrad;
      unitScale = true;
    } else {
      throw new Error(`internal: unhandled target '${target}'`);
    }
    convBackward(STEM, inputSize, gradBn1, this.inputGrad, { unitScale });
  }

  get input(): GPUBuffer {
    return this.forwardPlan.input;
  }

  private alloc(label: string, shape: number[]): GPUBuffer {
    const b = this.ctx.acquire(label, count(shape) * 4);
    this.owned.push(b);
    return b;
  }

  private own(b: GPUBuffer): GPUBuffer {
    this.created.push(b);
    return b;
  }

  dispose(): void {
    this.forwardPlan.dispose();
    for (const b of this.owned) this.ctx.release(b);
    for (const b of this.created) b.destroy();
    this.owned.length = 0;
    this.created.length = 0;
  }
}
