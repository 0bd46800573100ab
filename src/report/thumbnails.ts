// Thumbnails of probe images for the report: centre-crop to a square, then area-average down to a
// small size, and as a PNG data: URI. Browser-safe.

import type { RgbImage } from '../image/image';
import { pngDataUri } from '../image/png';

/** Centre square of the image, area-averaged to size x size (RGB). */
export function thumbnail(image: RgbImage, size = 64): RgbImage {
  const side = Math.min(image.width, image.height);
  const x0 = Math.floor((image.width - side) / 2);
  const y0 = Math.floor((image.height - side) / 2);
  const out = new Uint8Array(size * size * 3);
  const scale = side / size;
  for (let ty = 0; ty < size; ty++) {
    const sy0 = ty * scale;
    const sy1 = sy0 + scale;
    for (let tx = 0; tx < size; tx++) {
      const sx0 = tx * scale;
      const sx1 = sx0 + scale;
      const acc = [0, 0, 0];
      let weight = 0;
      for (let y = Math.floor(sy0); y < Math.ceil(sy1); y++) {
        const wy = Math.min(y + 1, sy1) - Math.max(y, sy0);
        for (let x = Math.floor(sx0); x < Math.ceil(sx1); x++) {
          const w = wy * (Math.min(x + 1, sx1) - Math.max(x, sx0));
          const o = ((y0 + y) * image.width + x0 + x) * 3;
          acc[0] += w * image.data[o];
          acc[1] += w * image.data[o + 1];
          acc[2] += w * image.data[o + 2];
          weight += w;
        }
      }
      const o = (ty * size + tx) * 3;
      for (let c = 0; c < 3; c++) out[o + c] = Math.round(acc[c] / weight);
    }
  }
  return { width: size, height: size, data: out };
}

/** A thumbnail (centre square, area-averaged to size x size) as a PNG data: URI. */
export function thumbnailDataUri(image: RgbImage, size = 64): string {
  return pngDataUri(thumbnail(image, size));
}
