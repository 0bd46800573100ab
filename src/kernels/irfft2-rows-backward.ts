// Adjoint of irfft2-rows: gradient of the column-transformed spectrum from the image gradient.
// See shaders/irfft2-rows-backward.wgsl.

import source from '../../shaders/irfft2-rows-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import type { SpectrumShape, SpectrumTables } from './irfft2-columns';
import { LUCENT_FFT_MAGIC } from './irfft2-rows';

export function irfft2RowsBackwardDispatch(ctx: GpuContext, s: SpectrumShape, t: SpectrumTables,
  b: { gradImage: GPUBuffer; gradOutput: GPUBuffer }, label = 'irfft2 rows backward'): Dispatch {
  const count = s.batch * 3 * s.height * s.freqWidth;
  const pipeline = ctx.pipelines.get('irfft2-rows-backward', source);
  const params = ctx.createUniformBuffer(`${label} params`,
    [s.batch * 3, s.height, s.width, s.freqWidth, 1 / (Math.sqrt(s.width) * LUCENT_FFT_MAGIC)],
    ['u32', 'u32', 'u32', 'u32', 'f32']);
  return {
    label, pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.gradImage, t.twiddleW, b.gradOutput]),
    workgroups: grid1d(count, 64),
  };
}
