// The backward plan: the gradient of a scalar objective on one tap with respect to the network's
// (normalised) input, for a batch, weights fixed, through any member of the family (the weights'
// Architecture: BasicBlocks or Bottlenecks, grouped or not). It runs a forward plan that computes
// only the part of the network the target tap depends on (a layer1 target never runs layer2..4)
// and keeps the activations the backward needs, then walks back from the tap to the input:
//
//   block output  relu(sum)  -> mask by the output itself          (relu-backward)
//   sum = skip + last BN      -> the same gradient to both operands (no kernel)
//   branch BN k (k > 0)       -> conv k's data gradient with its folded BN scale, masked by
//                                BN k-1 > 0 (the ReLU between them), for k = last .. 1
//   branch BN 0 (bn1(conv1(x))) -> conv1's data gradient with bn1's folded scale, plus the skip
//                                gradient (the fan-out of x) as addend, masked by x > 0 when x is
//                                the previous block's output (its final ReLU)
//   downsample.1(downsample.0(x)) -> the conv's data gradient with its folded scale (skip gradient)
//   maxpool                   -> maxpool2d-argmax (each window's pick, PyTorch's ties) then
//                                maxpool2d-backward (gathers dy through the picks), masked by
//                                relu > 0 (the stem ReLU, fused)
//   bn1(conv1(input))         -> the stem conv's data gradient with its folded scale
//   avgpool (target)          -> global-avgpool-backward, then as from the last block's output
//
// A conv's data gradient reads the forward's weights transposed (vec4s over input channels) with
// the BN scale folded in, made on first use by conv2d-weights-transpose and owned (freed) by the
// NetworkWeights (NetworkWeights.transposed). Stride 1 (3x3 and 1x1): it is the convolution of dy
// with the flipped filters (padding K-1-P), run by the forward conv2d kernel, then add-backward
// applies addend and mask in place. Stride 2: conv2d-backward's gather, addend and mask fused. A
// grouped conv (ResNeXt's 3x3) runs conv2d-grouped-backward on the forward's own filter and scale,
// addend and mask fused.
//
// The saved activations are ordinary forward taps: 'relu', every block's inner branch BNs (the
// pre-ReLU BNs: bn1, and a Bottleneck's bn2) and every block's output up to the target.

import { type Dispatch, type GpuContext } from '../gpu/context';
import { addBackwardDispatch } from '../kernels/add-backward';
import { conv2dDispatch } from '../kernels/conv2d';
import { groupedConv2dBackwardDispatch } from '../kernels/conv2d-grouped';
import {
  type Conv2dPrecision, backwardConv2dVariantFor, conv2dVariantRun, isWinogradVariant, paddedInputFor, usesWinograd, winogradScratchBytes, winogradStride2For, winogradTileOf,
} from '../kernels/conv2d-variants';
import { conv2dWinogradDispatches, isWinogradShape } from '../kernels/conv2d-winograd';
import { conv2dBackwardDispatch } from '../kernels/conv2d-backward';
import { globalAvgPoolBackwardDispatch } from '../kernels/global-avgpool-backward';
import { maxpool2dArgmaxLength, maxpool2dBackwardDispatches } from '../kernels/maxpool2d-backward';
import { reluBackwardDispatch } from '../kernels/relu-backward';
import {
  type Architecture, type BlockSpec, type ConvSpec, RESNET18, type TapName, allConvs, spatialPlan, tapShape, tapStageIndex, winogradNetwork,
} from './architecture';
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

/** The branch BNs a ReLU follows (all but the last): the masks of the branch's backward. */
function innerBns(b: BlockSpec): TapName[] {
  return b.branch.slice(0, -1).map((c) => c.bn);
}

/** Taps a backward from `target` reads: the target and the activations that gate the gradient. */
export function savedTaps(target: TapName, arch: Architecture = RESNET18): TapName[] {
  const blocks = arch.blocks;
  if (target === 'input' || target === 'fc') {
    throw new Error(`backward from '${target}' is not supported (targets: conv1 .. ${blocks[blocks.length - 1].name} taps and avgpool)`);
  }
  const stage = target === 'avgpool' ? blocks.length - 1 : tapStageIndex(target, arch);
  const taps = new Set<TapName>([target]);
  if (stage >= 0 || target === 'maxpool' || target === 'relu') taps.add('relu');
  for (let i = 0; i <= stage; i++) {
    for (const bn of innerBns(blocks[i])) taps.add(bn);
    if (i < stage) taps.add(blocks[i].name);
  }
  if (target === 'avgpool') taps.add(blocks[blocks.length - 1].name);
  return [...taps];
}

/** How a BackwardPlan runs: its kernels and the weights' precision for the forward part. */
export interface BackwardOptions {
  /** Default: backwardConv2dVariantFor(adapter, this network) for every convolution. */
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
  /** How many of the two Winograd gradient scratch buffers are the forward plan's (0 when none runs). */
  winogradScratchShared = 0;

  constructor(private readonly ctx: GpuContext, weights: NetworkWeights,
    readonly batch: number, readonly height: number, readonly width: number, readonly target: TapName, options: BackwardOptions = {}) {
    const arch = weights.architecture;
    const blocks = arch.blocks;
    const kernels = options.kernels ?? {
      conv2d: backwardConv2dVariantFor(ctx.adapter, winogradNetwork(arch)), paddedInput: paddedInputFor(ctx.adapter),
      winogradStride2: winogradStride2For(ctx.adapter),
    };
    this.forwardPlan = new ForwardPlan(ctx, weights, planForward({
      architecture: arch, batch, height, width, taps: savedTaps(target, arch), missing: weights.missing, kernels, precision: options.precision,
    }));
    this.forward = this.forwardPlan.dispatches;
    const tap = (name: TapName) => {
      const o = this.forwardPlan.outputs.find((t) => t.tap === name);
      if (!o) throw new Error(`internal: tap '${name}' was not kept by the forward plan`);
      return o.buffer;
    };
    const shapeOf = (name: TapName) => tapShape(name, batch, height, width, arch);
    this.targetShape = shapeOf(target);
    this.targetOutput = tap(target);
    this.targetGrad = this.alloc(`backward seed d/d(${target})`, this.targetShape);
    this.inputGrad = this.alloc('d/d(input)', [batch, arch.stem.inChannels, height, width]);
    const plan = spatialPlan(height, width, arch);
    // Dispatches are made in order as thunks: a Winograd gradient's needs the scratch buffers,
    // sized for the largest such gradient, which exist only once every step is known.
    const steps: (() => Dispatch | Dispatch[])[] = [];
    const push = (d: Dispatch) => steps.push(() => d);
    let winogradScratch: { input: GPUBuffer; products: GPUBuffer } | null = null;
    const winogradNeed = { input: 0, products: 0 };
    const convShape = (spec: ConvSpec, inH: number, inW: number) => ({
      batch, inChannels: spec.inChannels, inHeight: inH, inWidth: inW,
      outChannels: spec.outChannels, kernel: spec.kernel, stride: spec.stride, padding: spec.padding,
    });
    const blockInputSize = (i: number): [number, number] => (i === 0 ? plan.pooled : plan.blocks[i - 1]);
    // The forward kernel's epilogue for a gradient run as a convolution: scale 1, shift 0, one per
    // channel of the widest convolution input (ResNet18: 512).
    const widest = Math.max(...allConvs(arch).map((c) => c.inChannels));
    const unit = this.own(ctx.createStorageBuffer('backward unit scale', new Float32Array(widest).fill(1)));
    const zero = this.own(ctx.createStorageBuffer('backward zero shift', new Float32Array(widest)));
    /**
     * dL/d(conv input) from dL/d(bn output), plus an optional addend (the skip gradient) and ReLU
     * mask. Grouped: conv2d-grouped-backward, both fused. Stride 1: the gradient is the
     * convolution of dy with the flipped, transposed filters (padding K-1-P), run with the forward
     * conv2d kernel, then add-backward applies the addend and mask in place. Stride 2:
     * conv2d-backward's gather, with both fused.
     */
    // The stride-1 gradients of 3x3 convolutions run on the forward's Winograd kernels where the
    // forward does (lavapipe's default), with U made from the flipped, transposed filter
    // (NetworkWeights.gradientWinograd); the others, as one conv2dDispatch each, take 'rows' there
    // ('rows' is 3x3-only and falls back to 'direct' for 1x1), and the forward's variant elsewhere.
    const winograd = usesWinograd(kernels.conv2d);
    const gradientVariant = winograd ? 'rows' : kernels.conv2d;
    const convBackward = (spec: ConvSpec, inSize: [number, number], gradOutput: GPUBuffer, gradInput: GPUBuffer,
      extra: { addend?: GPUBuffer; mask?: GPUBuffer; unitScale?: boolean } = {}) => {
      const shape = convShape(spec, inSize[0], inSize[1]);
      if ((spec.groups ?? 1) > 1) {
        if (extra.unitScale) throw new Error(`internal: ${spec.conv} has no raw (pre-BN) gradient`);
        const w = weights.conv(spec);
        push(groupedConv2dBackwardDispatch(ctx, { ...shape, groups: spec.groups! }, {
          dy: gradOutput, weights: w.weights, scale: w.scale, dx: gradInput, addend: extra.addend, mask: extra.mask,
        }, `${spec.conv} backward (grouped)`));
        return;
      }
      if (spec.stride === 1) {
        const [oh, ow] = [inSize[0] + 2 * spec.padding - spec.kernel + 1, inSize[1] + 2 * spec.padding - spec.kernel + 1];
        const gradientShape = {
          batch, inChannels: spec.outChannels, inHeight: oh, inWidth: ow, outChannels: spec.inChannels,
          kernel: spec.kernel, stride: 1, padding: spec.kernel - 1 - spec.padding,
        };
        const label = `${spec.conv} backward (as a convolution)`;
        // 'winograd-mixed' picks the tile by the gradient's map, as the forward does by its own.
        const run = winograd && isWinogradShape(gradientShape) ? conv2dVariantRun(kernels.conv2d, gradientShape) : null;
        if (run && isWinogradVariant(run)) {
          const winogradTile = winogradTileOf(run);
          const need = winogradScratchBytes(gradientShape, winogradTile);
          winogradNeed.input = Math.max(winogradNeed.input, need.input);
          winogradNeed.products = Math.max(winogradNeed.products, need.products);
          const filter = weights.gradientWinograd(spec, winogradTile, { unitScale: extra.unitScale });
          steps.push(() => conv2dWinogradDispatches(ctx, gradientShape, {
            input: gradOutput, weights: filter, scale: unit, shift: zero, output: gradInput,
            scratch: winogradScratch!.input, products: winogradScratch!.products,
          }, { relu: false, tile: winogradTile }, `${label} (${run})`));
        } else {
          push(conv2dDispatch(ctx, gradientShape, {
            input: gradOutput, weights: weights.transposed(spec, { unitScale: extra.unitScale, flip: true }),
            scale: unit, shift: zero, output: gradInput,
          }, { relu: false, variant: gradientVariant }, label));
        }
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
     * Block i's branch from dL/d(branch[k].bn): convs k .. 1, each masked by the BN before it (the
     * ReLU between them), then conv 0 into `gradInput` (dL/d(block input)) with `extra` (the skip
     * gradient as addend, the previous block's output as mask).
     */
    const branchBackward = (i: number, k: number, gradBn: GPUBuffer, gradInput: GPUBuffer, extra: { addend?: GPUBuffer; mask?: GPUBuffer }) => {
      const b = blocks[i];
      let g = gradBn;
      for (; k > 0; k--) {
        const prev = b.branch[k - 1].bn;
        const prevShape = shapeOf(prev);
        const gh = this.alloc(`d/d(${b.name} relu(${prev.slice(b.name.length + 1)}))`, prevShape);
        convBackward(b.branch[k], [prevShape[2], prevShape[3]], g, gh, { mask: tap(prev) });
        g = gh;
      }
      convBackward(b.branch[0], blockInputSize(i), g, gradInput, extra);
    };
    const blockInputShape = (i: number) => [batch, blocks[i].inChannels, ...blockInputSize(i)];

    /**
     * Whole blocks i = from .. 0, starting from dL/d(sum) of block `from`. Each step goes through
     * the skip (downsample or identity) and the branch, last conv first, with the skip gradient
     * as conv1's addend; the gradient at x = relu(sum_{i-1}) is masked by block i-1's output as it
     * is written, so it is dL/d(sum_{i-1}) directly. Returns dL/d(maxpool output).
     */
    const wholeBlocks = (gradSum: GPUBuffer, from: number): GPUBuffer => {
      let g = gradSum;
      for (let i = from; i >= 0; i--) {
        const b = blocks[i];
        let skipGrad = g;
        if (b.downsample) {
          skipGrad = this.alloc(`d/d(${b.name} input) via downsample`, blockInputShape(i));
          convBackward(b.downsample, blockInputSize(i), g, skipGrad);
        }
        const next = this.alloc(i > 0 ? `d/d(${blocks[i - 1].name}.sum)` : 'd/d(maxpool)', blockInputShape(i));
        branchBackward(i, b.branch.length - 1, g, next, { addend: skipGrad, mask: i > 0 ? tap(blocks[i - 1].name) : undefined });
        g = next;
      }
      return g;
    };

    // ---- From the target to dL/d(maxpool output), for targets in the blocks.
    const stage = target === 'avgpool' ? blocks.length - 1 : tapStageIndex(target, arch);
    let gradPool: GPUBuffer | null = null;
    if (stage >= 0) {
      const b = blocks[stage];
      const outShape = shapeOf(b.name);
      const inShape = blockInputShape(stage);
      const prevMask = stage > 0 ? tap(blocks[stage - 1].name) : undefined;
      /** Continue from dL/d(block input), already masked: it is dL/d(sum) of the block before. */
      const fromBlockInput = (g: GPUBuffer) => (stage > 0 ? wholeBlocks(g, stage - 1) : g);
      const k = b.branch.findIndex((c) => c.bn === target);
      if (target === 'avgpool' || target === b.name) {
        // Through the block's final ReLU to `sum`, then the whole block.
        let gOut = this.targetGrad;
        if (target === 'avgpool') {
          gOut = this.alloc(`d/d(${b.name})`, outShape);
          push(globalAvgPoolBackwardDispatch(ctx, { batch, channels: arch.features, height: outShape[2], width: outShape[3] },
            { gradOutput: this.targetGrad, gradInput: gOut }));
        }
        const gradSum = this.alloc(`d/d(${b.name}.sum)`, outShape);
        push(reluBackwardDispatch(ctx, count(outShape), { gradOutput: gOut, activation: tap(b.name), gradInput: gradSum },
          `${b.name} relu backward`));
        gradPool = wholeBlocks(gradSum, stage);
      } else if (target === `${b.name}.sum`) {
        gradPool = wholeBlocks(this.targetGrad, stage);
      } else if (k >= 0) {
        // The branch only, from BN k down to conv1.
        const gx = this.alloc(`d/d(${b.name} input)`, inShape);
        branchBackward(stage, k, this.targetGrad, gx, { mask: prevMask });
        gradPool = fromBlockInput(gx);
      } else if (b.downsample && (target === b.downsample.bn || target === `${b.name}.skip`)) {
        const gx = this.alloc(`d/d(${b.name} input)`, inShape);
        convBackward(b.downsample, blockInputSize(stage), this.targetGrad, gx, { mask: prevMask });
        gradPool = fromBlockInput(gx);
      } else if (target === `${b.name}.skip`) {
        // skip = x for a plain block: the seed is the gradient at x, through the previous ReLU.
        let gx = this.targetGrad;
        if (prevMask) {
          gx = this.alloc(`d/d(${blocks[stage - 1].name}.sum)`, inShape);
          push(reluBackwardDispatch(ctx, count(inShape), { gradOutput: this.targetGrad, activation: prevMask, gradInput: gx },
            `${blocks[stage - 1].name} relu backward`));
        }
        gradPool = fromBlockInput(gx);
      } else {
        throw new Error(`internal: unhandled target '${target}'`);
      }
    }

    // ---- The stem: maxpool (with the stem ReLU fused), conv1 + bn1.
    const stemShape = shapeOf('relu');
    let gradBn1: GPUBuffer;
    let unitScale = false;
    if (stage >= 0 || target === 'maxpool') {
      const gPool = gradPool ?? this.targetGrad;
      gradBn1 = this.alloc('d/d(bn1)', stemShape);
      const pool = { batch, channels: arch.stem.outChannels, inHeight: plan.stem[0], inWidth: plan.stem[1], ...arch.pool };
      // Scratch: each pooling window's pick (u32), written and read within the maxpool backward.
      const argmax = this.alloc('maxpool argmax (scratch)', [maxpool2dArgmaxLength(pool)]);
      // In order with the other steps (they are materialised after the Winograd scratch exists).
      steps.push(() => maxpool2dBackwardDispatches(ctx, pool, { input: tap('relu'), gradOutput: gPool, gradInput: gradBn1, argmax },
        { reluMask: true }, 'maxpool backward (+ stem relu)'));
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
    convBackward(arch.stem, [height, width], gradBn1, this.inputGrad, { unitScale });

    if (winogradNeed.input) {
      // The forward's own Winograd scratch (and any buffer it no longer needs once it has run) is
      // free by the time the gradients run, in the same pass: the smallest that fits, else a new one.
      const free = [...this.forwardPlan.freeAfterRun].sort((a, b) => a.size - b.size);
      const fitting = (bytes: number, label: string) => {
        const i = free.findIndex((b) => b.size >= bytes);
        return i >= 0 ? free.splice(i, 1)[0] : this.alloc(label, [bytes / 4]);
      };
      winogradScratch = {
        input: fitting(winogradNeed.input, 'backward Winograd input scratch'),
        products: fitting(winogradNeed.products, 'backward Winograd products scratch'),
      };
      this.winogradScratchShared = [winogradScratch.input, winogradScratch.products].filter((b) => this.forwardPlan.freeAfterRun.includes(b)).length;
    }
    for (const step of steps) this.backward.push(...[step()].flat());
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
