// The forward plan: ResNet18 for one (batch, height, width, taps, ablations) compiled into a list of
// prepared dispatches over pooled buffers. A plan is built once and replayed; every run is one
// compute pass, the tap copies and one submission.
//
// Fusion rules (every tap stays exact): a conv's BatchNorm is always its epilogue; its ReLU is fused
// unless the pre-ReLU tap is wanted (or ablated), in which case a separate ReLU runs; the residual
// add fuses the final ReLU unless `sum` is wanted. The raw `conv1` tap (before BN) runs the stem
// convolution with a unit epilogue followed by the separate batchnorm kernel.

import { type Dispatch, type GpuContext, ReadbackSlot } from '../gpu/context';
import { addDispatch } from '../kernels/add';
import { batchnormDispatch } from '../kernels/batchnorm';
import { channelReplaceDispatch } from '../kernels/channel-replace';
import { type Conv2dShape, conv2dDispatch, conv2dVariant } from '../kernels/conv2d';
import { conv2dGemmDispatches, gemmScratchBytes } from '../kernels/conv2d-gemm';
import { globalAvgPoolDispatch } from '../kernels/global-avgpool';
import { linearDispatch } from '../kernels/linear';
import { maxpool2dDispatch } from '../kernels/maxpool2d';
import { reluDispatch } from '../kernels/relu';
import {
  BLOCKS, type BlockSpec, type ConvSpec, FEATURE_WIDTH, MIN_INPUT_SIZE, NUM_CLASSES, STEM, type TapName,
  allTapNames, convTensorNames, tapShape, tapStageIndex,
} from './architecture';
import type { NetworkWeights } from './gpu-weights';

/** Replace chosen channels of a tap during the forward: with zero, or with given values (e.g. means). */
export interface Ablation {
  tap: TapName;
  channels: number[];
  /** One value per listed channel; omitted = zero-ablation. */
  values?: number[];
}

export interface PlanKey {
  batch: number;
  height: number;
  width: number;
  taps: TapName[];
  ablations?: Ablation[];
}

export class MissingWeightsError extends Error {
  constructor(readonly taps: TapName[], readonly missingTensors: string[], readonly lastComputable: string) {
    super(`cannot compute ${taps.length === 1 ? `tap '${taps[0]}'` : `${taps.length} taps (${taps.slice(0, 3).join(', ')}${taps.length > 3 ? ', ...' : ''})`}: ` +
      `the checkpoint lacks ${missingTensors.join(', ')}; the last computable stage is ${lastComputable}`);
    this.name = 'MissingWeightsError';
  }
}

/** Which taps the weights allow, and what stops the rest. */
export interface Computability {
  computable: TapName[];
  notComputable: TapName[];
  /** Missing tensors of the first stage that cannot run (what stops everything after it). */
  missingTensors: string[];
  /** The last stage that can run: 'input', 'stem', a block name ('layer3.1') or 'fc'. */
  lastComputable: string;
}

function stageTensors(stage: number): string[] {
  if (stage < 0) return convTensorNames(STEM);
  if (stage >= BLOCKS.length) return ['fc.weight', 'fc.bias'];
  const b = BLOCKS[stage];
  return [b.conv1, b.conv2, ...(b.downsample ? [b.downsample] : [])].flatMap(convTensorNames);
}

export function computability(missing: Set<string>): Computability {
  // Stages run in order: the stem (-1), blocks 0..7, then the head (8). The first stage with a
  // missing tensor stops it and everything after it (avgpool needs only layer4.1, not fc).
  let firstBroken = Infinity;
  let missingTensors: string[] = [];
  for (let stage = -1; stage <= BLOCKS.length; stage++) {
    const lacking = stageTensors(stage).filter((n) => missing.has(n));
    if (lacking.length) {
      firstBroken = stage;
      missingTensors = lacking;
      break;
    }
  }
  const computable: TapName[] = [];
  const notComputable: TapName[] = [];
  for (const tap of allTapNames()) {
    const stage = tap === 'input' ? -2 : tap === 'avgpool' ? BLOCKS.length - 1 : tapStageIndex(tap);
    (stage < firstBroken ? computable : notComputable).push(tap);
  }
  const lastComputable = firstBroken === Infinity ? 'fc'
    : firstBroken === -1 ? 'input'
    : firstBroken === 0 ? 'stem'
    : firstBroken === BLOCKS.length ? 'avgpool'
    : BLOCKS[firstBroken - 1].name;
  return { computable, notComputable, missingTensors, lastComputable };
}

export interface TapBuffer {
  tap: TapName;
  buffer: GPUBuffer;
  shape: number[];
  byteLength: number;
}

/** A compiled forward: dispatches, the input buffer and the buffers holding each requested tap. */
export class ForwardPlan {
  readonly dispatches: Dispatch[] = [];
  readonly input: GPUBuffer;
  readonly outputs: TapBuffer[] = [];
  /** The staging buffer and learned GPU time of this plan's readbacks (pass to ctx.readback). */
  readonly readbackSlot = new ReadbackSlot();
  private readonly owned: GPUBuffer[] = [];
  private readonly free: GPUBuffer[] = [];
  private readonly uniforms: GPUBuffer[] = [];
  /** Bytes of activation buffers this plan holds (input, taps and reused scratch). */
  activationBytes = 0;

  constructor(private readonly ctx: GpuContext, weights: NetworkWeights, readonly key: PlanKey) {
    const { batch, height, width } = key;
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch must be a positive integer, got ${batch}`);
    if (height < MIN_INPUT_SIZE || width < MIN_INPUT_SIZE) {
      throw new Error(`input must be at least ${MIN_INPUT_SIZE}x${MIN_INPUT_SIZE}, got ${height}x${width}`);
    }
    const wanted = new Set(key.taps);
    for (const t of wanted) tapShape(t, 1, height, width); // validates the name
    const ablations = new Map<TapName, Ablation>();
    for (const a of key.ablations ?? []) {
      tapShape(a.tap, 1, height, width);
      if (a.tap === 'input' || a.tap === 'fc' || a.tap === 'avgpool') {
        throw new Error(`ablation of '${a.tap}' is not supported (ablate a convolutional tap)`);
      }
      ablations.set(a.tap, a);
    }
    const status = computability(weights.missing);
    const blocked = [...wanted, ...ablations.keys()].filter((t) => status.notComputable.includes(t));
    if (blocked.length) throw new MissingWeightsError(blocked, status.missingTensors, status.lastComputable);

    // The furthest stage any wanted tap needs (-2 input only, -1 stem, 0..7 blocks, 8 head):
    // nothing after it is planned, so a layer1 tap never runs layer2..4.
    const stageOf = (t: TapName) => (t === 'input' ? -2 : tapStageIndex(t));
    const lastStage = Math.max(-2, ...[...wanted, ...ablations.keys()].map(stageOf));
    // A tap is materialised (its own buffer, no fusion across it) if read back or ablated.
    const materialise = (t: TapName) => wanted.has(t) || ablations.has(t);
    const shapeOf = (t: TapName) => tapShape(t, batch, height, width);

    this.input = this.alloc('input', [batch, 3, height, width]);
    const buffers = new Map<TapName, GPUBuffer>([['input', this.input]]);
    const retain = new Set<GPUBuffer>([this.input]);

    const produce = (tap: TapName): GPUBuffer => {
      const b = this.alloc(tap, shapeOf(tap));
      buffers.set(tap, b);
      if (wanted.has(tap)) retain.add(b);
      return b;
    };
    /** The buffer for a ReLU output: the named tap's if it is materialised, else anonymous scratch. */
    const reluOutput = (tap: TapName | null, label: string, shape: number[]) =>
      (tap && materialise(tap) ? produce(tap) : this.alloc(label, shape));
    const done = (b: GPUBuffer) => this.releaseUnlessRetained(b, retain);

    const ablate = (tap: TapName, buffer: GPUBuffer) => {
      const a = ablations.get(tap);
      if (!a) return;
      const shape = shapeOf(tap);
      const channels = shape[1];
      const mask = new Uint32Array(channels);
      const value = new Float32Array(channels);
      a.channels.forEach((c, i) => {
        if (!Number.isInteger(c) || c < 0 || c >= channels) throw new Error(`ablation of '${tap}': channel ${c} is out of range 0..${channels - 1}`);
        mask[c] = 1;
        value[c] = a.values?.[i] ?? 0;
      });
      const maskBuffer = this.ctx.createStorageBuffer(`${tap} ablation mask`, mask);
      const valueBuffer = this.ctx.createStorageBuffer(`${tap} ablation values`, value);
      this.uniforms.push(maskBuffer, valueBuffer);
      this.push(channelReplaceDispatch(this.ctx, { batch, channels, spatial: shape[2] * shape[3] },
        { x: buffer, mask: maskBuffer, value: valueBuffer }, `ablate ${tap}`));
    };

    /**
     * Convolution with its BatchNorm as epilogue, producing tap `bnTap`. With `relu`, also the ReLU:
     * fused into the epilogue unless the pre-ReLU tap is materialised. Returns the last output.
     */
    const convBn = (spec: ConvSpec, input: GPUBuffer, inShape: number[], bnTap: TapName,
      relu: { tap: TapName | null; label: string } | null): GPUBuffer => {
      const w = weights.conv(spec);
      const shape: Conv2dShape = {
        batch, inChannels: spec.inChannels, inHeight: inShape[2], inWidth: inShape[3],
        outChannels: spec.outChannels, kernel: spec.kernel, stride: spec.stride, padding: spec.padding,
      };
      const outShape = shapeOf(bnTap);
      const conv = (output: GPUBuffer, fuseRelu: boolean, label: string) => this.pushConv(shape,
        { input, weights: w.weights, scale: w.scale, shift: w.shift, output }, fuseRelu, weights.precision, label);
      if (relu && !materialise(bnTap)) {
        const post = reluOutput(relu.tap, relu.label, outShape);
        conv(post, true, `${spec.conv}+${spec.bn}+relu`);
        if (relu.tap) ablate(relu.tap, post);
        return post;
      }
      const pre = produce(bnTap);
      conv(pre, false, `${spec.conv}+${spec.bn}`);
      ablate(bnTap, pre);
      if (!relu) return pre;
      const post = reluOutput(relu.tap, relu.label, outShape);
      this.push(reluDispatch(this.ctx, count(outShape), pre, post, relu.label));
      if (relu.tap) ablate(relu.tap, post);
      done(pre);
      return post;
    };

    // ---- Stem: conv1 -> bn1 -> relu -> maxpool
    let x = this.input;
    let xShape = shapeOf('input');
    if (lastStage >= -1) {
      const stemShape = shapeOf('conv1');
      if (materialise('conv1')) {
        // The raw convolution (a unit epilogue), then the separate batchnorm kernel.
        const raw = weights.stemRaw!;
        const conv1 = produce('conv1');
        this.pushConv({
          batch, inChannels: 3, inHeight: height, inWidth: width, outChannels: 64, kernel: 7, stride: 2, padding: 3,
        }, { input: this.input, weights: weights.conv(STEM).weights, scale: raw.unitScale, shift: raw.zeroShift, output: conv1 },
        false, weights.precision, 'conv1 (raw)');
        ablate('conv1', conv1);
        const fuseRelu = !materialise('bn1');
        const bn = fuseRelu ? reluOutput('relu', 'relu', stemShape) : produce('bn1');
        this.push(batchnormDispatch(this.ctx, { batch, channels: 64, spatial: stemShape[2] * stemShape[3] },
          { x: conv1, mean: raw.mean, variance: raw.variance, gamma: raw.gamma, beta: raw.beta, y: bn },
          { relu: fuseRelu }, fuseRelu ? 'bn1+relu' : 'bn1'));
        done(conv1);
        if (fuseRelu) {
          x = bn;
        } else {
          ablate('bn1', bn);
          x = reluOutput('relu', 'relu', stemShape);
          this.push(reluDispatch(this.ctx, count(stemShape), bn, x, 'relu'));
          done(bn);
        }
        ablate('relu', x);
      } else {
        x = convBn(STEM, this.input, xShape, 'bn1', { tap: 'relu', label: 'relu' });
      }
      xShape = stemShape;
      if (lastStage >= 0 || materialise('maxpool')) {
        const pooled = produce('maxpool');
        this.push(maxpool2dDispatch(this.ctx, {
          batch, channels: 64, inHeight: stemShape[2], inWidth: stemShape[3], kernel: 3, stride: 2, padding: 1,
        }, x, pooled, 'maxpool'));
        done(x);
        ablate('maxpool', pooled);
        x = pooled;
        xShape = shapeOf('maxpool');
      }
    }

    // ---- Blocks: out = relu(skip + bn2(conv2(relu(bn1(conv1(x)))))), skip = x or downsample(x)
    BLOCKS.forEach((block: BlockSpec, i: number) => {
      if (i > lastStage) return;
      const outShape = shapeOf(block.name);
      const h = convBn(block.conv1, x, xShape, `${block.name}.bn1`, { tap: null, label: `${block.name} relu(bn1)` });
      const branch = convBn(block.conv2, h, outShape, `${block.name}.bn2`, null);
      done(h);
      const skip = block.downsample ? convBn(block.downsample, x, xShape, `${block.name}.downsample.1`, null) : x;
      // `skip` aliases the block input or downsample.1: it is read back from that buffer.
      buffers.set(`${block.name}.skip`, skip);
      if (wanted.has(`${block.name}.skip`)) retain.add(skip);
      if (ablations.has(`${block.name}.skip`)) {
        throw new Error(`ablate '${block.name}.skip' through the tap it aliases (the block input or downsample.1)`);
      }
      let out: GPUBuffer;
      if (materialise(`${block.name}.sum`)) {
        const sum = produce(`${block.name}.sum`);
        this.push(addDispatch(this.ctx, count(outShape), skip, branch, sum, { relu: false }, `${block.name} add`));
        ablate(`${block.name}.sum`, sum);
        out = reluOutput(block.name, block.name, outShape);
        this.push(reluDispatch(this.ctx, count(outShape), sum, out, `${block.name} relu`));
        done(sum);
      } else {
        out = reluOutput(block.name, block.name, outShape);
        this.push(addDispatch(this.ctx, count(outShape), skip, branch, out, { relu: true }, `${block.name} add+relu`));
      }
      ablate(block.name, out);
      done(branch);
      if (skip !== x) done(skip);
      done(x);
      x = out;
      xShape = outShape;
    });

    // ---- Head: global average pool, then the classifier
    if (lastStage >= BLOCKS.length) {
      const pooled = produce('avgpool');
      this.push(globalAvgPoolDispatch(this.ctx, { batch, channels: FEATURE_WIDTH, height: xShape[2], width: xShape[3] }, x, pooled, 'avgpool'));
      done(x);
      if (wanted.has('fc')) {
        const logits = produce('fc');
        this.push(linearDispatch(this.ctx, { batch, inFeatures: FEATURE_WIDTH, outFeatures: NUM_CLASSES },
          { x: pooled, weight: weights.fc!.weight, bias: weights.fc!.bias, y: logits }, 'fc'));
        done(pooled);
      }
    }

    for (const tap of key.taps) {
      const buffer = buffers.get(tap);
      if (!buffer) throw new Error(`internal: tap '${tap}' was not planned`);
      const shape = shapeOf(tap);
      this.outputs.push({ tap, buffer, shape, byteLength: count(shape) * 4 });
    }
  }

  private push(d: Dispatch): void {
    this.dispatches.push(d);
  }

  /** One convolution: conv2dDispatch, or the gemm kernel's one or two dispatches where chosen. */
  private pushConv(shape: Conv2dShape, buffers: { input: GPUBuffer; weights: GPUBuffer; scale: GPUBuffer; shift: GPUBuffer; output: GPUBuffer },
    relu: boolean, precision: 'f32' | 'f16', label: string): void {
    // f16 weights are read by conv2dDispatch's f16 path only.
    if (conv2dVariant(this.ctx) !== 'gemm' || precision === 'f16') {
      this.push(conv2dDispatch(this.ctx, shape, buffers, { relu }, label));
      return;
    }
    // A split-K scratch is needed only while this convolution runs: back to the free list at once.
    const scratchBytes = gemmScratchBytes(shape);
    const scratch = scratchBytes ? this.alloc(`${label} split-K scratch`, [scratchBytes / 4]) : undefined;
    for (const d of conv2dGemmDispatches(this.ctx, shape, { ...buffers, scratch }, { relu }, `${label} (gemm)`)) this.push(d);
    if (scratch) this.free.push(scratch);
  }

  /**
   * A buffer for one activation. Buffers whose last reader has been planned are reused by later
   * layers of this same plan (dispatches in one pass run in order, so that is safe); they go back
   * to the shared pool only on dispose, so two live plans never share a buffer.
   */
  private alloc(label: string, shape: number[]): GPUBuffer {
    const bytes = Math.max(256, Math.ceil((count(shape) * 4) / 256) * 256);
    const reusable = this.free.findIndex((b) => b.size === bytes);
    let b: GPUBuffer;
    if (reusable >= 0) {
      b = this.free.splice(reusable, 1)[0];
      b.label = `${b.label} / ${label}`;
    } else {
      b = this.ctx.acquire(label, bytes);
      this.owned.push(b);
      this.activationBytes += b.size;
    }
    return b;
  }

  private releaseUnlessRetained(b: GPUBuffer, retain: Set<GPUBuffer>): void {
    if (!retain.has(b) && !this.free.includes(b)) this.free.push(b);
  }

  dispose(): void {
    for (const b of this.owned) this.ctx.release(b);
    this.owned.length = 0;
    this.free.length = 0;
    for (const u of this.uniforms) u.destroy();
    this.uniforms.length = 0;
    this.readbackSlot.destroy();
  }
}

function count(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
