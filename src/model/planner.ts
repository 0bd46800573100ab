// The forward planner: from a request (the architecture, what the weights can compute, batch, input
// size, taps, ablations, precision and kernel choices) to a schedule of tensors and steps. Pure: no
// GPU, no buffers. ForwardPlan (forward.ts) turns a schedule into dispatches over pooled buffers;
// the engine's memory estimate is the sum of the schedule's tensors; validateForwardRequest is the
// one check of a request.
//
// Fusion rules (every tap stays exact): a conv's BatchNorm is always its epilogue; its ReLU is fused
// too. When the pre-ReLU tap is wanted, the same step writes both tensors, before and after the
// ReLU (`reluOutput`); only an ablation of the pre-ReLU tap, which must land before the ReLU, makes
// a separate ReLU step. The residual add fuses the final ReLU the same way when `sum` is wanted. The
// raw `conv1` tap (before BN) runs the stem convolution with a unit epilogue followed by the
// separate batchnorm kernel (with the ReLU, or both outputs, as above). A tensor is
// materialised (its own buffer, no fusion across it) only if read back or ablated, and stages after
// the last requested tap are not planned (a layer1 tap never runs layer2..4).
//
// Buffers: a tensor lives from the step that writes it to the last step that reads it; after that
// its buffer serves a later tensor of the same pooled size (steps of one compute pass run in order,
// so that is safe). Tensors read back, and the input, keep their buffers.

import {
  type Architecture, type BlockSpec, type ConvSpec, MIN_INPUT_SIZE, type PoolSpec, RESNET18, type TapName,
  allTapNames, outputSize2d, stageTensors, tapShape, tapStage,
} from './architecture';
import type { AdapterDescription } from '../gpu/context';
import {
  type Conv2dPrecision, type Conv2dRun, type Conv2dVariant, conv2dVariantFor, conv2dVariantRun, convShapeKey, gemmScratchBytes, paddedInputFor, readsPaddedInput, winogradStride2For, isWinogradVariant, winogradScratchBytes, winogradTileOf,
} from '../kernels/conv2d-variants';
import { elementCount, pooledBytes } from '../util/tensor';

/** Replace chosen channels of a tap during the forward: with zero, or with given values (e.g. means). */
export interface Ablation {
  tap: TapName;
  channels: number[];
  /** One value per listed channel; omitted = zero-ablation. */
  values?: number[];
}

/** The kernel of each layer: explicit inputs of the planner, so a plan never looks a choice up. */
export interface KernelChoices {
  /** The conv2d variant of every convolution not named in `layers`. */
  conv2d: Conv2dVariant;
  /** Per-convolution choices, by module path ('layer3.1.conv2'). */
  layers?: Readonly<Record<string, Conv2dVariant>>;
  /** Choices by convolution geometry (tune.ts convShapeKey), as a measured KernelTable gives them; `layers` wins. */
  shapes?: Readonly<Record<string, Conv2dVariant>>;
  /**
   * 'direct' convolutions with padding first copy their input, zero-padded, into scratch and read
   * it without bounds checks (the same bits). Default false; engines set paddedInputFor(adapter)
   * (SwiftShader).
   */
  paddedInput?: boolean;
  /**
   * Where `conv2d` is 'winograd4' or 'winograd-mixed', its 3x3 stride-2 padding-1 convolutions run
   * F(4x4, 3x3)'s stride-2 form too (else 'direct'; a `layers` or `shapes` choice of 'winograd4'
   * always does). Default false; engines set winogradStride2For(adapter) (compatibility mode).
   */
  winogradStride2?: boolean;
}

/** Every convolution with the variant measured fastest on this adapter class (conv2dVariantFor). */
export function defaultKernels(adapter: AdapterDescription): KernelChoices {
  return { conv2d: conv2dVariantFor(adapter), paddedInput: paddedInputFor(adapter), winogradStride2: winogradStride2For(adapter) };
}

export interface ForwardRequest {
  /** Default RESNET18. */
  architecture?: Architecture;
  /** State-dict tensors the weights lack: taps that need them are refused (MissingWeightsError). */
  missing?: ReadonlySet<string>;
  batch: number;
  height: number;
  width: number;
  /** Taps to read back, in the order the outputs are wanted. */
  taps: TapName[];
  ablations?: Ablation[];
  /** 'f16': every convolution reads the weights' f16 form. Default 'f32'. */
  precision?: Conv2dPrecision;
  kernels: KernelChoices;
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

export function computability(missing: ReadonlySet<string>, arch: Architecture = RESNET18): Computability {
  const blocks = arch.blocks;
  // Stages run in order: the stem (-1), the blocks, then the head. The first stage with a missing
  // tensor stops it and everything after it (avgpool needs only the last block, not fc).
  let firstBroken = Infinity;
  let missingTensors: string[] = [];
  for (let stage = -1; stage <= blocks.length; stage++) {
    const lacking = stageTensors(stage, arch).filter((n) => missing.has(n));
    if (lacking.length) {
      firstBroken = stage;
      missingTensors = lacking;
      break;
    }
  }
  const computable: TapName[] = [];
  const notComputable: TapName[] = [];
  for (const tap of allTapNames(arch)) {
    const stage = tap === 'avgpool' ? blocks.length - 1 : tapStage(tap, arch);
    (stage < firstBroken ? computable : notComputable).push(tap);
  }
  const lastComputable = firstBroken === Infinity ? 'fc'
    : firstBroken === -1 ? 'input'
    : firstBroken === 0 ? 'stem'
    : firstBroken === blocks.length ? 'avgpool'
    : blocks[firstBroken - 1].name;
  return { computable, notComputable, missingTensors, lastComputable };
}

/** Taps that cannot be ablated: the input, and the head's vectors. */
const NOT_ABLATABLE: readonly TapName[] = ['input', 'fc', 'avgpool'];

/**
 * The one check of a forward request, before any planning or GPU work: batch, input size, tap
 * names, ablations (tap, channels, values), then whether the weights reach every tap involved.
 * Throws one line naming what is wrong.
 */
export function validateForwardRequest(r: ForwardRequest): void {
  const arch = r.architecture ?? RESNET18;
  const { batch, height, width, taps } = r;
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch must be a positive integer, got ${batch}`);
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < MIN_INPUT_SIZE || width < MIN_INPUT_SIZE) {
    throw new Error(`input must be at least ${MIN_INPUT_SIZE}x${MIN_INPUT_SIZE} (integer height and width), got ${height}x${width}`);
  }
  if (!Array.isArray(taps) || taps.length === 0) throw new Error('taps must name at least one tap (e.g. [\'fc\'])');
  for (const t of taps) tapShape(t, batch, height, width, arch); // throws on an unknown name, listing the valid ones
  for (const a of r.ablations ?? []) {
    const shape = tapShape(a.tap, batch, height, width, arch);
    if (NOT_ABLATABLE.includes(a.tap)) throw new Error(`ablation of '${a.tap}' is not supported (ablate a convolutional tap)`);
    if (a.tap.endsWith('.skip')) throw new Error(`ablate '${a.tap}' through the tap it aliases (the block input or downsample.1)`);
    for (const c of a.channels) {
      if (!Number.isInteger(c) || c < 0 || c >= shape[1]) throw new Error(`ablation of '${a.tap}': channel ${c} is out of range 0..${shape[1] - 1}`);
    }
    if (a.values && a.values.length !== a.channels.length) {
      throw new Error(`ablation of '${a.tap}': ${a.values.length} values for ${a.channels.length} channels`);
    }
  }
  if (r.missing?.size) {
    const status = computability(r.missing, arch);
    const involved = [...new Set(taps), ...new Set((r.ablations ?? []).map((a) => a.tap))];
    const blocked = involved.filter((t) => status.notComputable.includes(t));
    if (blocked.length) throw new MissingWeightsError(blocked, status.missingTensors, status.lastComputable);
  }
}

// ---------------------------------------------------------------------------------------------
// The schedule

/** One tensor of a forward: a tap's values, or unnamed scratch (a block's inner ReLU output). */
export interface ScheduledTensor {
  id: number;
  /** The tap it holds, or a label for scratch ('layer1.0 relu(bn1)'). */
  name: string;
  shape: number[];
  /** Its pooled buffer size (pooledBytes). */
  bytes: number;
  /** Read back by the caller: its buffer is never reused. */
  retained: boolean;
  /** Index into ForwardSchedule.buffers. */
  buffer: number;
}

/** Where a convolution's per-channel epilogue comes from: its folded BatchNorm, or none (raw conv1). */
export type ConvEpilogue = 'batchnorm' | 'identity';

/**
 * `reluOutput` (conv, batchnorm, add): the step writes its result before the ReLU to `output` and
 * max(., 0) of it to this tensor, both taps in one pass (with `relu` false).
 */
export type ForwardStep = { label: string } & (
  /**
   * `scratch`: the split-K partial sums of a 'gemm' convolution that splits (gemmScratchBytes), or
   * the transformed input of a 'winograd' one; `products`: a 'winograd' convolution's products
   * (winogradScratchBytes); `paddedInput`: the input zero-padded, which a 'direct' convolution
   * reads (KernelChoices.paddedInput).
   */
  | { op: 'conv'; conv: ConvSpec; input: number; output: number; epilogue: ConvEpilogue; relu: boolean; reluOutput?: number; variant: Conv2dRun;
    precision: Conv2dPrecision; scratch?: number; products?: number; paddedInput?: number }
  /** The stand-alone BatchNorm of `conv` (its raw parameters), optionally with ReLU. */
  | { op: 'batchnorm'; conv: ConvSpec; input: number; output: number; relu: boolean; reluOutput?: number }
  | { op: 'relu'; input: number; output: number }
  | { op: 'maxpool'; pool: PoolSpec; input: number; output: number }
  /** output = a + b (a: the skip, b: the branch), optionally with ReLU. */
  | { op: 'add'; a: number; b: number; output: number; relu: boolean; reluOutput?: number }
  | { op: 'avgpool'; input: number; output: number }
  | { op: 'linear'; input: number; output: number }
  /** In place: the ablated channels of `tensor` take their replacement values. */
  | { op: 'ablate'; tensor: number; tap: TapName; channels: number[]; values: number[] }
);

export interface ForwardSchedule {
  architecture: Architecture;
  batch: number;
  height: number;
  width: number;
  taps: TapName[];
  ablations: Ablation[];
  tensors: ScheduledTensor[];
  steps: ForwardStep[];
  /** The tensor of the network input (tensor 0). */
  input: number;
  /** Each requested tap and the tensor holding it, in request order ('skip' aliases another tensor). */
  outputs: { tap: TapName; tensor: number }[];
  /** Pooled sizes of the buffers the tensors share. */
  buffers: number[];
  /** The last stage planned: -2 input only, -1 the stem, a block index, blocks.length the head. */
  lastStage: number;
}

/** planForward: validate the request, then schedule it. */
export function planForward(request: ForwardRequest): ForwardSchedule {
  validateForwardRequest(request);
  return scheduleForward(request);
}

/** The schedule of a request validateForwardRequest accepts. */
export function scheduleForward(request: ForwardRequest): ForwardSchedule {
  const arch = request.architecture ?? RESNET18;
  const { batch, height, width, kernels } = request;
  const precision = request.precision ?? 'f32';
  const ablations = new Map((request.ablations ?? []).map((a) => [a.tap, a]));
  const wanted = new Set(request.taps);
  const lastStage = Math.max(-2, ...[...wanted, ...ablations.keys()].map((t) => tapStage(t, arch)));
  const materialise = (t: TapName) => wanted.has(t) || ablations.has(t);

  const tensors: ScheduledTensor[] = [];
  const steps: ForwardStep[] = [];
  const tapTensor = new Map<TapName, number>();
  const tensor = (name: string, shape: number[]): number => {
    const id = tensors.length;
    tensors.push({ id, name, shape, bytes: pooledBytes(elementCount(shape) * 4), retained: false, buffer: -1 });
    return id;
  };
  /** A tensor holding a tap (its name). */
  const produce = (tap: TapName, shape: number[]) => {
    const id = tensor(tap, shape);
    tapTensor.set(tap, id);
    return id;
  };
  /** A ReLU output: the named tap's tensor if it is materialised, else anonymous scratch. */
  const reluOutput = (tap: TapName | null, label: string, shape: number[]) =>
    (tap && materialise(tap) ? produce(tap, shape) : tensor(label, shape));
  const ablate = (tap: TapName, t: number) => {
    const a = ablations.get(tap);
    if (a) steps.push({ op: 'ablate', label: `ablate ${tap}`, tensor: t, tap, channels: a.channels, values: a.channels.map((_, i) => a.values?.[i] ?? 0) });
  };
  const convOutShape = (spec: ConvSpec, inShape: number[]) => [batch, spec.outChannels, ...outputSize2d([inShape[2], inShape[3]], spec)];
  const conv = (spec: ConvSpec, input: number, output: number, relu: boolean, epilogue: ConvEpilogue, label: string, reluOutput?: number) => {
    const [, , inHeight, inWidth] = tensors[input].shape;
    const geometry = { batch, inChannels: spec.inChannels, inHeight, inWidth, outChannels: spec.outChannels, kernel: spec.kernel, stride: spec.stride, padding: spec.padding };
    const named = kernels.layers?.[spec.conv] ?? (kernels.shapes ? kernels.shapes[convShapeKey(geometry)] : undefined);
    const chosen = named ?? kernels.conv2d;
    const variant = conv2dVariantRun(chosen, { ...geometry, groups: spec.groups }, precision, named !== undefined || (kernels.winogradStride2 ?? false));
    const winograd = isWinogradVariant(variant) ? winogradScratchBytes(geometry, winogradTileOf(variant)) : null;
    const scratchBytes = variant === 'gemm' ? gemmScratchBytes(geometry) : winograd?.input ?? 0;
    // The scratch lives for this one step: its buffer serves later tensors of the same size.
    const scratch = scratchBytes ? tensor(`${label} ${winograd ? 'Winograd input' : 'split-K'} scratch`, [scratchBytes / 4]) : undefined;
    const products = winograd ? tensor(`${label} Winograd products`, [winograd.products / 4]) : undefined;
    const paddedInput = kernels.paddedInput && readsPaddedInput(variant, spec)
      ? tensor(`${label} zero-padded input`, [batch, spec.inChannels, inHeight + 2 * spec.padding, inWidth + 2 * spec.padding])
      : undefined;
    // A grouped convolution reads its f32 filter whatever the precision (its kernel has no f16 form).
    const stepPrecision = variant === 'grouped' ? 'f32' : precision;
    steps.push({
      op: 'conv', label, conv: spec, input, output, epilogue, relu, variant, precision: stepPrecision,
      ...(reluOutput !== undefined ? { reluOutput } : {}),
      ...(scratch !== undefined ? { scratch } : {}), ...(products !== undefined ? { products } : {}),
      ...(paddedInput !== undefined ? { paddedInput } : {}),
    });
  };

  /**
   * Convolution with its BatchNorm as epilogue, producing tap `spec.bn`. With `relu`, also the ReLU:
   * fused into the epilogue, which writes both tensors when the pre-ReLU tap is materialised (a
   * separate ReLU step only when that tap is ablated). Returns the last output.
   */
  const convBn = (spec: ConvSpec, input: number, relu: { tap: TapName | null; label: string } | null): number => {
    const outShape = convOutShape(spec, tensors[input].shape);
    if (relu && !materialise(spec.bn)) {
      const post = reluOutput(relu.tap, relu.label, outShape);
      conv(spec, input, post, true, 'batchnorm', `${spec.conv}+${spec.bn}+relu`);
      if (relu.tap) ablate(relu.tap, post);
      return post;
    }
    const pre = produce(spec.bn, outShape);
    if (relu && !ablations.has(spec.bn)) {
      const post = reluOutput(relu.tap, relu.label, outShape);
      conv(spec, input, pre, false, 'batchnorm', `${spec.conv}+${spec.bn} & ${relu.label}`, post);
      if (relu.tap) ablate(relu.tap, post);
      return post;
    }
    conv(spec, input, pre, false, 'batchnorm', `${spec.conv}+${spec.bn}`);
    ablate(spec.bn, pre);
    if (!relu) return pre;
    const post = reluOutput(relu.tap, relu.label, outShape);
    steps.push({ op: 'relu', label: relu.label, input: pre, output: post });
    if (relu.tap) ablate(relu.tap, post);
    return post;
  };

  // ---- Input
  const input = produce('input', [batch, arch.stem.inChannels, height, width]);
  let x = input;

  // ---- Stem: conv1 -> bn1 -> relu -> maxpool
  if (lastStage >= -1) {
    const stem = arch.stem;
    if (materialise(stem.conv)) {
      // The raw convolution (a unit epilogue), then the separate batchnorm kernel.
      const raw = produce(stem.conv, convOutShape(stem, tensors[x].shape));
      conv(stem, x, raw, false, 'identity', `${stem.conv} (raw)`);
      ablate(stem.conv, raw);
      const fuseRelu = !materialise(stem.bn);
      const shape = tensors[raw].shape;
      const bn = fuseRelu ? reluOutput('relu', 'relu', shape) : produce(stem.bn, shape);
      if (fuseRelu) {
        steps.push({ op: 'batchnorm', label: `${stem.bn}+relu`, conv: stem, input: raw, output: bn, relu: true });
        x = bn;
      } else if (!ablations.has(stem.bn)) {
        // Both taps from one pass.
        x = reluOutput('relu', 'relu', shape);
        steps.push({ op: 'batchnorm', label: `${stem.bn} & relu`, conv: stem, input: raw, output: bn, relu: false, reluOutput: x });
      } else {
        steps.push({ op: 'batchnorm', label: stem.bn, conv: stem, input: raw, output: bn, relu: false });
        ablate(stem.bn, bn);
        x = reluOutput('relu', 'relu', shape);
        steps.push({ op: 'relu', label: 'relu', input: bn, output: x });
      }
      ablate('relu', x);
    } else {
      x = convBn(stem, x, { tap: 'relu', label: 'relu' });
    }
    if (lastStage >= 0 || materialise('maxpool')) {
      const s = tensors[x].shape;
      const pooled = produce('maxpool', [batch, s[1], ...outputSize2d([s[2], s[3]], arch.pool)]);
      steps.push({ op: 'maxpool', label: 'maxpool', pool: arch.pool, input: x, output: pooled });
      ablate('maxpool', pooled);
      x = pooled;
    }
  }

  // ---- Blocks: out = relu(skip + branch(x)), skip = x or downsample(x); the branch is its
  // convolutions in turn, each followed by ReLU but the last.
  arch.blocks.forEach((block: BlockSpec, i: number) => {
    if (i > lastStage) return;
    let h = x;
    block.branch.forEach((spec, k) => {
      const last = k === block.branch.length - 1;
      h = convBn(spec, h, last ? null : { tap: null, label: `${block.name} relu(${spec.bn.slice(block.name.length + 1)})` });
    });
    const skip = block.downsample ? convBn(block.downsample, x, null) : x;
    // `skip` aliases the block input or downsample.1: it is read back from that tensor.
    tapTensor.set(`${block.name}.skip`, skip);
    const shape = tensors[h].shape;
    let out: number;
    if (materialise(`${block.name}.sum`) && !ablations.has(`${block.name}.sum`)) {
      // The sum and the block output from one pass.
      const sum = produce(`${block.name}.sum`, shape);
      out = reluOutput(block.name, block.name, shape);
      steps.push({ op: 'add', label: `${block.name} add & relu`, a: skip, b: h, output: sum, relu: false, reluOutput: out });
    } else if (materialise(`${block.name}.sum`)) {
      const sum = produce(`${block.name}.sum`, shape);
      steps.push({ op: 'add', label: `${block.name} add`, a: skip, b: h, output: sum, relu: false });
      ablate(`${block.name}.sum`, sum);
      out = reluOutput(block.name, block.name, shape);
      steps.push({ op: 'relu', label: `${block.name} relu`, input: sum, output: out });
    } else {
      out = reluOutput(block.name, block.name, shape);
      steps.push({ op: 'add', label: `${block.name} add+relu`, a: skip, b: h, output: out, relu: true });
    }
    ablate(block.name, out);
    x = out;
  });

  // ---- Head: global average pool, then the classifier
  if (lastStage >= arch.blocks.length) {
    const pooled = produce('avgpool', [batch, arch.features]);
    steps.push({ op: 'avgpool', label: 'avgpool', input: x, output: pooled });
    if (wanted.has('fc')) {
      const logits = produce('fc', [batch, arch.classes]);
      steps.push({ op: 'linear', label: 'fc', input: pooled, output: logits });
    }
  }

  const outputs = request.taps.map((tap) => {
    const t = tapTensor.get(tap);
    if (t === undefined) throw new Error(`internal: tap '${tap}' was not planned`);
    tensors[t].retained = true;
    return { tap, tensor: t };
  });
  tensors[input].retained = true; // written by the caller before every run
  const buffers = assignBuffers(tensors, steps);
  return {
    architecture: arch, batch, height, width, taps: [...request.taps], ablations: [...ablations.values()],
    tensors, steps, input, outputs, buffers, lastStage,
  };
}

/** The tensors a step reads and writes. */
export function stepTensors(s: ForwardStep): { reads: number[]; writes: number[] } {
  const present = (...tensors: (number | undefined)[]) => tensors.filter((t): t is number => t !== undefined);
  switch (s.op) {
    case 'add': return { reads: [s.a, s.b], writes: [s.output, ...present(s.reluOutput)] };
    case 'ablate': return { reads: [s.tensor], writes: [s.tensor] };
    case 'conv': {
      const scratch = present(s.scratch, s.products, s.paddedInput);
      return { reads: [s.input, ...scratch], writes: [s.output, ...present(s.reluOutput), ...scratch] };
    }
    case 'batchnorm': return { reads: [s.input], writes: [s.output, ...present(s.reluOutput)] };
    default: return { reads: [s.input], writes: [s.output] };
  }
}

/**
 * Give every tensor a buffer: a new one, or a free one of the same pooled size (first freed,
 * first reused). A tensor's buffer is freed after the last step that reads it, unless it is
 * retained; a step's outputs are assigned before its inputs are freed, so no step writes a buffer
 * it reads from another tensor.
 */
function assignBuffers(tensors: ScheduledTensor[], steps: ForwardStep[]): number[] {
  const lastRead = new Map<number, number>();
  steps.forEach((s, i) => { for (const t of stepTensors(s).reads) lastRead.set(t, i); });
  const buffers: number[] = [];
  const free: number[] = [];
  const assign = (t: ScheduledTensor) => {
    if (t.buffer >= 0) return;
    const reuse = free.findIndex((b) => buffers[b] === t.bytes);
    if (reuse >= 0) {
      t.buffer = free.splice(reuse, 1)[0];
    } else {
      t.buffer = buffers.length;
      buffers.push(t.bytes);
    }
  };
  for (const t of tensors) if (t.retained && t.name === 'input') assign(t);
  steps.forEach((s, i) => {
    const { reads, writes } = stepTensors(s);
    for (const t of writes) assign(tensors[t]);
    for (const t of reads) {
      if (lastRead.get(t) === i && !tensors[t].retained && !free.includes(tensors[t].buffer)) free.push(tensors[t].buffer);
    }
  });
  for (const t of tensors) assign(t); // tensors no step touches (none today), for completeness
  return buffers;
}

// ---------------------------------------------------------------------------------------------
// Memory, from the schedule alone

/** What one forward will allocate, computed from shapes alone (no GPU work). */
export interface ScheduleMemory {
  /** Upper bound on the plan's activation buffers: every tensor of the schedule, none reused. */
  activationBytes: number;
  /** The readback staging buffer (every requested tap, 256-byte aligned). */
  readbackBytes: number;
  /** The largest single tensor (what storage-binding limits apply to). */
  largest: { tensor: string; bytes: number };
}

export function scheduleMemory(s: ForwardSchedule): ScheduleMemory {
  let activationBytes = 0;
  let largest = { tensor: 'input', bytes: 0 };
  for (const t of s.tensors) {
    activationBytes += t.bytes;
    if (t.bytes > largest.bytes) largest = { tensor: `${t.name} [${t.shape.join(', ')}]`, bytes: t.bytes };
  }
  const readbackBytes = s.outputs.reduce((sum, o) => sum + s.tensors[o.tensor].bytes, 0);
  return { activationBytes, readbackBytes, largest };
}
