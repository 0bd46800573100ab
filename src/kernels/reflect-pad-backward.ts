// Adjoint of reflection padding, as a gather. See shaders/reflect-pad-backward.wgsl.

import source from '../../shaders/reflect-pad-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { type ReflectPadShape, checkReflectPad } from './reflect-pad';

export function reflectPadBackwardDispatch(ctx: GpuContext, s: ReflectPadShape,
  b: { gradOutput: GPUBuffer; gradInput: GPUBuffer }, label = `reflect pad ${s.pad} backward`): Dispatch {
  checkReflectPad(s);
  const pipeline = ctx.pipelines.get('reflect-pad-backward', source);
  const params = ctx.createUniformBuffer(`${label} params`, [s.planes, s.height, s.width, s.pad]);
  return {
    label, pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.gradOutput, b.gradInput]),
    workgroups: grid1d(s.planes * s.height * s.width, 64),
  };
}
