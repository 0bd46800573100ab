// torch.optim.Adam's update as a kernel over a flat parameter array. See shaders/adam.wgsl.

import source from '../../shaders/adam.wgsl';
import { type Dispatch, type GpuContext, grid1d, writeBuffer } from '../gpu/context';

export interface AdamSettings {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

/** torch.optim.Adam's defaults, with Lucent's learning rate 0.05. */
export const LUCENT_ADAM: AdamSettings = { lr: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/** The uniform words of step t (1-based), with PyTorch's float64 bias corrections. */
export function adamStepWords(count: number, s: AdamSettings, step: number): Float32Array {
  const raw = new ArrayBuffer(32);
  new Uint32Array(raw, 0, 1)[0] = count;
  const f = new Float32Array(raw, 4, 6);
  f[0] = 1 - s.beta1;
  f[1] = s.beta2;
  f[2] = 1 - s.beta2;
  f[3] = s.eps;
  f[4] = s.lr / (1 - s.beta1 ** step);
  f[5] = Math.sqrt(1 - s.beta2 ** step);
  return new Float32Array(raw);
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
    this.params = ctx.device.createBuffer({ label: `${label} params`, size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.setStep(1);
    const pipeline = ctx.pipelines.get('adam', source);
    this.dispatch = {
      label, pipeline,
      bindGroup: ctx.bindGroup(label, pipeline, [this.params, grad, param, this.m, this.v]),
      workgroups: grid1d(count, 256),
    };
  }

  setStep(step: number): void {
    writeBuffer(this.ctx.device, this.params, adamStepWords(this.count, this.settings, step));
  }

  dispose(): void {
    this.m.destroy();
    this.v.destroy();
    this.params.destroy();
  }
}
