// Lucent's Fourier parameterisation, second half: inverse real DFT along each row, then / 4.
// See shaders/irfft2-rows.wgsl.

import source from '../../shaders/irfft2-rows.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';
import type { SpectrumShape, SpectrumTables } from './irfft2-columns';

const WORKGROUP_SIZE = 64;
/** Output columns x per thread, each with its mirror W - x (the shader's XB); two rows per thread. */
const COLUMNS_PER_THREAD = 4;
const ROWS_PER_THREAD = 2;
/** The Params of irfft2-rows.wgsl and irfft2-rows-backward.wgsl. */
export const IRFFT2_ROWS_PARAMS = uniforms('Params', { batchPlanes: 'u32', height: 'u32', width: 'u32', freqWidth: 'u32', rowNorm: 'f32' });
const IRFFT2_ROWS = kernel('irfft2-rows', IRFFT2_ROWS_PARAMS, source);

/** Lucent's constant: the irfft image is divided by 4 ("magic", reduces saturation). */
export const LUCENT_FFT_MAGIC = 4;

/** The row pass's params: planes, the image and spectrum widths and the 1/(sqrt(W) * 4) norm. */
export function irfft2RowsParams(s: SpectrumShape) {
  return { batchPlanes: s.batch * 3, height: s.height, width: s.width, freqWidth: s.freqWidth, rowNorm: 1 / (Math.sqrt(s.width) * LUCENT_FFT_MAGIC) };
}

export function irfft2RowsDispatch(ctx: GpuContext, s: SpectrumShape, t: SpectrumTables,
  b: { input: GPUBuffer; image: GPUBuffer }, label = 'irfft2 rows'): Dispatch {
  // x: blocks of the columns 0..W/2 (their mirrors come along); (y, z): the row pairs.
  const [gy, gz] = grid1d(Math.ceil(s.batch * 3 * s.height / ROWS_PER_THREAD), WORKGROUP_SIZE);
  return ctx.dispatch(label, IRFFT2_ROWS, {
    constants: { WG: WORKGROUP_SIZE }, params: irfft2RowsParams(s),
    buffers: [b.input, t.twiddleW, b.image], workgroups: [Math.ceil((Math.floor(s.width / 2) + 1) / COLUMNS_PER_THREAD), gy, gz],
  });
}
