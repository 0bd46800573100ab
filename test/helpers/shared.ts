// Where ../shared is (the data beside the checkout); tests that need it skip with a printed reason.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { CONV2D_VARIANTS, type Conv2dVariant } from '../../src/kernels/conv2d-variants';

export const SHARED = resolve(__dirname, '../../../shared');
export const SHARED_DATA = resolve(SHARED, 'data');
export const PARTIAL_WEIGHTS = resolve(SHARED_DATA, 'weights/resnet18-imagenet1k-v1-partial.pth');
export const TENCH_TAPS = resolve(SHARED_DATA, 'reference/tench-taps.safetensors');
export const SAMPLES = resolve(SHARED_DATA, 'imagenet-samples');

export function sharedMissing(...paths: string[]): string | null {
  const absent = paths.filter((p) => !existsSync(p));
  if (!absent.length) return null;
  const reason = `skipped: ${absent.join(', ')} not found (../shared is beside the checkout only on this project's machines)`;
  console.log(reason);
  return reason;
}

/**
 * GOLDEN_CONV_VARIANT=NAME (e.g. winograd4): the tests against PyTorch's goldens run with that
 * convolution kernel forced (the engine's `convVariant`) instead of the adapter's default, to see how
 * far a kernel's rounding moves the taps and the analysis from PyTorch's. GOLDEN_WINOGRAD_STRIDE2=1
 * or 0 sets the engine's `winogradStride2` too (F(4x4, 3x3)'s stride-2 form for the 3x3 stride-2
 * convolutions).
 */
export function forcedConvVariant(): { convVariant?: Conv2dVariant; winogradStride2?: boolean } {
  const name = process.env.GOLDEN_CONV_VARIANT;
  const stride2 = process.env.GOLDEN_WINOGRAD_STRIDE2;
  const options = stride2 === undefined ? {} : { winogradStride2: stride2 === '1' };
  if (!name) return options;
  if (!(CONV2D_VARIANTS as readonly string[]).includes(name)) throw new Error(`GOLDEN_CONV_VARIANT=${name}: not one of ${CONV2D_VARIANTS.join(', ')}`);
  return { ...options, convVariant: name as Conv2dVariant };
}
