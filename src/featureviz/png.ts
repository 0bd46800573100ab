// The saved probe: the sigmoid image as an 8-bit RGB PNG, as the paper's code saves it
// (Image.fromarray((img * 255).astype(np.uint8)): float32 multiply, then truncation toward zero),
// and back to a [0, 1] tensor (ToTensor: / 255) for re-measurement. Browser-safe: the PNG is
// written by the project's encoder (src/image/png.ts), no Node APIs.

import { encodePng } from '../image/png';

/** Image n of an NCHW [N, 3, H, W] batch in [0, 1] as 8-bit interleaved RGB (Lucent's truncation). */
export function toRgb8(images: Float32Array, n: number, height: number, width: number): Uint8Array {
  const plane = height * width;
  const rgb = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    const base = (n * 3 + c) * plane;
    for (let i = 0; i < plane; i++) {
      const v = Math.trunc(Math.fround(images[base + i] * 255));
      rgb[i * 3 + c] = Math.min(255, Math.max(0, v));
    }
  }
  return rgb;
}

/** 8-bit interleaved RGB -> planar [3, H, W] float32 in [0, 1] (torchvision ToTensor). */
export function rgb8ToTensor(rgb: Uint8Array, height: number, width: number): Float32Array {
  const plane = height * width;
  const t = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) t[c * plane + i] = rgb[i * 3 + c] / 255;
  }
  return t;
}

/** An 8-bit RGB, non-interlaced PNG (filter 0 on every row) of interleaved RGB bytes. */
export function encodePngRgb(rgb: Uint8Array, width: number, height: number): Uint8Array {
  if (rgb.length !== width * height * 3) throw new Error(`PNG: ${rgb.length} bytes for a ${width}x${height} RGB image`);
  return encodePng({ width, height, data: rgb });
}
