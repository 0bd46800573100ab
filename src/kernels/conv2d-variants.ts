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
 * rounding (transforms and another summation order). 'winograd4': Winograd F(4x4, 3x3), the same
 * kernels' larger tile: 36 products per 16 outputs where F(2x2, 3x3) needs 16 per 4, a larger
 * transform error (still far below the network's tolerance: test/kernels-conv2d-winograd.test.ts);
 * it has a stride-2 form too (81 products per 16 outputs where 'direct' takes 144), which runs the
 * 3x3 stride-2 padding-1 convolutions where KernelChoices.winogradStride2 is on (winogradStride2For),
 * or a per-layer or per-shape choice names 'winograd4'.
 * 'winograd-mixed': a choice by map size between the two, per convolution (winogradMixedTile):
 * F(4x4, 3x3) where its tiles fill a thread of the register products (at least 4 tiles a map)
 * and it needs fewer products than F(2x2, 3x3), padding included; F(2x2, 3x3) on smaller maps
 * (1x1 to 3x3; 5x5 and 6x6, where both need as many); the default of the CPU adapters.
 */
export type Conv2dVariant = 'direct' | 'rows' | 'gemm' | 'winograd' | 'winograd4' | 'winograd-mixed';
/**
 * What runs a convolution: a variant that names one kernel, or 'grouped'
 * (src/kernels/conv2d-grouped.ts), which every grouped convolution takes whatever the choice.
 */
export type Conv2dRun = Conv2dKernel | 'grouped';
/** The variants that name one kernel each. */
export type Conv2dKernel = Exclude<Conv2dVariant, 'winograd-mixed'>;
export const CONV2D_VARIANTS: readonly Conv2dVariant[] = ['direct', 'rows', 'gemm', 'winograd', 'winograd4', 'winograd-mixed'];
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
 * The most bytes of Winograd filters (U: 16/9 of a 3x3 filter for F(2x2, 3x3)) the per-adapter
 * default may add to a network's weights: 64 MiB for resnet18, 56 for resnet50, 180 for resnet152,
 * 223 for wide_resnet50_2; wide_resnet101_2 (495 MiB) keeps 'rows'.
 */
export const WINOGRAD_FILTER_BUDGET_BYTES = 256 * 2 ** 20;

/**
 * The default kernel of each adapter class, from measurements:
 * - lavapipe: 'winograd-mixed' (F(4x4, 3x3) on the larger maps, F(2x2, 3x3) on the smaller),
 *   while the F(4x4, 3x3) filters of all the network's 3x3 stride-1 convolutions (4x their
 *   weights; winogradWeights) fit WINOGRAD_FILTER_BUDGET_BYTES (resnet18: 144 MiB, resnet50: 125),
 *   else 'winograd' (F(2x2, 3x3): 16/9 of them) within that budget (resnet34, resnet101 and
 *   resnet152, whose F(4x4) filters would take 298, 278 and 404 MiB; wide_resnet50_2), else 'rows'
 *   (wide_resnet101_2).
 *   - Accuracy: F(4x4, 3x3), with its interpolation points and blocked sums, errs about as little
 *     as F(2x2, 3x3) (test/golden-analysis.test.ts: SM values within 7.6e-4 of PyTorch's, readouts
 *     within 8.7e-7 of their scale, against F(2x2)'s 7.0e-4 and 1.2e-6; 'direct': 7.1e-4, 9.3e-7).
 *   - Speed by map size: F(4x4) took 0.5-0.8x F(2x2)'s CPU time in layers 1-3 of ResNet18 at 224,
 *     but 1.1-1.2x on layer4's 7x7 maps at batch 1 while its products kernel took 8 tiles a thread
 *     and the map has 4 (bench/results/2026-12-05-conv-variants-winograd4-blocked-lavapipe.md); at
 *     batch 2 (8 tiles) 0.69x (the kernel tuner, bench/conv-measure.mjs: 21.0 against 30.3 ms, and
 *     21.0 at batch 1). With 4 tiles a thread where a map has no more (plainTilesPerThread) its
 *     products there take 0.81x F(2x2)'s (11.7 against 14.5 ms), but on still smaller maps F(2x2)
 *     wins (1 tile of F(4x4): 11.6 ms against 4.4). Hence winogradMixedTile's rule.
 * - SwiftShader: as lavapipe, and for the same reasons. Since the Winograd kernels are written for
 *   a compiler that unrolls nothing (no loops in the transforms, named accumulators in the
 *   products), ResNet18's batch-1 forward took 658 ms with 'winograd', 542 with 'winograd4' and
 *   1,334 with 'rows' (Node, medians of 5; bench/results/2026-12-05-conv-variants-swiftshader.md);
 *   F(4x4) 0.70-0.77x F(2x2)'s CPU time in layers 1-3, 1.18x in layer4 while its products took 8
 *   tiles a thread there (with 4: layer4's products 30 ms against F(2x2)'s 47).
 * - A real GPU: 'gemm' (an NVIDIA H200: ResNet18's batch-1 forward 3.9 ms against 12.2 ms with
 *   'direct', its convolutions 1.5 ms of GPU time against 9.1 ms; bench/results/2026-12-04-node-nvidia-gemm.md).
 * - Compatibility mode over ANGLE reports no adapter at all: as lavapipe, else 'direct' (measured
 *   only on lavapipe there: Chromium 156, ResNet18's batch-1 forward 107-110 ms with 'winograd',
 *   whose products run in registers where the adapter is hidden, against 175-200 ms with 'direct',
 *   and a first, cold forward of 11-12 s against 16-19; bench/results/2026-12-05-chromium-lavapipe.md.
 *   On a GPU, the H200's measured table chose F(2x2, 3x3) for these convolutions).
 * - Any other fallback adapter: 'direct'.
 */
export function conv2dVariantFor(adapter: AdapterDescription, network?: WinogradNetwork): Conv2dVariant {
  // AdapterDescription.name is 'swiftshader' / 'lavapipe' from vendor, architecture, device and
  // description (llvmpipe included).
  const winograd = winogradWithin(WINOGRAD_FILTER_BUDGET_BYTES, network, winogradStride2For(adapter));
  if (isCpuAdapter(adapter)) return winograd ?? 'rows';
  if (adapterHidden(adapter)) return winograd ?? 'direct';
  if (adapter.isFallbackAdapter) return 'direct';
  return 'gemm';
}

/**
 * A network's weights that Winograd filters are made from (src/model/architecture.ts
 * winogradNetwork): of its 3x3 stride-1 padding-1 convolutions, and of its 3x3 stride-2 ones, which
 * F(4x4, 3x3) runs where winogradStride2 is on.
 */
export interface WinogradNetwork {
  winogradWeights: number;
  winogradStride2Weights?: number;
}

/**
 * The Winograd choice whose filters fit `budget` bytes (null: none): 'winograd-mixed' while all
 * the 3x3 stride-1 filters in F(4x4, 3x3) form would fit, with the stride-2 ones where `stride2`
 * (36 planes of U each as well: 4x the filter; the mix makes F(4x4) filters for the larger maps
 * and F(2x2) for the smaller, and another input size may swap them), else 'winograd' while
 * F(2x2, 3x3)'s fit (it has no stride-2 form).
 */
function winogradWithin(budget: number, network: WinogradNetwork | undefined, stride2: boolean): 'winograd-mixed' | 'winograd' | null {
  const weights = (tile: WinogradTile) => (network?.winogradWeights ?? 0) + (tile === 4 && stride2 ? network?.winogradStride2Weights ?? 0 : 0);
  const bytes = (tile: WinogradTile) => (weights(tile) * 4 * winogradProducts(tile)) / 9;
  if (bytes(4) <= budget) return 'winograd-mixed';
  return bytes(2) <= budget ? 'winograd' : null;
}

/**
 * Whether F(4x4, 3x3)'s stride-2 form runs the 3x3 stride-2 padding-1 convolutions of a network
 * whose variant is 'winograd4' or 'winograd-mixed' (KernelChoices.winogradStride2; else they run
 * 'direct'): where compatibility mode hides the adapter, whose 'direct' takes its GPU form without
 * subgroups. ResNet18's three such convolutions at 224, batch 1, with the adapter hidden and
 * 'subgroups' withheld in Node (bench/conv-measure.mjs --compat, the kernel tuner's timing):
 * lavapipe 12.4 / 13.4 / 20.4 ms against 'direct''s 21.1 / 17.3 / 31.7; SwiftShader 67 / 47 / 74
 * against 178 / 117 / 155. Where the adapter is known 'direct' has forms of its own and the gain
 * is gone: lavapipe with subgroups 17.8 / 15.1 / 16.7 against 14.6 / 14.8 / 13.2 (the subgroup
 * forms of 'direct'); SwiftShader 45 / 65 / 70 against 53 / 55 / 73 (its padded input). Not yet
 * measured on a GPU, whose default ('gemm') runs no Winograd.
 */
export function winogradStride2For(adapter: AdapterDescription): boolean {
  return adapterHidden(adapter);
}

/**
 * The default kernel of a differentiable plan (BackwardPlan: feature visualisation's forward to a
 * tap and input gradient). As conv2dVariantFor, except that where that gives 'winograd-mixed'
 * (lavapipe, SwiftShader, compatibility mode, while the F(4x4, 3x3) filters fit
 * WINOGRAD_FILTER_BUDGET_BYTES; the gradient's take as much again) it takes 'winograd4' for every
 * 3x3 stride-1 convolution and its gradient: its Winograd convolutions took
 * 0.66x the time of F(2x2, 3x3)'s in a feature-visualisation step at batch 8
 * (bench/fv-profile.ts), whose batches give even layer4's maps enough tiles.
 */
export function backwardConv2dVariantFor(adapter: AdapterDescription, network?: WinogradNetwork): Conv2dVariant {
  const forward = conv2dVariantFor(adapter, network);
  return forward === 'winograd-mixed' ? 'winograd4' : forward;
}

/**
 * lavapipe or SwiftShader: the CPU adapters, where a storage load is done lane by lane and costs
 * several multiply-adds (bench/load-cost.mjs), so their kernels are blocked for loads.
 */
export function isCpuAdapter(adapter: AdapterDescription): boolean {
  return adapter.name === 'lavapipe' || adapter.name === 'swiftshader';
}

/**
 * Whether 'direct' convolutions with padding read a copy of their input with the zero padding in
 * memory (a zero-pad dispatch into scratch first, then conv2d.wgsl's PADDED_INPUT, the same bits):
 * on SwiftShader only.
 * - SwiftShader: each tap's clamp into its row and mask for the padding cost about as much as its
 *   load. ResNet18's stem and stride-2 3x3 convolutions at batch 1 ran 1.02-1.43x faster with the
 *   pad included (bench/results/2026-12-06-subgroup-kernels-padded{-swiftshader,}.md, two runs),
 *   its forward 0.91-0.93x the time per round (bench/results/2026-12-06-ab-trees-padded-swiftshader-*.md).
 * - lavapipe: 0.89-1.09x in both its subgroup forms and conv2d.wgsl's CPU form (the same file),
 *   where the loads dominate. Compatibility mode hides the adapter (and runs conv2d.wgsl's GPU
 *   form there, directForm; unmeasured), and a real GPU would pay a pass over the input for
 *   checks that cost it little: off.
 */
export function paddedInputFor(adapter: AdapterDescription): boolean {
  return adapter.name === 'swiftshader';
}

/**
 * Whether a convolution that runs `run` reads a zero-padded copy of its input where padded inputs
 * are on (KernelChoices.paddedInput): 'direct' with padding. The planner, the forward's dispatches
 * and the kernel tuner ask this one rule.
 */
export function readsPaddedInput(run: Conv2dRun, shape: Pick<ConvGeometry, 'padding'>): boolean {
  return run === 'direct' && shape.padding > 0;
}

/** Compatibility mode over ANGLE (Chromium) reports no adapter at all: what runs below is unknown. */
export function adapterHidden(adapter: AdapterDescription): boolean {
  return adapter.featureLevel === 'compatibility' && !adapter.vendor && !adapter.description;
}

/** A caller's choice ('auto' = conv2dVariantFor), checked: an unknown name throws. */
export function resolveConv2dVariant(adapter: AdapterDescription, choice: Conv2dVariant | 'auto',
  network?: WinogradNetwork): Conv2dVariant {
  if (choice === 'auto') return conv2dVariantFor(adapter, network);
  if (!CONV2D_VARIANTS.includes(choice)) {
    throw new Error(`conv2d: unknown variant '${String(choice)}' (expected ${CONV2D_VARIANTS.join(', ')} or auto)`);
  }
  return choice;
}

/**
 * The kernel that really runs a convolution of this kernel size and stride: 'rows' covers 3x3
 * stride 1 only, 'winograd' and 'winograd4' 3x3 stride 1 padding 1 only, 'winograd-mixed' runs one
 * of them by the map size (which it then needs: winogradMixedTile), 'gemm' every shape,
 * the f16 path exists for 'direct' only, and a grouped convolution runs 'grouped' (f32 weights).
 * With `winogradStride2` (KernelChoices.winogradStride2; true for a choice that names this
 * convolution's layer or shape), 'winograd4' and 'winograd-mixed' run 3x3 stride-2 padding-1
 * convolutions by F(4x4, 3x3)'s stride-2 form; F(2x2, 3x3) has none.
 */
export function conv2dVariantRun(variant: Conv2dVariant,
  shape: { kernel: number; stride: number; padding: number; groups?: number } & Partial<ConvGeometry>,
  precision: Conv2dPrecision = 'f32', winogradStride2 = true): Conv2dRun {
  if ((shape.groups ?? 1) > 1) return 'grouped';
  if (precision === 'f16') return 'direct';
  if (variant === 'gemm') return 'gemm';
  const threeByThree = shape.kernel === 3 && shape.stride === 1;
  if (usesWinograd(variant)) {
    if (isWinogradStride2Shape(shape)) return variant !== 'winograd' && winogradStride2 ? 'winograd4' : 'direct';
    if (!threeByThree || shape.padding !== 1) return 'direct';
    if (variant !== 'winograd-mixed') return variant;
    const { inHeight, inWidth } = shape;
    if (inHeight === undefined || inWidth === undefined) {
      throw new Error("internal: 'winograd-mixed' picks its tile by the convolution's map size, which was not given");
    }
    return winogradMixedTile({ inHeight, inWidth }) === 4 ? 'winograd4' : 'winograd';
  }
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
// 'winograd' and 'winograd4': their tiles and scratch (src/kernels/conv2d-winograd.ts), from shapes alone

/** The output tile's side: 2 for F(2x2, 3x3), 4 for F(4x4, 3x3). */
export type WinogradTile = 2 | 4;
export type WinogradVariant = 'winograd' | 'winograd4';

/** Whether a variant names one Winograd kernel ('winograd-mixed' names a choice of two). */
export function isWinogradVariant(v: Conv2dVariant | Conv2dRun): v is WinogradVariant {
  return v === 'winograd' || v === 'winograd4';
}

/** Whether a variant runs its 3x3 stride-1 padding-1 convolutions by Winograd: one tile, or the mix. */
export function usesWinograd(v: Conv2dVariant | Conv2dRun): v is WinogradVariant | 'winograd-mixed' {
  return isWinogradVariant(v) || v === 'winograd-mixed';
}

/**
 * Tiles of F(4x4, 3x3) per image from which 'winograd-mixed' may take it: the register products
 * (conv2d-winograd-gemm-plain.wgsl) give each thread 4 tiles at the least, so below 4 part of every
 * thread's work is padding (lavapipe, 512 channels: F(4x4)'s products of 1 tile took 11.6 ms, as
 * long as of 4, against 4.4 for F(2x2)'s 4 tiles; of 4 tiles, 11.7 against F(2x2)'s 16 in 14.5).
 */
export const WINOGRAD_MIXED_MIN_F4_TILES = 4;

/**
 * The tile 'winograd-mixed' runs a 3x3 stride-1 padding-1 convolution of this map size with:
 * F(4x4, 3x3) where the map has at least WINOGRAD_MIXED_MIN_F4_TILES of its tiles and it needs
 * fewer products than F(2x2, 3x3) over the map, padding included (7x7: 4 tiles of 36 against 16
 * of 16; not 1x1 to 3x3, one tile of 36 against one to four of 16, nor 5x5 or 6x6, 144 against
 * 144), else F(2x2, 3x3). Per image, not per batch: a batch of 4 small maps would fill a thread
 * as well, but then an image's taps would depend, at float32 rounding, on the batch it runs in
 * (the analysis runs its images in batches, and its last batch is smaller).
 */
export function winogradMixedTile(s: Pick<ConvGeometry, 'inHeight' | 'inWidth'>): WinogradTile {
  const image = { batch: 1, inHeight: s.inHeight, inWidth: s.inWidth };
  const products = (tile: WinogradTile) => winogradTiles(image, tile).tiles * winogradProducts(tile);
  return winogradTiles(image, 4).tiles >= WINOGRAD_MIXED_MIN_F4_TILES && products(4) < products(2) ? 4 : 2;
}

export function winogradTileOf(v: WinogradVariant): WinogradTile {
  return v === 'winograd4' ? 4 : 2;
}

/**
 * Whether a convolution is one F(4x4, 3x3)'s stride-2 form computes: 3x3, stride 2, padding 1, not
 * grouped (ResNet18's layer2-4 first convolutions; shaders/conv2d-winograd4s2-input.wgsl).
 */
export function isWinogradStride2Shape(s: { kernel: number; stride: number; padding: number; groups?: number }): boolean {
  return s.kernel === 3 && s.stride === 2 && s.padding === 1 && (s.groups ?? 1) === 1;
}

/**
 * Products per tile: (tile + 2)^2 at stride 1, 16 for F(2x2, 3x3), 36 for F(4x4, 3x3); 81 for
 * F(4x4, 3x3) at stride 2 (9 points a dimension: F(4, 2)'s 5 on the even inputs, 4 on the odd).
 */
export function winogradProducts(tile: WinogradTile, stride = 1): number {
  return stride === 2 ? 81 : (tile + 2) * (tile + 2);
}

/**
 * Planes of U per output and input channel: one per product at stride 1; 36 for F(4x4, 3x3) at
 * stride 2, whose products along an odd point share their filter value (shaders/parts/winograd-filter-plane.wgsl).
 */
export function winogradFilterPlanes(tile: WinogradTile, stride = 1): number {
  return stride === 2 ? 36 : winogradProducts(tile);
}

/**
 * The tile x tile output tiles of a 3x3 padding-1 convolution (stride 1: outputs = inputs; stride
 * 2: half, rounded up): per image and in all.
 */
export function winogradTiles(s: Pick<ConvGeometry, 'batch' | 'inHeight' | 'inWidth'> & { stride?: number }, tile: WinogradTile = 2): { tilesH: number; tilesW: number; tiles: number } {
  const stride = s.stride ?? 1;
  const tilesH = Math.ceil(Math.ceil(s.inHeight / stride) / tile);
  const tilesW = Math.ceil(Math.ceil(s.inWidth / stride) / tile);
  return { tilesH, tilesW, tiles: s.batch * tilesH * tilesW };
}

/**
 * Bytes of the two scratch tensors of a Winograd convolution: the transformed input V (X x Cin x
 * tiles floats, X = winogradProducts) and the products M (X x Cout x tiles), about 4x (F(2x2)) or
 * 2.25x (F(4x4)) the tensor each stands for, more where the last tiles are partial.
 */
export function winogradScratchBytes(s: ConvGeometry, tile: WinogradTile = 2): { input: number; products: number } {
  const { tiles } = winogradTiles(s, tile);
  const x = winogradProducts(tile, s.stride);
  return { input: x * s.inChannels * tiles * 4, products: x * s.outChannels * tiles * 4 };
}
