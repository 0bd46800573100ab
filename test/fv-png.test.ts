// The saved probe format: Lucent's 8-bit conversion (truncation) and a PNG that decoders read back
// to the same pixels.

import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { encodePngRgb, rgb8ToTensor, toRgb8 } from '../src/featureviz/png';

describe('probe PNG', () => {
  it('converts as (img * 255).astype(uint8): float32 product, truncated', () => {
    // One 1x2 image: values chosen around the truncation boundaries.
    const images = Float32Array.from([1, 0.5, 0.999, 0, 0.00392, 0.2]);
    const rgb = toRgb8(images, 0, 1, 2);
    // pixel 0: R = 255, G = trunc(254.745) = 254, B = trunc(0.9996) = 0; pixel 1: 127, 0, 51
    expect(Array.from(rgb)).toEqual([255, 254, 0, 127, 0, 51]);
    const back = rgb8ToTensor(rgb, 1, 2);
    expect(back[0]).toBe(1);
    expect(back[1]).toBeCloseTo(127 / 255, 7);
  });

  it('writes a PNG that pngjs decodes to the same RGB', () => {
    const [w, h] = [7, 5];
    const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37 + 11) % 256);
    const png = encodePngRgb(rgb, w, h);
    const decoded = PNG.sync.read(Buffer.from(png), { checkCRC: true });
    expect([decoded.width, decoded.height]).toEqual([w, h]);
    const back = Array.from({ length: w * h * 3 }, (_, i) => decoded.data[Math.floor(i / 3) * 4 + (i % 3)]);
    expect(back).toEqual(Array.from(rgb));
  });
});
