// Which conv2d kernel runs a convolution: the variants of src/kernels/conv2d.ts, the per-adapter
// default and the shapes each variant covers. No GPU work and no WGSL here, so the forward planner
// can decide a layer's kernel from shapes alone.

import type { AdapterDescription } from '../gpu/context';

/**
 * 'direct': shaders/conv2d.wgsl, any shape. 'rows': shaders/conv2d-rows.wgsl, 3x3 stride 1 only
 * (other shapes run 'direct'). Same bindings, weight layout and bit-identical results.
 */
export type Conv2dVariant = 'direct' | 'rows';
export const CONV2D_VARIANTS: readonly Conv2dVariant[] = ['direct', 'rows'];

/** Where the weights are read from: f32, or f16 weights with f32 arithmetic ('shader-f16'). */
export type Conv2dPrecision = 'f32' | 'f16';

/**
 * The variant measured fastest on this adapter class (bench/conv-variants.mjs; numbers in
 * bench/results/2026-11-29-conv-variants.md): 'rows' on SwiftShader (its 3x3 stride-1 layers take
 * 0.54-0.73x the CPU time, the forward 0.64x) and on lavapipe (those layers 0.71-0.96x, every one
 * of the 13 below 1; the forward 0.83-0.90x). Real GPUs keep 'direct' (not measured here).
 */
export function conv2dVariantFor(adapter: AdapterDescription): Conv2dVariant {
  // AdapterDescription.name is 'swiftshader' / 'lavapipe' from vendor, architecture, device and
  // description (llvmpipe included); compat mode over ANGLE reports nothing and keeps 'direct'.
  if (adapter.name === 'swiftshader' || adapter.name === 'lavapipe') return 'rows';
  return 'direct';
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
 * stride 1 only, and the f16 path exists for 'direct' only.
 */
export function conv2dVariantRun(variant: Conv2dVariant, shape: { kernel: number; stride: number }, precision: Conv2dPrecision = 'f32'): Conv2dVariant {
  if (precision === 'f16') return 'direct';
  return variant === 'rows' && shape.kernel === 3 && shape.stride === 1 ? 'rows' : 'direct';
}
