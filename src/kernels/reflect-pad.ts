// Reflection padding (F.pad mode='reflect'). See shaders/reflect-pad.wgsl.

import source from '../../shaders/reflect-pad.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';

export interface ReflectPadShape {
  /** N * C */
  planes: number;
  height: number;
  width: number;
  pad: number;
}

export function checkReflectPad(s: ReflectPadShape): void {
  if (!(s.pad < s.height && s.pad < s.width)) {
    throw new Error(`reflect pad ${s.pad} needs a pad smaller than the input (${s.height}x${s.width}), as torch requires`);
  }
}

export function reflectPadDispatch(ctx: GpuContext, s: ReflectPadShape, b: { input: GPUBuffer; output: GPUBuffer },
  label = `reflect pad ${s.pad}`): Dispatch {
  checkReflectPad(s);
  const pipeline = ctx.pipelines.get('reflect-pad', source);
  const params = ctx.createUniformBuffer(`${label} params`, [s.planes, s.height, s.width, s.pad]);
  return {
    label, pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.input, b.output]),
    workgroups: grid1d(s.planes * (s.height + 2 * s.pad) * (s.width + 2 * s.pad), 64),
  };
}
