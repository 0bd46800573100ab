// Adjoint of irfft2-rows: gradient of the column-transformed spectrum from the image gradient.
// See shaders/irfft2-rows-backward.wgsl.

import source from '../../shaders/irfft2-rows-backward.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import type { SpectrumShape, SpectrumTables } from './irfft2-columns';
import { IRFFT2_ROWS_PARAMS, irfft2RowsParams } from './irfft2-rows';

const WORKGROUP_SIZE = 64;
/** Frequencies kx per thread (the shader's KB); two rows per thread. */
const FREQUENCIES_PER_THREAD = 4;
const ROWS_PER_THREAD = 2;
const IRFFT2_ROWS_BACKWARD = kernel('irfft2-rows-backward', IRFFT2_ROWS_PARAMS, source);

export function irfft2RowsBackwardDispatch(ctx: GpuContext, s: SpectrumShape, t: SpectrumTables,
  b: { gradImage: GPUBuffer; gradOutput: GPUBuffer }, label = 'irfft2 rows backward'): Dispatch {
  // x: blocks of all Wf frequencies (those past W/2 are written 0); (y, z): the row pairs.
  const [gy, gz] = grid1d(Math.ceil(s.batch * 3 * s.height / ROWS_PER_THREAD), WORKGROUP_SIZE);
  return ctx.dispatch(label, IRFFT2_ROWS_BACKWARD, {
    constants: { WG: WORKGROUP_SIZE }, params: irfft2RowsParams(s),
    buffers: [b.gradImage, t.twiddleW, b.gradOutput], workgroups: [Math.ceil(s.freqWidth / FREQUENCIES_PER_THREAD), gy, gz],
  });
}
