// The Winograd convolutions (Lavin & Gray, 2015) for 3x3 stride-1 padding-1 convolutions, in two
// tile sizes: F(2x2, 3x3) computes each 2x2 block of outputs from a 4x4 input patch with 16
// multiplies per (input, output channel) pair instead of 36; F(4x4, 3x3) each 4x4 block from a 6x6
// patch with 36 instead of 144, at the price of larger transforms and a larger rounding error.
// F(4x4, 3x3) also has a stride-2 form for 3x3 stride-2 padding-1 convolutions: each 4x4 block from
// a 9x9 patch with 81 multiplies instead of 144 (per dimension F(4, 2) over the even inputs, and
// the centre tap alone over the odd ones: shaders/conv2d-winograd4s2-input.wgsl). Four kernels, the
// transforms one file per tile size and stride ('winograd' / 'winograd4' / 'winograd4s2' below):
//
//   filter  U = G g G^T    once per convolution (shaders/conv2d-winograd{,4,4s2}-filter.wgsl;
//                          NetworkWeights keeps it, winogradFilter is the same on the CPU);
//   input   V = B^T d B    per input channel and tile (shaders/conv2d-winograd{,4,4s2}-input.wgsl);
//   gemm    M = U V        16, 36 or 81 independent products over the input channels, shared by all
//                          three: tiled in workgroup memory (conv2d-winograd-gemm.wgsl) on a GPU, in
//                          registers only (conv2d-winograd-gemm-plain.wgsl) on a CPU adapter
//                          (winogradProductKernel); at stride 2, 81 products read 36 planes of U
//                          (parts/winograd-filter-plane.wgsl);
//   output  Y = A^T M A    per output channel and tile, with the epilogue (conv2d-winograd{,4,4s2}-output.wgsl).
//
// V and M live in two scratch buffers (winogradScratchBytes): the product reads one and writes the
// other, and WebGPU does not let one buffer be read and written by the same dispatch. Same epilogue
// as the other variants. The transforms add rounding of their own, but each product sums Cin terms
// where a direct convolution sums 9 Cin: F(2x2)'s float32 error measured below the direct kernel's,
// F(4x4)'s above it, its transform coefficients being larger (test/kernels-conv2d-winograd.test.ts).

import filterSource from '../../shaders/conv2d-winograd-filter.wgsl';
import gemmGridSource from '../../shaders/conv2d-winograd-gemm-grid.wgsl';
import gemmPlainSource from '../../shaders/conv2d-winograd-gemm-plain.wgsl';
import gemmSubgroupSource from '../../shaders/conv2d-winograd-gemm-subgroup.wgsl';
import gemmSource from '../../shaders/conv2d-winograd-gemm.wgsl';
import inputSource from '../../shaders/conv2d-winograd-input.wgsl';
import outputSource from '../../shaders/conv2d-winograd-output.wgsl';
import filter4Source from '../../shaders/conv2d-winograd4-filter.wgsl';
import input4Source from '../../shaders/conv2d-winograd4-input.wgsl';
import output4Source from '../../shaders/conv2d-winograd4-output.wgsl';
import filter4s2Source from '../../shaders/conv2d-winograd4s2-filter.wgsl';
import input4s2Source from '../../shaders/conv2d-winograd4s2-input.wgsl';
import output4s2Source from '../../shaders/conv2d-winograd4s2-output.wgsl';
import gemmTile from '../../shaders/parts/gemm-tile.wgsl';
import filterPlane from '../../shaders/parts/winograd-filter-plane.wgsl';
import patchAt from '../../shaders/parts/winograd-patch.wgsl';
import productsBlock from '../../shaders/parts/winograd-products-block.wgsl';
import productsStore from '../../shaders/parts/winograd-products-store.wgsl';
import storeOutput from '../../shaders/parts/winograd-store.wgsl';
import tileAt from '../../shaders/parts/winograd-tile.wgsl';
import { type AdapterDescription, type Dispatch, type GpuContext, grid1d } from '../gpu/context';
import { kernel } from '../gpu/kernel';
import { uniforms } from '../gpu/uniforms';
import { type ReluOptions, reluMode } from './relu';
import { type Conv2dShape, CONV2D_CHANNEL_BLOCK, conv2dOutputSize, storeLoop } from './conv2d';
import {
  type WinogradTile, adapterHidden, isCpuAdapter, isWinogradStride2Shape, winogradFilterPlanes, winogradProducts, winogradScratchBytes, winogradTiles,
} from './conv2d-variants';

export { type WinogradTile, isWinogradStride2Shape, winogradFilterPlanes, winogradProducts, winogradScratchBytes, winogradTiles };

const TILING = { tilesH: 'u32', tilesW: 'u32', tiles: 'u32' } as const;
const FILTER_PARAMS = uniforms('Params', { inChannels: 'u32', outChannels: 'u32' });
const INPUT_PARAMS = uniforms('Params', { inChannels: 'u32', inHeight: 'u32', inWidth: 'u32', ...TILING });
const OUTPUT_PARAMS = uniforms('Params', { outChannels: 'u32', outHeight: 'u32', outWidth: 'u32', ...TILING, relu: 'u32' });
/** The transforms of each tile size at stride 1, and of F(4x4, 3x3) at stride 2; the products are shared. */
const TRANSFORMS = {
  2: {
    filter: kernel('conv2d-winograd-filter', FILTER_PARAMS, filterSource),
    input: kernel('conv2d-winograd-input', INPUT_PARAMS, tileAt, patchAt, inputSource),
    output: kernel('conv2d-winograd-output', OUTPUT_PARAMS, tileAt, storeOutput, outputSource),
  },
  4: {
    filter: kernel('conv2d-winograd4-filter', FILTER_PARAMS, filter4Source),
    input: kernel('conv2d-winograd4-input', INPUT_PARAMS, tileAt, patchAt, input4Source),
    output: kernel('conv2d-winograd4-output', OUTPUT_PARAMS, tileAt, storeOutput, output4Source),
  },
  '4s2': {
    filter: kernel('conv2d-winograd4s2-filter', FILTER_PARAMS, filter4s2Source),
    input: kernel('conv2d-winograd4s2-input', INPUT_PARAMS, tileAt, patchAt, input4s2Source),
    output: kernel('conv2d-winograd4s2-output', OUTPUT_PARAMS, tileAt, storeOutput, output4s2Source),
  },
} as const;
/** The transforms of a tile size at a stride (stride 2: F(4x4, 3x3) only). */
const transformsOf = (tile: WinogradTile, stride: number) => (stride === 2 ? TRANSFORMS['4s2'] : TRANSFORMS[tile]);
const GEMM_PARAMS = uniforms('Params', { inChannels: 'u32', outChannels: 'u32', tiles: 'u32' });
const GEMM = kernel('conv2d-winograd-gemm', GEMM_PARAMS, gemmSource, filterPlane, gemmTile);
const GEMM_PLAIN = kernel('conv2d-winograd-gemm-plain', GEMM_PARAMS, gemmPlainSource, filterPlane, productsBlock, productsStore);
/** The plain products with the tiles' V shared across each subgroup (the same sums, the same bits). */
const GEMM_SUBGROUP = kernel('conv2d-winograd-gemm-subgroup', GEMM_PARAMS, gemmSubgroupSource, filterPlane, productsBlock, productsStore);
/** The plain products with U and V shared across a subgroup laid out as a grid (the same sums, the same bits). */
const GEMM_GRID = kernel('conv2d-winograd-gemm-grid', GEMM_PARAMS, gemmGridSource, filterPlane, productsBlock, productsStore);

const WG = 64;
/**
 * F(4x4, 3x3)'s plain products sum their input channels in blocks of 16, the blocks' sums then
 * added up: the float32 sum of the products is most of F(4x4)'s rounding error, since its output
 * transform weights the products by up to 27 x 27 (conv2d-winograd-gemm-plain.wgsl). Blocks of 32
 * erred about as little in simulation, but moved one SM value of the analysis test to 9.9e-4 of
 * itself (16: 7.6e-4; F(2x2): 7.0e-4). F(2x2, 3x3) keeps one sum (0), bit for bit as before. The
 * tiled products of a GPU keep one sum.
 */
const F4_SUM_BLOCK = 16;
/** Output channels x tiles of one gemm workgroup (the shader's TILE). */
const GEMM_TILE = 64;

/**
 * Tiles a thread of the register products takes: 8, or 4 where the convolution has no more than 4
 * (conv2d-winograd-gemm-plain.wgsl), so that a 7x7 map's 4 tiles of F(4x4, 3x3) at batch 1 do not
 * leave half of every thread's work padding.
 */
export function plainTilesPerThread(tiles: number): 4 | 8 {
  return tiles <= 4 ? 4 : 8;
}

/** How the 16 products run: tiled in workgroup memory, or in registers only. */
export type WinogradProductKernel = 'tiled' | 'plain';

/**
 * 'plain' on the CPU adapters (SwiftShader, lavapipe, any fallback adapter), where workgroup
 * barriers are costly and the tiled product ran 2-10x slower on lavapipe; 'plain' too where
 * compatibility mode hides the adapter (Chromium over ANGLE: on lavapipe there 'winograd4' ran
 * 1,246 ms per ResNet18 forward with the tiled product, 6.8x 'direct'); 'tiled' on a GPU.
 */
export function winogradProductKernel(adapter: AdapterDescription): WinogradProductKernel {
  return isCpuAdapter(adapter) || adapter.isFallbackAdapter || adapterHidden(adapter) ? 'plain' : 'tiled';
}

/** Output channels per thread of the register products: a set of four vec4 groups. */
const PLAIN_SET_CHANNELS = 16;

/**
 * Whether the register products of convolution s share their tiles' V across each subgroup
 * (conv2d-winograd-gemm-subgroup.wgsl; the same sums, the same bits): on lavapipe, where the plain
 * kernel's loads of V run lane by lane, when the device has 'subgroups' of one size, 4 or 8 and
 * more lanes that divide the workgroup, and s has enough sets of 16 output channels to give every
 * lane of a workgroup its own (ResNet18: 128 output channels and more; 64 on 8 lanes, as two tile
 * blocks a workgroup: subgroupBlocksPerGroup). ResNet18's products at 224 ran 1.14-1.50x faster
 * there with 128 channels and more; with 64, 0.67-0.68x as one block a workgroup (half the lanes
 * idle), 1.19x (F(4x4)) and 1.30x (F(2x2)) as two; on SwiftShader 0.78-1.17x, no better on the whole
 * (bench/results/2026-12-05-subgroup-kernels{,-two-blocks}.md), so it keeps the plain kernel. Not yet measured on
 * a GPU, which takes the tiled products. Where the grid products run (winogradGridLanes: subgroups
 * of 8), conv2dWinogradDispatches takes them instead by default.
 */
export function winogradSubgroupTiles(ctx: GpuContext, s: Pick<Conv2dShape, 'outChannels'>): boolean {
  const lanes = ctx.fixedSubgroupSize;
  if (ctx.adapter.name !== 'lavapipe' || lanes === null) return false;
  const sets = Math.ceil(s.outChannels / PLAIN_SET_CHANNELS);
  return (lanes === 4 || lanes >= 8) && WG % lanes === 0 && sets * subgroupBlocksPerGroup(lanes, sets) >= lanes;
}

/**
 * Tile blocks per workgroup of the subgroup products: 2 where a convolution's sets fill at most
 * half of a subgroup of 8 lanes or more (each lane then loads one tile of each block, and no lane
 * computes a set twice), else 1. Subgroups of 4 lanes already load two tiles each (TILE_LOADS).
 */
function subgroupBlocksPerGroup(lanes: number, sets: number): 1 | 2 {
  return lanes >= 8 && sets * 2 <= lanes ? 2 : 1;
}

/** Lanes across the channel sets of the grid products (conv2d-winograd-gemm-grid.wgsl). */
export type WinogradGridLanes = 2 | 4 | 8;
const GRID_LANES: readonly WinogradGridLanes[] = [2, 4, 8];
/** The subgroup size the grid products are written for (4 x CHANNEL_LANES a multiple of it). */
const GRID_SUBGROUP = 8;

/**
 * What a layout of the register products loads per input channel, in units of a scalar storage
 * load by every lane (a vec4 costs about 2.3 of them on lavapipe: ~1.7 against ~0.75 ns,
 * conv2d-winograd-gemm-plain.wgsl), times its workgroups: the grid products with `lanes` across
 * the channel sets, on subgroups of 8.
 */
function gridLoadCost(lanes: WinogradGridLanes, sets: number, tiles: number): number {
  const tilesPerThread = plainTilesPerThread(tiles);
  const blockTiles = tilesPerThread * (GRID_SUBGROUP / lanes);
  const workgroups = Math.ceil(tiles / blockTiles) * Math.ceil(sets / lanes);
  return workgroups * (VEC4_LOAD_COST * (4 * lanes) / GRID_SUBGROUP + Math.max(1, tilesPerThread / lanes));
}
const VEC4_LOAD_COST = 2.3;

/**
 * The grid products' lanes across the channel sets for a convolution of `outChannels` and `tiles`
 * Winograd tiles, or null where they do not run: on lavapipe with subgroups of 8 lanes, the layout
 * of the least load cost (gridLoadCost; ties to more channel lanes, the fewer shuffles).
 */
export function winogradGridLanes(ctx: GpuContext, s: Pick<Conv2dShape, 'outChannels'>, tiles: number): WinogradGridLanes | null {
  if (ctx.adapter.name !== 'lavapipe' || ctx.fixedSubgroupSize !== GRID_SUBGROUP) return null;
  const sets = Math.ceil(s.outChannels / PLAIN_SET_CHANNELS);
  let best: WinogradGridLanes = 8;
  for (const lanes of [4, 2] as const) if (gridLoadCost(lanes, sets, tiles) < gridLoadCost(best, sets, tiles)) best = lanes;
  return best;
}

/**
 * Whether the grid products take two input channels a pass (PAIRED): with 2 or 4 lanes across the
 * channel sets, not with 8, whose lanes load 4 vec4 of U each and so hold twice the operands a
 * pass. F(4x4)'s products on lavapipe (one process, interleaved, 25 rounds): paired 0.87 to 0.94x
 * the time of one channel a pass at ResNet18's layers 1 to 3 (2 and 4 lanes), 1.05 to 1.08x at
 * layer4 (8 lanes).
 */
function gridPaired(lanes: WinogradGridLanes): boolean {
  return lanes !== 8;
}

/**
 * Whether the Winograd kernels of this tile size compute this convolution: 3x3, stride 1,
 * padding 1; F(4x4, 3x3) also at stride 2 (isWinogradStride2Shape).
 */
export function isWinogradShape(s: Pick<Conv2dShape, 'kernel' | 'stride' | 'padding'> & { groups?: number }, tile: WinogradTile = 2): boolean {
  return (s.kernel === 3 && s.stride === 1 && s.padding === 1) || (tile === 4 && isWinogradStride2Shape(s));
}

const fName = (tile: WinogradTile, stride = 1) => `F(${tile}x${tile}, 3x3)${stride === 2 ? ' at stride 2' : ''}`;

function checkWinograd(s: Conv2dShape, tile: WinogradTile, label: string): void {
  if (!isWinogradShape(s, tile)) {
    throw new Error(`${label}: Winograd ${fName(tile)} needs kernel 3, stride 1${tile === 4 ? ' or 2' : ''}, padding 1, got k${s.kernel} s${s.stride} p${s.padding}`);
  }
}

/**
 * Float32 elements of U: X x ceil(Cout/4)*4 x Cin, X = winogradFilterPlanes (16 or 36: 16/9 or 4x
 * the packed filter; 36 at stride 2 too).
 */
export function winogradFilterLength(s: Pick<Conv2dShape, 'inChannels' | 'outChannels'> & { stride?: number }, tile: WinogradTile = 2): number {
  return winogradFilterPlanes(tile, s.stride) * Math.ceil(s.outChannels / CONV2D_CHANNEL_BLOCK) * CONV2D_CHANNEL_BLOCK * s.inChannels;
}

/**
 * G, the filter transform's matrix, for each tile size: F(2x2, 3x3) Lavin & Gray's (points 0, +-1
 * and infinity); F(4x4, 3x3) from the points 0, +-3/2, +-2/3 and infinity, scaled so that A^T and
 * B^T, which the activations go through on every forward, have integer entries and G, applied once
 * to the weights, all the fractions (conv2d-winograd4-*.wgsl; why these points: the input shader).
 */
const FILTER_MATRIX: Record<WinogradTile, number[][]> = {
  2: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
  4: [[1 / 36, 0, 0], [1 / 1170, 1 / 780, 1 / 520], [1 / 1170, -1 / 780, 1 / 520], [-1 / 520, -1 / 780, -1 / 1170],
    [-1 / 520, 1 / 780, -1 / 1170], [0, 0, 1 / 36]],
};

/**
 * F(4x4, 3x3) at stride 2 along one dimension (conv2d-winograd4s2-*.wgsl): F(4, 2)'s G at 0, +-1,
 * 2 and infinity on the taps (g0, g2) for the 5 even points, g1 alone for the 4 odd ones.
 */
const FILTER_MATRIX_STRIDE2 = [[1 / 2, 0, 0], [-1 / 2, 0, -1 / 2], [-1 / 6, 0, 1 / 6], [1 / 6, 0, 1 / 3], [0, 0, 1],
  [0, 1, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0]];

/** The plane of U of product (i, j) at stride 2, as shaders/parts/winograd-filter-plane.wgsl reads it. */
function stride2FilterPlane(i: number, j: number): number {
  if (i < 5 && j < 5) return 5 * i + j;
  if (i < 5) return 25 + i;
  return j < 5 ? 30 + j : 35;
}

/**
 * U = G g G^T on the CPU (in float64, rounded once) from torchvision's OIHW filter, in the layout
 * the gemm reads: vec4 (xi*G4 + g)*Cin + c holds U[xi] of output channels 4g .. 4g+3, input c (at
 * stride 2, xi is the plane of U: stride2FilterPlane).
 */
export function winogradFilter(weightOIHW: Float32Array, s: Conv2dShape, tile: WinogradTile = 2): Float32Array {
  checkWinograd(s, tile, 'winogradFilter');
  const { inChannels: cin, outChannels: cout } = s;
  if (weightOIHW.length !== cout * cin * 9) throw new Error(`winogradFilter: weight has ${weightOIHW.length} elements, expected ${cout}x${cin}x3x3`);
  const groups = Math.ceil(cout / CONV2D_CHANNEL_BLOCK);
  const u = new Float32Array(winogradFilterLength(s, tile));
  const strided = s.stride === 2;
  const G = strided ? FILTER_MATRIX_STRIDE2 : FILTER_MATRIX[tile];
  const side = G.length;
  for (let o = 0; o < cout; o++) {
    for (let c = 0; c < cin; c++) {
      const g = weightOIHW.subarray((o * cin + c) * 9, (o * cin + c) * 9 + 9);
      for (let i = 0; i < side; i++) {
        for (let j = 0; j < side; j++) {
          let sum = 0;
          for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) sum += G[i][a] * g[a * 3 + b] * G[j][b];
          const xi = strided ? stride2FilterPlane(i, j) : side * i + j;
          u[(((xi * groups + Math.floor(o / 4)) * cin + c) * 4) + (o % 4)] = sum;
        }
      }
    }
  }
  return u;
}

/** U made on the GPU from the packed filter (packConv2dWeights) into `output` (winogradFilterLength floats). */
export function winogradFilterDispatch(ctx: GpuContext, s: Pick<Conv2dShape, 'inChannels' | 'outChannels'> & { stride?: number },
  b: { weights: GPUBuffer; output: GPUBuffer }, tile: WinogradTile = 2, label = `conv2d-winograd ${fName(tile, s.stride)} filter transform`): Dispatch {
  return ctx.dispatch(label, transformsOf(tile, s.stride ?? 1).filter, {
    constants: { WG },
    params: { inChannels: s.inChannels, outChannels: s.outChannels },
    buffers: [b.weights, b.output],
    workgroups: grid1d(Math.ceil(s.outChannels / CONV2D_CHANNEL_BLOCK) * s.inChannels, WG),
  });
}

/**
 * The three dispatches of one convolution: input transform into `scratch` (V), the 16, 36 or 81 products into
 * `products` (M), output transform with the epilogue into `output`. `weights` holds U (winogradFilter
 * or winogradFilterDispatch); the scratch buffers hold winogradScratchBytes(s) bytes (they may be
 * shared by convolutions that do not run at the same time).
 */
export function conv2dWinogradDispatches(
  ctx: GpuContext,
  s: Conv2dShape,
  b: { input: GPUBuffer; weights: GPUBuffer; scale: GPUBuffer; shift: GPUBuffer; output: GPUBuffer; scratch?: GPUBuffer; products?: GPUBuffer },
  opts: ReluOptions & {
    product?: WinogradProductKernel;
    tile?: WinogradTile;
    /** The register products' stores in a loop or written out, the same values. Default storeLoop(ctx). */
    storeLoop?: boolean;
    /**
     * The register products with V shared across each subgroup, the same bits (needs 'subgroups'
     * of one size). Default winogradSubgroupTiles(ctx, s) where the grid products (gridLanes) do
     * not run; given, it also turns the grid's default off.
     */
    subgroupTiles?: boolean;
    /**
     * The register products with U and V shared across a subgroup of 8 laid out as a grid, this
     * many lanes across the channel sets (the same bits). Default: winogradGridLanes(ctx, s, tiles)
     * unless subgroupTiles is given.
     */
    gridLanes?: WinogradGridLanes | null;
  },
  label = `conv2d-winograd${opts.tile === 4 ? '4' : ''} 3x3${s.stride === 2 ? ' s2' : ''}${opts.relu ? ' relu' : ''}`,
): Dispatch[] {
  const tile = opts.tile ?? 2;
  checkWinograd(s, tile, label);
  const [oh, ow] = conv2dOutputSize(s);
  const { tilesH, tilesW, tiles } = winogradTiles(s, tile);
  const need = winogradScratchBytes(s, tile);
  const products = winogradProducts(tile, s.stride);
  const transforms = transformsOf(tile, s.stride);
  const strided = s.stride === 2 ? 1 : 0;
  if (!b.scratch || b.scratch.size < need.input) throw new Error(`${label}: the transformed input needs a scratch buffer of ${need.input} bytes`);
  if (!b.products || b.products.size < need.products) throw new Error(`${label}: the products need a scratch buffer of ${need.products} bytes`);
  const plain = (opts.product ?? winogradProductKernel(ctx.adapter)) === 'plain';
  const { mode, yRelu } = reluMode(ctx, opts, label);
  const vec4Groups = Math.ceil(s.outChannels / CONV2D_CHANNEL_BLOCK);
  const tilesPerThread = plainTilesPerThread(tiles);
  const sets = Math.ceil(vec4Groups / 4);
  const blocks = Math.ceil(tiles / tilesPerThread);
  const gridLanes = plain ? (opts.gridLanes !== undefined ? opts.gridLanes : opts.subgroupTiles === undefined ? winogradGridLanes(ctx, s, tiles) : null) : null;
  const shared = plain && gridLanes === null && (opts.subgroupTiles ?? winogradSubgroupTiles(ctx, s));
  if (gridLanes !== null) {
    const lanes = ctx.requireFixedSubgroupSize(label, 'grid products');
    if (lanes !== GRID_SUBGROUP || !GRID_LANES.includes(gridLanes)) {
      throw new Error(`${label}: the grid products need subgroups of ${GRID_SUBGROUP} lanes and 2, 4 or 8 of them across the channels; the device has ${lanes}, asked ${gridLanes}`);
    }
  }
  // The subgroup products: one workgroup per (product, tile block, run of sets), one subgroup wide
  // (a width that varied with the layer compiled a pipeline per layer).
  let sharedWG = 0;
  let tileLoads = 1;
  let blocksPerGroup = 1;
  if (shared) {
    const lanes = ctx.requireFixedSubgroupSize(label, 'subgroup-shared tiles');
    if (!(lanes === 4 || lanes >= 8) || WG % lanes !== 0) {
      throw new Error(`${label}: subgroup-shared tiles need subgroups of 4 or 8 to ${WG} lanes; the device has ${lanes}`);
    }
    sharedWG = lanes;
    tileLoads = lanes === 4 && tilesPerThread === 8 ? 2 : 1;
    blocksPerGroup = subgroupBlocksPerGroup(lanes, sets);
  }
  const gridBlockTiles = gridLanes === null ? 0 : tilesPerThread * (GRID_SUBGROUP / gridLanes);
  const gemmGrid: [number, number, number] = gridLanes !== null
    ? grid1d(products * Math.ceil(tiles / gridBlockTiles) * Math.ceil(sets / gridLanes) * GRID_SUBGROUP, GRID_SUBGROUP)
    : shared
      ? grid1d(products * Math.ceil(blocks / blocksPerGroup) * Math.ceil(sets / (sharedWG / blocksPerGroup)) * sharedWG, sharedWG)
      : plain
        ? grid1d(products * sets * blocks, WG)
        : [Math.ceil(tiles / GEMM_TILE), Math.ceil(s.outChannels / GEMM_TILE), products];
  if (gemmGrid[0] > 65535 || gemmGrid[1] > 65535) throw new Error(`${label}: ${gemmGrid.join(' x ')} workgroups exceed the grid limit`);
  const plainConstants = {
    PRODUCTS: products, STRIDED: strided, SUM_BLOCK: tile === 4 ? F4_SUM_BLOCK : 0, TILES_PER_THREAD: tilesPerThread, STORE_LOOP: (opts.storeLoop ?? storeLoop(ctx)) ? 1 : 0,
  };
  return [
    ctx.dispatch(`${label} input transform`, transforms.input, {
      constants: { WG },
      params: { inChannels: s.inChannels, inHeight: s.inHeight, inWidth: s.inWidth, tilesH, tilesW, tiles },
      buffers: [b.input, b.scratch], workgroups: grid1d(s.inChannels * tiles, WG),
    }),
    ctx.dispatch(`${label} products`, gridLanes !== null ? GEMM_GRID : shared ? GEMM_SUBGROUP : plain ? GEMM_PLAIN : GEMM, {
      constants: gridLanes !== null ? { WG: GRID_SUBGROUP, ...plainConstants, CHANNEL_LANES: gridLanes, PAIRED: gridPaired(gridLanes) ? 1 : 0 }
        : shared ? { WG: sharedWG, ...plainConstants, TILE_LOADS: tileLoads, BLOCKS_PER_GROUP: blocksPerGroup }
        : plain ? { WG, ...plainConstants }
          : { WG: 256, STRIDED: strided },
      params: { inChannels: s.inChannels, outChannels: s.outChannels, tiles },
      buffers: [b.weights, b.scratch, b.products], workgroups: gemmGrid,
    }),
    ctx.dispatch(`${label} output transform`, transforms.output, {
      constants: { WG },
      params: { outChannels: s.outChannels, outHeight: oh, outWidth: ow, tilesH, tilesW, tiles, relu: mode },
      buffers: [b.products, b.scale, b.shift, b.output, yRelu], workgroups: grid1d(s.outChannels * tiles, WG),
    }),
  ];
}
