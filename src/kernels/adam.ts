// torch.optim.Adam's update as a kernel over a flat parameter array. See shaders/adam.wgsl.

import source from '../../shaders/adam.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';

export interface AdamSettings {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

/** torch.optim.Adam's defaults, with Lucent's learning rate 0.05. */
export const LUCENT_ADAM: AdamSettings = { lr: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

const WORKGROUP_SIZE = 256;
const ADAM_PARAMS = uniforms('Params', {
  count: 'u32', oneMinusBeta1: 'f32', beta2: 'f32', oneMinusBeta2: 'f32', eps: 'f32', stepSize: 'f32', correction2Sqrt: 'f32',
});
const ADAM = kernel('adam', ADAM_PARAMS, source);

/** The uniform values of step t (1-based), with PyTorch's float64 bias corrections. */
export function adamStepParams(count: number, s: AdamSettings, step: number) {
  return {
    count, oneMinusBeta1: 1 - s.beta1, beta2: s.beta2, oneMinusBeta2: 1 - s.beta2, eps: s.eps,
    stepSize: s.lr / (1 - s.beta1 ** step), correction2Sqrt: Math.sqrt(1 - s.beta2 ** step),
  };
}

/**
 * A prepared Adam update of `param` from `grad`, with its moment buffers (zeroed). Call
 * `setStep(t)` before submitting the dispatch for step t.
 */
export class AdamOptimizer {
  readonly m: GPUBuffer;
  readonly v: GPUBuffer;
  readonly dispatch: Dispatch;
  private readonly params: GPUBuffer;

  constructor(private readonly ctx: GpuContext, readonly count: number, param: GPUBuffer, grad: GPUBuffer,
    readonly settings: AdamSettings = LUCENT_ADAM, label = 'adam') {
    this.m = ctx.createStorageBuffer(`${label} exp_avg`, new Float32Array(count));
    this.v = ctx.createStorageBuffer(`${label} exp_avg_sq`, new Float32Array(count));
    // One params buffer, rewritten before each step (the dispatch is prepared once).
    this.params = ctx.createUniformBuffer(`${label} params`, ADAM_PARAMS, adamStepParams(count, settings, 1));
    const pipeline = ctx.pipelines.get(ADAM, { WG: WORKGROUP_SIZE });
    this.dispatch = {
      label, pipeline,
      bindGroup: ctx.bindGroup(label, pipeline, [this.params, grad, param, this.m, this.v]),
      workgroups: grid1d(count, WORKGROUP_SIZE),
    };
  }

  setStep(step: number): void {
    this.ctx.device.queue.writeBuffer(this.params, 0, ADAM_PARAMS.pack(adamStepParams(this.count, this.settings, step)));
  }

  dispose(): void {
    this.m.destroy();
    this.v.destroy();
    this.params.destroy();
  }
}
