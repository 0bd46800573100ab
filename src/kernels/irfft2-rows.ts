// Lucent's Fourier parameterisation, second half: inverse real DFT along each row, then / 4.
// See shaders/irfft2-rows.wgsl.

import source from '../../shaders/irfft2-rows.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import type { SpectrumShape, SpectrumTables } from './irfft2-columns';

/** Lucent's constant: the irfft image is divided by 4 ("magic", reduces saturation). */
export const LUCENT_FFT_MAGIC = 4;

export function irfft2RowsDispatch(ctx: GpuContext, s: SpectrumShape, t: SpectrumTables,
  b: { input: GPUBuffer; image: GPUBuffer }, label = 'irfft2 rows'): Dispatch {
  const count = s.batch * 3 * s.height * s.width;
  const pipeline = ctx.pipelines.get('irfft2-rows', source);
  const params = ctx.createUniformBuffer(`${label} params`,
    [s.batch * 3, s.height, s.width, s.freqWidth, 1 / (Math.sqrt(s.width) * LUCENT_FFT_MAGIC)],
    ['u32', 'u32', 'u32', 'u32', 'f32']);
  return {
    label, pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.input, t.twiddleW, b.image]),
    workgroups: grid1d(count, 64),
  };
}
