// The forward plan: a schedule (planner.ts) turned into prepared dispatches over pooled buffers. A
// plan is built once and replayed; every run is one compute pass, the tap copies and one
// submission. What runs, in which order, fused how and with which kernel is the schedule's
// decision; this file only binds its tensors to buffers and its steps to kernels.

import { type Dispatch, type GpuContext, ReadbackSlot } from '../gpu/context';
import { addDispatch } from '../kernels/add';
import { batchnormDispatch } from '../kernels/batchnorm';
import { channelReplaceDispatch } from '../kernels/channel-replace';
import { type Conv2dShape, conv2dDispatch } from '../kernels/conv2d';
import { type Conv2dPrecision, type Conv2dRun, isWinogradVariant, readsPaddedInput, winogradTileOf } from '../kernels/conv2d-variants';
import { conv2dGemmDispatches } from '../kernels/conv2d-gemm';
import { conv2dWinogradDispatches } from '../kernels/conv2d-winograd';
import { groupedConv2dDispatch } from '../kernels/conv2d-grouped';
import { globalAvgPoolDispatch } from '../kernels/global-avgpool';
import { linearDispatch } from '../kernels/linear';
import { maxpool2dDispatch } from '../kernels/maxpool2d';
import { reluDispatch } from '../kernels/relu';
import { zeroPadDispatch } from '../kernels/zero-pad';
import { elementCount } from '../util/tensor';
import type { TapName } from './architecture';
import type { NetworkWeights } from './gpu-weights';
import type { ForwardSchedule, ForwardStep } from './planner';

export interface TapBuffer {
  tap: TapName;
  buffer: GPUBuffer;
  shape: number[];
  byteLength: number;
}

/**
 * The dispatches of one convolution by the kernel its step names: the forward's, and the kernel
 * tuner's (tune.ts), which times the candidates exactly as a forward runs them.
 */
export function convStepDispatches(
  ctx: GpuContext,
  shape: Conv2dShape & { groups: number },
  buffers: { input: GPUBuffer; weights: GPUBuffer; scale: GPUBuffer; shift: GPUBuffer; output: GPUBuffer; scratch?: GPUBuffer; products?: GPUBuffer;
    /** The step's post-ReLU output when it keeps both (ReluOptions.reluOutput). */
    reluOutput?: GPUBuffer;
    /** Scratch for the input zero-padded, which 'direct' then reads (ForwardStep paddedInput). */
    paddedInput?: GPUBuffer },
  step: { variant: Conv2dRun; relu: boolean; precision: Conv2dPrecision },
  label: string,
): Dispatch | Dispatch[] {
  const { groups, ...dense } = shape;
  const relu = { relu: step.relu, reluOutput: buffers.reluOutput };
  if (step.variant === 'grouped') return groupedConv2dDispatch(ctx, shape, buffers, relu, label);
  if (step.variant === 'gemm') return conv2dGemmDispatches(ctx, dense, buffers, relu, `${label} (gemm)`);
  // 'winograd' and 'winograd4' read U (NetworkWeights.winograd) where the others read the packed filter.
  if (isWinogradVariant(step.variant)) {
    return conv2dWinogradDispatches(ctx, dense, buffers, { ...relu, tile: winogradTileOf(step.variant) }, `${label} (${step.variant})`);
  }
  const options = { ...relu, variant: step.variant, precision: step.precision };
  if (buffers.paddedInput && readsPaddedInput(step.variant, dense)) {
    const pad = { planes: dense.batch * dense.inChannels, height: dense.inHeight, width: dense.inWidth, pad: dense.padding };
    return [
      zeroPadDispatch(ctx, pad, { input: buffers.input, output: buffers.paddedInput }, `${label} (zero pad)`),
      conv2dDispatch(ctx, dense, { ...buffers, input: buffers.paddedInput }, { ...options, paddedInput: true }, label),
    ];
  }
  return conv2dDispatch(ctx, dense, buffers, options, label);
}

/** A compiled forward: dispatches, the input buffer and the buffers holding each requested tap. */
export class ForwardPlan {
  readonly dispatches: Dispatch[] = [];
  readonly input: GPUBuffer;
  readonly outputs: TapBuffer[] = [];
  /** The staging buffer and learned GPU time of this plan's readbacks (pass to ctx.readback). */
  readonly readbackSlot = new ReadbackSlot();
  private readonly owned: GPUBuffer[] = [];
  private readonly uniforms: GPUBuffer[] = [];
  /** Bytes of activation buffers this plan holds (input, taps and reused scratch). */
  readonly activationBytes: number;
  /**
   * The plan's buffers that hold no read-back tap and not the input: free once a run's dispatches
   * have run, so later work of the same pass may use them as scratch (the backward pass does).
   */
  readonly freeAfterRun: GPUBuffer[];

  constructor(private readonly ctx: GpuContext, weights: NetworkWeights, readonly schedule: ForwardSchedule) {
    // One pooled buffer per schedule buffer, labelled with every tensor it holds in turn. They go
    // back to the shared pool only on dispose, so two live plans never share a buffer.
    const labels = schedule.buffers.map(() => [] as string[]);
    for (const t of schedule.tensors) labels[t.buffer].push(t.name);
    const buffers = schedule.buffers.map((bytes, i) => ctx.acquire(labels[i].join(' / '), bytes));
    this.owned.push(...buffers);
    this.activationBytes = buffers.reduce((sum, b) => sum + b.size, 0);
    const kept = new Set(schedule.tensors.filter((t) => t.retained).map((t) => t.buffer));
    this.freeAfterRun = buffers.filter((_, i) => !kept.has(i));
    const bufferOf = (tensor: number) => buffers[schedule.tensors[tensor].buffer];
    this.input = bufferOf(schedule.input);
    for (const step of schedule.steps) this.dispatches.push(...[this.dispatch(step, weights, bufferOf)].flat());
    for (const { tap, tensor } of schedule.outputs) {
      const shape = schedule.tensors[tensor].shape;
      this.outputs.push({ tap, buffer: bufferOf(tensor), shape, byteLength: elementCount(shape) * 4 });
    }
  }

  private dispatch(step: ForwardStep, weights: NetworkWeights, bufferOf: (tensor: number) => GPUBuffer): Dispatch | Dispatch[] {
    const { ctx, schedule } = this;
    const { batch } = schedule;
    const shapeOf = (tensor: number) => schedule.tensors[tensor].shape;
    /** The buffer of a step's optional tensor (scratch, products, a second ReLU output). */
    const optionalBuffer = (tensor: number | undefined) => (tensor === undefined ? undefined : bufferOf(tensor));
    switch (step.op) {
      case 'conv': {
        const spec = step.conv;
        const [, , inHeight, inWidth] = shapeOf(step.input);
        const w = weights.conv(spec);
        const epilogue = step.epilogue === 'batchnorm'
          ? { scale: w.scale, shift: w.shift }
          : { scale: weights.rawBatchnorm(spec).unitScale, shift: weights.rawBatchnorm(spec).zeroShift };
        const shape = {
          batch, inChannels: spec.inChannels, inHeight, inWidth,
          outChannels: spec.outChannels, kernel: spec.kernel, stride: spec.stride, padding: spec.padding,
        };
        const filter = isWinogradVariant(step.variant) ? weights.winograd(spec, winogradTileOf(step.variant)) : weights.filter(spec, step.precision);
        const buffers = { input: bufferOf(step.input), weights: filter, ...epilogue, output: bufferOf(step.output) };
        const optional = {
          scratch: optionalBuffer(step.scratch), products: optionalBuffer(step.products), reluOutput: optionalBuffer(step.reluOutput),
          paddedInput: optionalBuffer(step.paddedInput),
        };
        return convStepDispatches(ctx, { ...shape, groups: spec.groups ?? 1 }, { ...buffers, ...optional }, step, step.label);
      }
      case 'batchnorm': {
        const [, channels, h, w] = shapeOf(step.input);
        const raw = weights.rawBatchnorm(step.conv);
        return batchnormDispatch(ctx, { batch, channels, spatial: h * w },
          { x: bufferOf(step.input), mean: raw.mean, variance: raw.variance, gamma: raw.gamma, beta: raw.beta, y: bufferOf(step.output) },
          { relu: step.relu, reluOutput: optionalBuffer(step.reluOutput) }, step.label);
      }
      case 'relu':
        return reluDispatch(ctx, elementCount(shapeOf(step.input)), bufferOf(step.input), bufferOf(step.output), step.label);
      case 'maxpool': {
        const [, channels, inHeight, inWidth] = shapeOf(step.input);
        return maxpool2dDispatch(ctx, { batch, channels, inHeight, inWidth, ...step.pool }, bufferOf(step.input), bufferOf(step.output), step.label);
      }
      case 'add':
        return addDispatch(ctx, elementCount(shapeOf(step.output)), bufferOf(step.a), bufferOf(step.b), bufferOf(step.output),
          { relu: step.relu, reluOutput: optionalBuffer(step.reluOutput) }, step.label);
      case 'avgpool': {
        const [, channels, height, width] = shapeOf(step.input);
        return globalAvgPoolDispatch(ctx, { batch, channels, height, width }, bufferOf(step.input), bufferOf(step.output), step.label);
      }
      case 'linear': {
        const fc = weights.classifier();
        const [, inFeatures] = shapeOf(step.input);
        const [, outFeatures] = shapeOf(step.output);
        return linearDispatch(ctx, { batch, inFeatures, outFeatures },
          { x: bufferOf(step.input), weight: fc.weight, bias: fc.bias, y: bufferOf(step.output) }, step.label);
      }
      case 'ablate': {
        const [, channels, h, w] = shapeOf(step.tensor);
        const mask = new Uint32Array(channels);
        const value = new Float32Array(channels);
        step.channels.forEach((c, i) => {
          mask[c] = 1;
          value[c] = step.values[i];
        });
        const maskBuffer = ctx.createStorageBuffer(`${step.tap} ablation mask`, mask);
        const valueBuffer = ctx.createStorageBuffer(`${step.tap} ablation values`, value);
        this.uniforms.push(maskBuffer, valueBuffer);
        return channelReplaceDispatch(ctx, { batch, channels, spatial: h * w },
          { x: bufferOf(step.tensor), mask: maskBuffer, value: valueBuffer }, step.label);
      }
    }
  }

  dispose(): void {
    for (const b of this.owned) this.ctx.release(b);
    this.owned.length = 0;
    for (const u of this.uniforms) u.destroy();
    this.uniforms.length = 0;
    this.readbackSlot.destroy();
  }
}
