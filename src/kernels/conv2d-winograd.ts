// The Winograd F(2x2, 3x3) convolution (Lavin & Gray, 2015) for 3x3 stride-1 padding-1
// convolutions: each 2x2 block of outputs is computed from a 4x4 input patch with 16 multiplies per
// (input, output channel) pair instead of 36. Four kernels:
//
//   filter  U = G g G^T    once per convolution (shaders/conv2d-winograd-filter.wgsl; NetworkWeights
//                          keeps it, winogradFilter is the same on the CPU);
//   input   V = B^T d B    per input channel and tile (shaders/conv2d-winograd-input.wgsl);
//   gemm    M = U V        16 independent products over the input channels: tiled in workgroup
//                          memory (conv2d-winograd-gemm.wgsl) on a GPU, in registers only
//                          (conv2d-winograd-gemm-plain.wgsl) on a CPU adapter (winogradProductKernel);
//   output  Y = A^T M A    per output channel and tile, with the epilogue (conv2d-winograd-output.wgsl).
//
// V and M live in two scratch buffers (winogradScratchBytes): the product reads one and writes the
// other, and WebGPU does not let one buffer be read and written by the same dispatch. Same epilogue
// as the other variants. The transforms add rounding of their own, but each product sums Cin terms
// where a direct convolution sums 9 Cin: its float32 error measured below the direct kernel's
// (test/kernels-conv2d-winograd.test.ts).

import filterSource from '../../shaders/conv2d-winograd-filter.wgsl';
import gemmPlainSource from '../../shaders/conv2d-winograd-gemm-plain.wgsl';
import gemmSource from '../../shaders/conv2d-winograd-gemm.wgsl';
import inputSource from '../../shaders/conv2d-winograd-input.wgsl';
import outputSource from '../../shaders/conv2d-winograd-output.wgsl';
import gemmTile from '../../shaders/parts/gemm-tile.wgsl';
import { type AdapterDescription, type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';
import { type Conv2dShape, CONV2D_CHANNEL_BLOCK, conv2dOutputSize } from './conv2d';
import { winogradScratchBytes, winogradTiles } from './conv2d-variants';

export { winogradScratchBytes, winogradTiles };

const TILING = { tilesH: 'u32', tilesW: 'u32', tiles: 'u32' } as const;
const FILTER = kernel('conv2d-winograd-filter', uniforms('Params', { inChannels: 'u32', outChannels: 'u32' }), filterSource);
const INPUT = kernel('conv2d-winograd-input', uniforms('Params', { inChannels: 'u32', inHeight: 'u32', inWidth: 'u32', ...TILING }), inputSource);
const GEMM_PARAMS = uniforms('Params', { inChannels: 'u32', outChannels: 'u32', tiles: 'u32' });
const GEMM = kernel('conv2d-winograd-gemm', GEMM_PARAMS, gemmSource, gemmTile);
const GEMM_PLAIN = kernel('conv2d-winograd-gemm-plain', GEMM_PARAMS, gemmPlainSource);
const OUTPUT = kernel('conv2d-winograd-output', uniforms('Params', {
  outChannels: 'u32', outHeight: 'u32', outWidth: 'u32', ...TILING, relu: 'u32',
}), outputSource);

const WG = 64;
/** Output channels x tiles of one gemm workgroup (the shader's TILE). */
const GEMM_TILE = 64;

/** How the 16 products run: tiled in workgroup memory, or in registers only. */
export type WinogradProductKernel = 'tiled' | 'plain';

/**
 * 'plain' on the CPU adapters (SwiftShader, lavapipe, any fallback adapter), where workgroup
 * barriers are costly and the tiled product ran 2-10x slower on lavapipe; 'tiled' on a GPU.
 */
export function winogradProductKernel(adapter: AdapterDescription): WinogradProductKernel {
  return adapter.name === 'swiftshader' || adapter.name === 'lavapipe' || adapter.isFallbackAdapter ? 'plain' : 'tiled';
}

/** Whether the Winograd kernels compute this convolution: 3x3, stride 1, padding 1. */
export function isWinogradShape(s: Pick<Conv2dShape, 'kernel' | 'stride' | 'padding'>): boolean {
  return s.kernel === 3 && s.stride === 1 && s.padding === 1;
}

function checkWinograd(s: Conv2dShape, label: string): void {
  if (!isWinogradShape(s)) throw new Error(`${label}: Winograd F(2x2, 3x3) needs kernel 3, stride 1, padding 1, got k${s.kernel} s${s.stride} p${s.padding}`);
}

/** Float32 elements of U: 16 x ceil(Cout/4)*4 x Cin (16/9 of the packed filter). */
export function winogradFilterLength(s: Pick<Conv2dShape, 'inChannels' | 'outChannels'>): number {
  return 16 * Math.ceil(s.outChannels / CONV2D_CHANNEL_BLOCK) * CONV2D_CHANNEL_BLOCK * s.inChannels;
}

/**
 * U = G g G^T on the CPU (in float64, rounded once) from torchvision's OIHW filter, in the layout
 * the gemm reads: vec4 (xi*G4 + g)*Cin + c holds U[xi] of output channels 4g .. 4g+3, input c.
 */
export function winogradFilter(weightOIHW: Float32Array, s: Conv2dShape): Float32Array {
  checkWinograd(s, 'winogradFilter');
  const { inChannels: cin, outChannels: cout } = s;
  if (weightOIHW.length !== cout * cin * 9) throw new Error(`winogradFilter: weight has ${weightOIHW.length} elements, expected ${cout}x${cin}x3x3`);
  const groups = Math.ceil(cout / CONV2D_CHANNEL_BLOCK);
  const u = new Float32Array(winogradFilterLength(s));
  const G = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]];
  for (let o = 0; o < cout; o++) {
    for (let c = 0; c < cin; c++) {
      const g = weightOIHW.subarray((o * cin + c) * 9, (o * cin + c) * 9 + 9);
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 4; j++) {
          let sum = 0;
          for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) sum += G[i][a] * g[a * 3 + b] * G[j][b];
          const xi = 4 * i + j;
          u[(((xi * groups + Math.floor(o / 4)) * cin + c) * 4) + (o % 4)] = sum;
        }
      }
    }
  }
  return u;
}

/** U made on the GPU from the packed filter (packConv2dWeights) into `output` (winogradFilterLength floats). */
export function winogradFilterDispatch(ctx: GpuContext, s: Pick<Conv2dShape, 'inChannels' | 'outChannels'>,
  b: { weights: GPUBuffer; output: GPUBuffer }, label = 'conv2d-winograd filter transform'): Dispatch {
  return ctx.dispatch(label, FILTER, {
    constants: { WG },
    params: { inChannels: s.inChannels, outChannels: s.outChannels },
    buffers: [b.weights, b.output],
    workgroups: grid1d(Math.ceil(s.outChannels / CONV2D_CHANNEL_BLOCK) * s.inChannels, WG),
  });
}

/**
 * The three dispatches of one convolution: input transform into `scratch` (V), the 16 products into
 * `products` (M), output transform with the epilogue into `output`. `weights` holds U (winogradFilter
 * or winogradFilterDispatch); the scratch buffers hold winogradScratchBytes(s) bytes (they may be
 * shared by convolutions that do not run at the same time).
 */
export function conv2dWinogradDispatches(
  ctx: GpuContext,
  s: Conv2dShape,
  b: { input: GPUBuffer; weights: GPUBuffer; scale: GPUBuffer; shift: GPUBuffer; output: GPUBuffer; scratch?: GPUBuffer; products?: GPUBuffer },
  opts: { relu: boolean; product?: WinogradProductKernel },
  label = `conv2d-winograd 3x3${opts.relu ? ' relu' : ''}`,
): Dispatch[] {
  checkWinograd(s, label);
  const [oh, ow] = conv2dOutputSize(s);
  const { tilesH, tilesW, tiles } = winogradTiles(s);
  const need = winogradScratchBytes(s);
  if (!b.scratch || b.scratch.size < need.input) throw new Error(`${label}: the transformed input needs a scratch buffer of ${need.input} bytes`);
  if (!b.products || b.products.size < need.products) throw new Error(`${label}: the products need a scratch buffer of ${need.products} bytes`);
  const plain = (opts.product ?? winogradProductKernel(ctx.adapter)) === 'plain';
  const vec4Groups = Math.ceil(s.outChannels / CONV2D_CHANNEL_BLOCK);
  const gemmGrid: [number, number, number] = plain
    ? grid1d(16 * Math.ceil(vec4Groups / 2) * Math.ceil(tiles / 8), WG)
    : [Math.ceil(tiles / GEMM_TILE), Math.ceil(s.outChannels / GEMM_TILE), 16];
  if (gemmGrid[0] > 65535 || gemmGrid[1] > 65535) throw new Error(`${label}: ${gemmGrid.join(' x ')} workgroups exceed the grid limit`);
  return [
    ctx.dispatch(`${label} input transform`, INPUT, {
      constants: { WG },
      params: { inChannels: s.inChannels, inHeight: s.inHeight, inWidth: s.inWidth, tilesH, tilesW, tiles },
      buffers: [b.input, b.scratch], workgroups: grid1d(s.inChannels * tiles, WG),
    }),
    ctx.dispatch(`${label} products`, plain ? GEMM_PLAIN : GEMM, {
      constants: { WG: plain ? WG : 256 },
      params: { inChannels: s.inChannels, outChannels: s.outChannels, tiles },
      buffers: [b.weights, b.scratch, b.products], workgroups: gemmGrid,
    }),
    ctx.dispatch(`${label} output transform`, OUTPUT, {
      constants: { WG },
      params: { outChannels: s.outChannels, outHeight: oh, outWidth: ow, tilesH, tilesW, tiles, relu: opts.relu ? 1 : 0 },
      buffers: [b.products, b.scale, b.shift, b.output], workgroups: grid1d(s.outChannels * tiles, WG),
    }),
  ];
}
