// Inference BatchNorm (PyTorch's formula, eps = 1e-5), stand-alone, and the host-side fold of the
// same BatchNorm into a convolution's scale/shift epilogue. See shaders/batchnorm.wgsl.

import source from '../../shaders/batchnorm.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';
import { type ReluOptions, reluMode } from './relu';

const WORKGROUP_SIZE = 256;
const BATCHNORM = kernel('batchnorm', uniforms('Params', { count: 'u32', spatial: 'u32', channels: 'u32', eps: 'f32' }), source);
/** torch.nn.BatchNorm2d's default. */
export const BATCHNORM_EPS = 1e-5;

export interface BatchnormShape {
  batch: number;
  channels: number;
  /** H * W */
  spatial: number;
}

export interface BatchnormParams {
  mean: Float32Array;
  variance: Float32Array;
  gamma: Float32Array;
  beta: Float32Array;
}

/** y = act((x - mean) / sqrt(variance + eps) * gamma + beta), per channel of an NCHW tensor. */
export function batchnormDispatch(
  ctx: GpuContext,
  s: BatchnormShape,
  b: { x: GPUBuffer; mean: GPUBuffer; variance: GPUBuffer; gamma: GPUBuffer; beta: GPUBuffer; y: GPUBuffer },
  opts: ReluOptions & { eps?: number },
  label = `batchnorm${opts.relu ? ' relu' : ''}`,
): Dispatch {
  for (const key of ['batch', 'channels', 'spatial'] as const) {
    if (!Number.isInteger(s[key]) || s[key] < 1) throw new Error(`${label}: ${key} must be a positive integer, got ${s[key]}`);
  }
  const count = s.batch * s.channels * s.spatial;
  const { mode, yRelu } = reluMode(ctx, opts, label);
  return ctx.dispatch(label, BATCHNORM, {
    constants: { RELU: mode, WG: WORKGROUP_SIZE },
    params: { count, spatial: s.spatial, channels: s.channels, eps: opts.eps ?? BATCHNORM_EPS },
    buffers: [b.x, b.mean, b.variance, b.gamma, b.beta, b.y, yRelu], workgroups: grid1d(count, WORKGROUP_SIZE),
  });
}

/**
 * The same BatchNorm as a per-channel affine map for the conv epilogue: scale = gamma / sqrt(var + eps),
 * shift = beta - mean * scale (computed in float64, rounded once to float32).
 */
export function foldBatchnorm(p: BatchnormParams, eps = BATCHNORM_EPS): { scale: Float32Array; shift: Float32Array } {
  const c = p.mean.length;
  if (p.variance.length !== c || p.gamma.length !== c || p.beta.length !== c) {
    throw new Error(`foldBatchnorm: mean, variance, gamma, beta lengths differ (${c}, ${p.variance.length}, ${p.gamma.length}, ${p.beta.length})`);
  }
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    const s = p.gamma[i] / Math.sqrt(p.variance[i] + eps);
    scale[i] = s;
    shift[i] = p.beta[i] - p.mean[i] * s;
  }
  return { scale, shift };
}
