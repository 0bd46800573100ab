// Zero padding of NCHW planes: the copy of a convolution's input that 'direct' reads on SwiftShader
// (conv2d-variants.ts paddedInputFor). See shaders/zero-pad.wgsl.

import source from '../../shaders/zero-pad.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';

const WORKGROUP_SIZE = 64;
const ZERO_PAD = kernel('zero-pad', uniforms('Params', { planes: 'u32', height: 'u32', width: 'u32', pad: 'u32' }), source);

export interface ZeroPadShape {
  /** N * C */
  planes: number;
  height: number;
  width: number;
  pad: number;
}

/** Elements of the padded tensor: planes x (H + 2P) x (W + 2P). */
export function zeroPadLength(s: ZeroPadShape): number {
  return s.planes * (s.height + 2 * s.pad) * (s.width + 2 * s.pad);
}

export function zeroPadDispatch(ctx: GpuContext, s: ZeroPadShape, b: { input: GPUBuffer; output: GPUBuffer },
  label = `zero pad ${s.pad}`): Dispatch {
  if (!(Number.isInteger(s.pad) && s.pad >= 0)) throw new Error(`${label}: the padding must be a whole number >= 0, got ${s.pad}`);
  const need = { input: s.planes * s.height * s.width * 4, output: zeroPadLength(s) * 4 };
  for (const which of ['input', 'output'] as const) {
    if (b[which].size < need[which]) throw new Error(`${label}: the ${which} buffer holds ${b[which].size} bytes, the shape needs ${need[which]}`);
  }
  return ctx.dispatch(label, ZERO_PAD, {
    constants: { WG: WORKGROUP_SIZE }, params: { planes: s.planes, height: s.height, width: s.width, pad: s.pad },
    buffers: [b.input, b.output], workgroups: grid1d(s.planes * (s.height + 2 * s.pad), WORKGROUP_SIZE),
  });
}
