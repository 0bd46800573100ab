// Which conv2d kernel runs a convolution: the variants of src/kernels/conv2d.ts, the per-adapter
// default and the shapes each variant covers. No GPU work and no WGSL here, so the forward planner
// can decide a layer's kernel from shapes alone.

import type { AdapterDescription } from '../gpu/context';

/**
 * 'direct': shaders/conv2d.wgsl, any shape. 'rows': shaders/conv2d-rows.wgsl, 3x3 stride 1 only
 * (other shapes run 'direct'); the two give bit-identical results, one dispatch each
 * (conv2dDispatch). 'gemm': the tiled implicit GEMM with split-K (src/kernels/conv2d-gemm.ts, one
 * or two dispatches and a scratch tensor: conv2dGemmDispatches), results equal to float32 rounding.
 * 'winograd': Winograd F(2x2, 3x3) for 3x3 stride-1 padding-1 convolutions (src/kernels/conv2d-winograd.ts,
 * three dispatches and two scratch tensors; other shapes run 'direct'), results equal to float32
 * rounding (transforms and another summation order).
 */
export type Conv2dVariant = 'direct' | 'rows' | 'gemm' | 'winograd';
/**
 * What runs a convolution: a variant, or 'grouped' (src/kernels/conv2d-grouped.ts), which every
 * grouped convolution takes whatever the choice.
 */
export type Conv2dRun = Conv2dVariant | 'grouped';
export const CONV2D_VARIANTS: readonly Conv2dVariant[] = ['direct', 'rows', 'gemm', 'winograd'];
/** The variants conv2dDispatch makes in one dispatch. */
export const SINGLE_DISPATCH_VARIANTS: readonly Conv2dVariant[] = ['direct', 'rows'];

/** One convolution's geometry: what a kernel's speed depends on besides the adapter. */
export interface ConvGeometry {
  batch: number;
  inChannels: number;
  inHeight: number;
  inWidth: number;
  outChannels: number;
  kernel: number;
  stride: number;
  padding: number;
}

/** A geometry as a kernel table's key: 'b1 64x56x56 -> 64 k3 s1 p1'. */
export function convShapeKey(g: ConvGeometry): string {
  return `b${g.batch} ${g.inChannels}x${g.inHeight}x${g.inWidth} -> ${g.outChannels} k${g.kernel} s${g.stride} p${g.padding}`;
}

/** Where the weights are read from: f32, or f16 weights with f32 arithmetic ('shader-f16'). */
export type Conv2dPrecision = 'f32' | 'f16';

/**
 * The kernel measured fastest on this adapter class: 'rows' on SwiftShader (its 3x3 stride-1
 * layers take 0.54-0.73x the CPU time, the forward 0.64x) and on lavapipe (those layers 0.71-0.96x,
 * the forward 0.83-0.90x; bench/results/2026-11-29-conv-variants.md); 'gemm' on a real GPU (an
 * NVIDIA H200: ResNet18's batch-1 forward 3.9 ms against 12.2 ms with 'direct', its convolutions
 * 1.5 ms of GPU time against 9.1 ms; bench/results/2026-12-04-node-nvidia-gemm.md). Compatibility
 * mode over ANGLE reports no adapter at all and keeps 'direct' (measured only on lavapipe there),
 * as does any other fallback adapter.
 */
export function conv2dVariantFor(adapter: AdapterDescription): Conv2dVariant {
  // AdapterDescription.name is 'swiftshader' / 'lavapipe' from vendor, architecture, device and
  // description (llvmpipe included).
  if (adapter.name === 'swiftshader' || adapter.name === 'lavapipe') return 'rows';
  if (adapter.featureLevel === 'compatibility' && !adapter.vendor && !adapter.description) return 'direct';
  if (adapter.isFallbackAdapter) return 'direct';
  return 'gemm';
}

/** A caller's choice ('auto' = conv2dVariantFor), checked: an unknown name throws. */
export function resolveConv2dVariant(adapter: AdapterDescription, choice: Conv2dVariant | 'auto'): Conv2dVariant {
  if (choice === 'auto') return conv2dVariantFor(adapter);
  if (!CONV2D_VARIANTS.includes(choice)) {
    throw new Error(`conv2d: unknown variant '${String(choice)}' (expected ${CONV2D_VARIANTS.join(', ')} or auto)`);
  }
  return choice;
}

/**
 * The variant that really runs a convolution of this kernel size and stride: 'rows' covers 3x3
 * stride 1 only, 'winograd' 3x3 stride 1 padding 1 only, 'gemm' every shape, the f16 path exists
 * for 'direct' only, and a grouped convolution runs 'grouped' (f32 weights).
 */
export function conv2dVariantRun(variant: Conv2dVariant, shape: { kernel: number; stride: number; padding: number; groups?: number },
  precision: Conv2dPrecision = 'f32'): Conv2dRun {
  if ((shape.groups ?? 1) > 1) return 'grouped';
  if (precision === 'f16') return 'direct';
  if (variant === 'gemm') return 'gemm';
  const threeByThree = shape.kernel === 3 && shape.stride === 1;
  if (variant === 'winograd') return threeByThree && shape.padding === 1 ? 'winograd' : 'direct';
  return variant === 'rows' && threeByThree ? 'rows' : 'direct';
}

// ---------------------------------------------------------------------------------------------
// 'gemm': how a convolution splits over its taps (shaders/conv2d-gemm.wgsl), from shapes alone

/** Output channels x pixels of one gemm workgroup's tile. */
export const TILE = 64;
/** Taps staged per step of the gemm's K loop. */
const STEP = 16;
/** Workgroups a split aims for: enough to fill a large GPU (over 100 compute units) twice. */
const TARGET_WORKGROUPS = 256;
/** The smallest chunk of taps worth a split of its own. */
const MIN_CHUNK = 4 * STEP;

type GemmShape = ConvGeometry;

function gemmPixels(s: GemmShape): number {
  const oh = Math.floor((s.inHeight + 2 * s.padding - s.kernel) / s.stride) + 1;
  const ow = Math.floor((s.inWidth + 2 * s.padding - s.kernel) / s.stride) + 1;
  return s.batch * oh * ow;
}

/**
 * How many chunks a 'gemm' convolution splits its taps into (1: no split, the epilogue runs in
 * the GEMM pass). A layer with few output tiles and many taps (ResNet18's layer4 at batch 1: 8
 * tiles over 4,608 taps) gives a GPU a handful of long workgroups; a split gives it more.
 */
export function gemmSplitK(s: GemmShape): number {
  const tiles = Math.ceil(gemmPixels(s) / TILE) * Math.ceil(s.outChannels / TILE);
  const taps = s.inChannels * s.kernel * s.kernel;
  if (tiles >= TARGET_WORKGROUPS / 2) return 1;
  return Math.max(1, Math.min(Math.ceil(TARGET_WORKGROUPS / tiles), Math.floor(taps / MIN_CHUNK)));
}

/** Bytes of the split-K scratch a 'gemm' convolution needs (0 when it does not split). */
export function gemmScratchBytes(s: GemmShape): number {
  const split = gemmSplitK(s);
  return split === 1 ? 0 : split * s.outChannels * gemmPixels(s) * 4;
}

// ---------------------------------------------------------------------------------------------
// 'winograd': its tiles and scratch (src/kernels/conv2d-winograd.ts), from shapes alone

/** The 2x2 output tiles of a 3x3 stride-1 padding-1 convolution (outputs = inputs): per image and in all. */
export function winogradTiles(s: ConvGeometry): { tilesH: number; tilesW: number; tiles: number } {
  const tilesH = Math.ceil(s.inHeight / 2);
  const tilesW = Math.ceil(s.inWidth / 2);
  return { tilesH, tilesW, tiles: s.batch * tilesH * tilesW };
}

/**
 * Bytes of the two scratch tensors of a 'winograd' convolution: the transformed input V (16 x Cin
 * x tiles floats) and the products M (16 x Cout x tiles), each about 4x the tensor it stands for.
 */
export function winogradScratchBytes(s: ConvGeometry): { input: number; products: number } {
  const { tiles } = winogradTiles(s);
  return { input: 16 * s.inChannels * tiles * 4, products: 16 * s.outChannels * tiles * 4 };
}
