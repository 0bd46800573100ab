// One unit per image (its own channel, a shared position) out of an NCHW activation: the feature
// visualisation objective's readout. See shaders/unit-gather.wgsl.

import source from '../../shaders/unit-gather.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';

export function unitGatherDispatch(ctx: GpuContext,
  s: { batch: number; channels: number; height: number; width: number; y: number; x: number },
  b: { channels: GPUBuffer; input: GPUBuffer; output: GPUBuffer }, label = 'unit gather'): Dispatch {
  const pipeline = ctx.pipelines.get('unit-gather', source);
  const params = ctx.createUniformBuffer(`${label} params`, [s.batch, s.channels, s.height, s.width, s.y, s.x]);
  return {
    label, pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.channels, b.input, b.output]),
    workgroups: grid1d(s.batch, 64),
  };
}
