// One unit per image (its own channel, a shared position) out of an NCHW activation: the feature
// visualisation objective's readout. See shaders/unit-gather.wgsl.

import source from '../../shaders/unit-gather.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';

const WORKGROUP_SIZE = 64;
const UNIT_GATHER = kernel('unit-gather', uniforms('Params', {
  batch: 'u32', channels: 'u32', height: 'u32', width: 'u32', y: 'u32', x: 'u32',
}), source);

export function unitGatherDispatch(ctx: GpuContext,
  s: { batch: number; channels: number; height: number; width: number; y: number; x: number },
  b: { channels: GPUBuffer; input: GPUBuffer; output: GPUBuffer }, label = 'unit gather'): Dispatch {
  return ctx.dispatch(label, UNIT_GATHER, {
    constants: { WG: WORKGROUP_SIZE },
    params: { batch: s.batch, channels: s.channels, height: s.height, width: s.width, y: s.y, x: s.x },
    buffers: [b.channels, b.input, b.output], workgroups: grid1d(s.batch, WORKGROUP_SIZE),
  });
}
