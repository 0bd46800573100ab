// Adjoint of reflection padding, as a gather. See shaders/reflect-pad-backward.wgsl.

import source from '../../shaders/reflect-pad-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { REFLECT_PAD_PARAMS, type ReflectPadShape, checkReflectPad } from './reflect-pad';

const WORKGROUP_SIZE = 64;
const REFLECT_PAD_BACKWARD = kernel('reflect-pad-backward', REFLECT_PAD_PARAMS, source);

export function reflectPadBackwardDispatch(ctx: GpuContext, s: ReflectPadShape,
  b: { gradOutput: GPUBuffer; gradInput: GPUBuffer }, label = `reflect pad ${s.pad} backward`): Dispatch {
  checkReflectPad(s);
  return ctx.dispatch(label, REFLECT_PAD_BACKWARD, {
    constants: { WG: WORKGROUP_SIZE }, params: { planes: s.planes, height: s.height, width: s.width, pad: s.pad },
    buffers: [b.gradOutput, b.gradInput], workgroups: grid1d(s.planes * s.height * s.width, WORKGROUP_SIZE),
  });
}
