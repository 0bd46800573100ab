// The image type every module of src/image/ passes around, and the one error decoding throws.
// Browser-safe: no Node imports.

/** An 8-bit RGB image, rows top to bottom, pixels interleaved R G B (PIL's mode 'RGB'). */
export interface RgbImage {
  width: number;
  height: number;
  /** width * height * 3 bytes. */
  data: Uint8Array;
}

/** A decoding failure. The message is one line and names the file (or the source's label). */
export class ImageDecodeError extends Error {
  readonly file: string;
  constructor(file: string, reason: string) {
    super(`${file}: ${oneLine(reason)}`);
    this.name = 'ImageDecodeError';
    this.file = file;
  }
}

/** Images larger than this are refused before any pixel memory is allocated (PIL's own bomb limit
 *  is 89.5 MP for a warning and 179 MP for an error; 100 MP is ample for photographs). */
export const MAX_IMAGE_PIXELS = 100_000_000;

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** Check that an image's fields are consistent; throws a plain Error naming `what` otherwise. */
export function checkRgbImage(img: RgbImage, what = 'image'): void {
  const { width, height, data } = img;
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1) {
    throw new Error(`${what}: size ${width}x${height} is not a positive integer size`);
  }
  if (!(data instanceof Uint8Array) || data.length !== width * height * 3) {
    throw new Error(`${what}: ${data?.length} bytes do not hold a ${width}x${height} RGB image (${width * height * 3})`);
  }
}

/** Copy out a rectangle; every part of it must lie inside the image. */
export function cropRgb(img: RgbImage, left: number, top: number, width: number, height: number): RgbImage {
  if (left < 0 || top < 0 || left + width > img.width || top + height > img.height || width < 1 || height < 1) {
    throw new Error(`crop ${width}x${height} at (${left}, ${top}) lies outside the ${img.width}x${img.height} image`);
  }
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * img.width + left) * 3;
    out.set(img.data.subarray(from, from + width * 3), y * width * 3);
  }
  return { width, height, data: out };
}

/** The format from the first bytes (never the file name): 'jpeg' (FF D8 FF), 'png' (the 8-byte PNG
 *  signature), or null. */
export function sniffImageFormat(bytes: Uint8Array): 'jpeg' | 'png' | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && sig.every((v, i) => bytes[i] === v)) return 'png';
  return null;
}
