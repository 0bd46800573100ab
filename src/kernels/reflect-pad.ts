// Reflection padding (F.pad mode='reflect'). See shaders/reflect-pad.wgsl.

import source from '../../shaders/reflect-pad.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';

const WORKGROUP_SIZE = 64;
/** The Params of reflect-pad.wgsl and reflect-pad-backward.wgsl. */
export const REFLECT_PAD_PARAMS = uniforms('Params', { planes: 'u32', height: 'u32', width: 'u32', pad: 'u32' });
const REFLECT_PAD = kernel('reflect-pad', REFLECT_PAD_PARAMS, source);

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
  return ctx.dispatch(label, REFLECT_PAD, {
    constants: { WG: WORKGROUP_SIZE }, params: { planes: s.planes, height: s.height, width: s.width, pad: s.pad },
    buffers: [b.input, b.output], workgroups: grid1d(s.planes * (s.height + 2 * s.pad) * (s.width + 2 * s.pad), WORKGROUP_SIZE),
  });
}
