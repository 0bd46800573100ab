// Global average pooling, [N, C, H, W] -> [N, C]. See shaders/global-avgpool.wgsl.

import source from '../../shaders/global-avgpool.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';

const WORKGROUP_SIZE = 64;
const GLOBAL_AVGPOOL = kernel('global-avgpool', uniforms('Params', { planes: 'u32', spatial: 'u32' }), source);

export interface GlobalAvgPoolShape {
  batch: number;
  channels: number;
  height: number;
  width: number;
}

export function globalAvgPoolDispatch(ctx: GpuContext, s: GlobalAvgPoolShape, x: GPUBuffer, y: GPUBuffer,
  label = 'global-avgpool'): Dispatch {
  for (const key of ['batch', 'channels', 'height', 'width'] as const) {
    if (!Number.isInteger(s[key]) || s[key] < 1) throw new Error(`${label}: ${key} must be a positive integer, got ${s[key]}`);
  }
  const planes = s.batch * s.channels;
  return ctx.dispatch(label, GLOBAL_AVGPOOL, {
    constants: { WG: WORKGROUP_SIZE }, params: { planes, spatial: s.height * s.width },
    buffers: [x, y], workgroups: grid1d(planes, WORKGROUP_SIZE),
  });
}
