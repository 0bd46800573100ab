// Adjoint of irfft2-columns: gradient of the spectrum parameter from the gradient of the
// column-transformed spectrum. See shaders/irfft2-columns-backward.wgsl.

import source from '../../shaders/irfft2-columns-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import type { SpectrumShape, SpectrumTables } from './irfft2-columns';

export function irfft2ColumnsBackwardDispatch(ctx: GpuContext, s: SpectrumShape, t: SpectrumTables,
  b: { gradOutput: GPUBuffer; gradSpectrum: GPUBuffer }, label = 'irfft2 columns backward'): Dispatch {
  const count = s.batch * 3 * s.height * s.freqWidth;
  const pipeline = ctx.pipelines.get('irfft2-columns-backward', source);
  const params = ctx.createUniformBuffer(`${label} params`, [s.batch * 3, s.height, s.freqWidth, 1 / Math.sqrt(s.height)],
    ['u32', 'u32', 'u32', 'f32']);
  return {
    label, pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.gradOutput, t.scale, t.twiddleH, b.gradSpectrum]),
    workgroups: grid1d(count, 64),
  };
}
