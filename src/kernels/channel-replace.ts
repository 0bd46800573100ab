// Channel ablation in place: x[n,c,:,:] = value[c] for channels with mask[c] != 0 (zero- or
// mean-ablation). See shaders/channel-replace.wgsl.

import source from '../../shaders/channel-replace.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';

const WORKGROUP_SIZE = 256;
const CHANNEL_REPLACE = kernel('channel-replace', uniforms('Params', { count: 'u32', spatial: 'u32', channels: 'u32' }), source);

export interface ChannelReplaceShape {
  batch: number;
  channels: number;
  /** H * W */
  spatial: number;
}

/** `mask` is a storage buffer of u32 [C] (non-zero = replace), `value` of f32 [C]; x is modified in place. */
export function channelReplaceDispatch(ctx: GpuContext, s: ChannelReplaceShape,
  b: { x: GPUBuffer; mask: GPUBuffer; value: GPUBuffer }, label = 'channel-replace'): Dispatch {
  for (const key of ['batch', 'channels', 'spatial'] as const) {
    if (!Number.isInteger(s[key]) || s[key] < 1) throw new Error(`${label}: ${key} must be a positive integer, got ${s[key]}`);
  }
  const count = s.batch * s.channels * s.spatial;
  return ctx.dispatch(label, CHANNEL_REPLACE, {
    constants: { WG: WORKGROUP_SIZE }, params: { count, spatial: s.spatial, channels: s.channels },
    buffers: [b.x, b.mask, b.value], workgroups: grid1d(count, WORKGROUP_SIZE),
  });
}
