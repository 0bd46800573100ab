// Images in web pages to 8-bit RGB (the same RgbImage as decode-node.ts). Browser-only APIs, no Node
// imports. Two routes:
// - decodeBrowserImage(source): the browser's own decoder, read back through an OffscreenCanvas
//   (getImageData, alpha dropped as Pillow's convert('RGB') does). Browsers may colour-manage
//   (ICC profiles, gamma) and Chromium's JPEG path is libjpeg-turbo with its own settings, so pixels can
//   differ from Pillow's by a few levels. Use it for PNGs and anything that is not a JPEG.
// - decodeJpegExact(bytes): the pure TypeScript decoder of jpeg.ts, byte-identical to Pillow 9.4 on
//   JPEGs; what the engine should use when a page holds the JPEG bytes (fetch -> arrayBuffer).
// decodeBrowserBlob picks: JPEG bytes -> exact decoder, everything else -> the browser.

import { type RgbImage, ImageDecodeError, MAX_IMAGE_PIXELS, sniffImageFormat } from './image';
import { decodeJpeg, isJpegDataError } from './jpeg';

export type BrowserImageSource = ImageBitmap | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | ImageData;

/** RGBA (ImageData layout) to RGB: alpha dropped, not composited. */
export function rgbaToRgb(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number): RgbImage {
  const n = width * height;
  if (rgba.length < n * 4) throw new Error(`rgbaToRgb: ${rgba.length} bytes do not hold ${width}x${height} RGBA`);
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    data[i * 3] = rgba[i * 4];
    data[i * 3 + 1] = rgba[i * 4 + 1];
    data[i * 3 + 2] = rgba[i * 4 + 2];
  }
  return { width, height, data };
}

function sourceSize(source: BrowserImageSource): [number, number] {
  if (typeof HTMLImageElement !== 'undefined' && source instanceof HTMLImageElement) {
    return [source.naturalWidth, source.naturalHeight];
  }
  return [source.width, source.height];
}

/** Read pixels of any drawable source as RGB, through an OffscreenCanvas. `label` names it in errors. */
export function decodeBrowserImage(source: BrowserImageSource, label = 'image', maxPixels = MAX_IMAGE_PIXELS): RgbImage {
  if (typeof ImageData !== 'undefined' && source instanceof ImageData) {
    return rgbaToRgb(source.data, source.width, source.height);
  }
  const [width, height] = sourceSize(source);
  if (!width || !height) throw new ImageDecodeError(label, `zero size ${width}x${height} (not loaded, or not an image)`);
  if (width * height > maxPixels) throw new ImageDecodeError(label, `${width}x${height} is larger than the limit of ${maxPixels} pixels`);
  if (typeof OffscreenCanvas === 'undefined') throw new ImageDecodeError(label, 'OffscreenCanvas is not available here');
  const canvas = new OffscreenCanvas(width, height);
  // Unpremultiplied sRGB readback; no smoothing since the size is unchanged.
  const ctx = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' } as CanvasRenderingContext2DSettings);
  if (!ctx) throw new ImageDecodeError(label, 'no 2d context on OffscreenCanvas');
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(source as CanvasImageSource, 0, 0);
  const pixels = ctx.getImageData(0, 0, width, height);
  return rgbaToRgb(pixels.data, width, height);
}

/** Pillow-identical JPEG decoding from bytes (pure TypeScript). */
export function decodeJpegExact(bytes: Uint8Array, label = 'image', maxPixels = MAX_IMAGE_PIXELS): RgbImage {
  try {
    return decodeJpeg(bytes, { maxPixels });
  } catch (e) {
    if (isJpegDataError(e)) throw new ImageDecodeError(label, `JPEG: ${e.message}`);
    throw e;
  }
}

/** A Blob or File: JPEGs through the exact decoder, other formats through the browser's decoder. */
export async function decodeBrowserBlob(blob: Blob, label = (blob as File).name ?? 'blob', maxPixels = MAX_IMAGE_PIXELS): Promise<RgbImage> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  if (bytes.length === 0) throw new ImageDecodeError(label, 'empty file');
  if (sniffImageFormat(bytes) === 'jpeg') return decodeJpegExact(bytes, label, maxPixels);
  let bitmap: ImageBitmap;
  try {
    // Keep the stored pixel values: no ICC/gamma conversion, no premultiplication (Pillow applies
    // neither). Browsers apply EXIF orientation regardless; PNGs rarely carry it.
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new ImageDecodeError(label, `the browser cannot decode it (${e instanceof Error ? e.message : String(e)})`);
  }
  try {
    return decodeBrowserImage(bitmap, label, maxPixels);
  } finally {
    bitmap.close();
  }
}
