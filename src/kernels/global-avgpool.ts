// Global average pooling, [N, C, H, W] -> [N, C]. See shaders/global-avgpool.wgsl.

import source from '../../shaders/global-avgpool.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';

const WORKGROUP_SIZE = 64;

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
  const pipeline = ctx.pipelines.get('global-avgpool', source, { WG: WORKGROUP_SIZE });
  const params = ctx.createUniformBuffer(`${label} params`, [planes, s.height * s.width]);
  return {
    label,
    pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, x, y]),
    workgroups: grid1d(planes, WORKGROUP_SIZE),
  };
}
