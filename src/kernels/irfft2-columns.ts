// Lucent's Fourier parameterisation, first half: scaled half-spectrum -> inverse complex DFT down
// each column. See shaders/irfft2-columns.wgsl.

import source from '../../shaders/irfft2-columns.wgsl';
import { type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';

const WORKGROUP_SIZE = 64;
/** Output rows y per thread, each with its mirror H - y (the shader's YB); one column per thread. */
const ROWS_PER_THREAD = 4;
/** The Params of irfft2-columns.wgsl and irfft2-columns-backward.wgsl. */
export const IRFFT2_COLUMNS_PARAMS = uniforms('Params', { batchPlanes: 'u32', height: 'u32', freqWidth: 'u32', colNorm: 'f32' });
const IRFFT2_COLUMNS = kernel('irfft2-columns', IRFFT2_COLUMNS_PARAMS, source);

/** The column pass's params: planes (image x colour), the spectrum's size and the 1/sqrt(H) norm. */
export function irfft2ColumnsParams(s: SpectrumShape) {
  return { batchPlanes: s.batch * 3, height: s.height, freqWidth: s.freqWidth, colNorm: 1 / Math.sqrt(s.height) };
}

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
  // x: blocks of the rows 0..H/2 (their mirrors come along); (y, z): the columns (plane, kx).
  const [gy, gz] = grid1d(s.batch * 3 * s.freqWidth, WORKGROUP_SIZE);
  return ctx.dispatch(label, IRFFT2_COLUMNS, {
    constants: { WG: WORKGROUP_SIZE }, params: irfft2ColumnsParams(s),
    buffers: [b.spectrum, t.scale, t.twiddleH, b.output], workgroups: [Math.ceil((Math.floor(s.height / 2) + 1) / ROWS_PER_THREAD), gy, gz],
  });
}
