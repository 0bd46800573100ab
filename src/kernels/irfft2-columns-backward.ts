// Adjoint of irfft2-columns: gradient of the spectrum parameter from the gradient of the
// column-transformed spectrum. See shaders/irfft2-columns-backward.wgsl.

import source from '../../shaders/irfft2-columns-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { IRFFT2_COLUMNS_PARAMS, type SpectrumShape, type SpectrumTables, irfft2ColumnsParams } from './irfft2-columns';

const WORKGROUP_SIZE = 64;
/** Frequencies ky per thread, each with its mirror H - ky (the shader's KB); one column per thread. */
const FREQUENCIES_PER_THREAD = 4;
const IRFFT2_COLUMNS_BACKWARD = kernel('irfft2-columns-backward', IRFFT2_COLUMNS_PARAMS, source);

export function irfft2ColumnsBackwardDispatch(ctx: GpuContext, s: SpectrumShape, t: SpectrumTables,
  b: { gradOutput: GPUBuffer; gradSpectrum: GPUBuffer }, label = 'irfft2 columns backward'): Dispatch {
  // x: blocks of the frequencies 0..H/2 (their mirrors come along); (y, z): the columns (plane, kx).
  const [gy, gz] = grid1d(s.batch * 3 * s.freqWidth, WORKGROUP_SIZE);
  return ctx.dispatch(label, IRFFT2_COLUMNS_BACKWARD, {
    constants: { WG: WORKGROUP_SIZE }, params: irfft2ColumnsParams(s),
    buffers: [b.gradOutput, t.scale, t.twiddleH, b.gradSpectrum], workgroups: [Math.ceil((Math.floor(s.height / 2) + 1) / FREQUENCIES_PER_THREAD), gy, gz],
  });
}
