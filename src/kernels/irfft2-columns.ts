// Lucent's Fourier parameterisation, first half: scaled half-spectrum -> inverse complex DFT down
// each column. See shaders/irfft2-columns.wgsl.

import source from '../../shaders/irfft2-columns.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';

export interface SpectrumShape {
  /** Images in the batch. */
  batch: number;
  /** Image height and width (the spectrum is [N, 3, H, Wf, 2], Wf = freqWidth). */
  height: number;
  width: number;
  /** Columns of the half-spectrum: W/2 + 1 for even W, W/2 + 2 for odd (as Lucent stores it). */
  freqWidth: number;
}

export interface SpectrumTables {
  /** [H, Wf] spectrum weights 1 / max(|f|, 1/max(H, W)). */
  scale: GPUBuffer;
  /** [H] (cos, sin)(2 pi m / H). */
  twiddleH: GPUBuffer;
  /** [W] (cos, sin)(2 pi m / W). */
  twiddleW: GPUBuffer;
}

export function irfft2ColumnsDispatch(ctx: GpuContext, s: SpectrumShape, t: SpectrumTables,
  b: { spectrum: GPUBuffer; output: GPUBuffer }, label = 'irfft2 columns'): Dispatch {
  const count = s.batch * 3 * s.height * s.freqWidth;
  const pipeline = ctx.pipelines.get('irfft2-columns', source);
  const params = ctx.createUniformBuffer(`${label} params`, [s.batch * 3, s.height, s.freqWidth, 1 / Math.sqrt(s.height)],
    ['u32', 'u32', 'u32', 'f32']);
  return {
    label, pipeline,
    bindGroup: ctx.bindGroup(label, pipeline, [params, b.spectrum, t.scale, t.twiddleH, b.output]),
    workgroups: grid1d(count, 64),
  };
}
