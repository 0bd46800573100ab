// 2D max pooling, PyTorch MaxPool2d semantics (padding never wins, floor mode). See shaders/maxpool2d.wgsl.

import source from '../../shaders/maxpool2d.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';

const WORKGROUP_SIZE = 256;
const MAXPOOL2D = kernel('maxpool2d', uniforms('Params', {
  inHeight: 'u32', inWidth: 'u32', outHeight: 'u32', outWidth: 'u32', kernel: 'u32', stride: 'u32', padding: 'i32', count: 'u32',
}), source);

export interface Maxpool2dShape {
  batch: number;
  channels: number;
  inHeight: number;
  inWidth: number;
  kernel: number;
  stride: number;
  padding: number;
}

function checkShape(s: Maxpool2dShape): void {
  for (const key of ['batch', 'channels', 'inHeight', 'inWidth', 'kernel', 'stride'] as const) {
    if (!Number.isInteger(s[key]) || s[key] < 1) throw new Error(`maxpool2d: ${key} must be a positive integer, got ${s[key]}`);
  }
  if (!Number.isInteger(s.padding) || s.padding < 0 || 2 * s.padding > s.kernel) {
    throw new Error(`maxpool2d: padding must be an integer in [0, kernel/2] (as torch.nn.MaxPool2d), got ${s.padding} for kernel ${s.kernel}`);
  }
}

/** [outHeight, outWidth] = floor((in + 2*padding - kernel) / stride) + 1 (ceil_mode=False). */
export function maxpool2dOutputSize(s: Maxpool2dShape): [number, number] {
  checkShape(s);
  const oh = Math.floor((s.inHeight + 2 * s.padding - s.kernel) / s.stride) + 1;
  const ow = Math.floor((s.inWidth + 2 * s.padding - s.kernel) / s.stride) + 1;
  if (oh < 1 || ow < 1) {
    throw new Error(`maxpool2d: a ${s.kernel}x${s.kernel} window with padding ${s.padding} does not fit a ${s.inHeight}x${s.inWidth} input`);
  }
  return [oh, ow];
}

/**
 * One thread per output. A 3x3 window is written out (WINDOW3) unless `window3` is false: ResNet18's
 * stem pool at 224 ran 1.64x as fast as the loops on lavapipe and 2.01x on SwiftShader (medians of
 * 21 per-round ratios), the same bits (bench/subgroup-kernels.mjs --kernels maxpool,
 * bench/results/2026-12-06-subgroup-kernels-maxpool.md).
 */
export function maxpool2dDispatch(ctx: GpuContext, s: Maxpool2dShape, x: GPUBuffer, y: GPUBuffer,
  label = `maxpool2d ${s.kernel}x${s.kernel} s${s.stride}`, window3 = s.kernel === 3): Dispatch {
  const [oh, ow] = maxpool2dOutputSize(s);
  const count = s.batch * s.channels * oh * ow;
  if (window3 && s.kernel !== 3) throw new Error(`${label}: the written-out window is 3x3, the pool's is ${s.kernel}x${s.kernel}`);
  return ctx.dispatch(label, MAXPOOL2D, {
    constants: { WG: WORKGROUP_SIZE, WINDOW3: window3 ? 1 : 0 },
    params: { inHeight: s.inHeight, inWidth: s.inWidth, outHeight: oh, outWidth: ow, kernel: s.kernel, stride: s.stride, padding: s.padding, count },
    buffers: [x, y], workgroups: grid1d(count, WORKGROUP_SIZE),
  });
}
