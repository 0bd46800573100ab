// Decoding image files in Node to 8-bit RGB, as Pillow 9.4's Image.open(f).convert('RGB') does.
// The format is sniffed from the first bytes, never from the file name (ImageNet has PNGs named .JPEG).
//
// JPEG: the exact decoder of jpeg.ts (libjpeg-turbo's integer IDCT, fancy upsampling and colour
//   conversion): byte-identical to Pillow on every test fixture and on the shared ImageNet samples.
//   `jpegDecoder: 'jpeg-js'` selects jpeg-js 0.4 instead (RGB output, our own colour-space decision
//   passed as colorTransform: JFIF -> YCbCr; Adobe transform 0 -> RGB; component ids R,G,B -> RGB;
//   4-component files need an Adobe marker there). jpeg-js replicates chroma instead of interpolating
//   it and truncates in its float colour conversion: decoded pixels 0.5 to 1 level off Pillow on
//   average, up to 4 levels on 4:4:4 files and 30 to 40 at colour edges of 4:2:0 / 4:2:2 files (the
//   tench's input tensor: mean 0.45, max 2 levels). It stays for comparison.
// PNG: pngjs (sync), then Pillow's convert('RGB') rules: alpha is dropped, not composited; a tRNS
//   colour is ignored (pngjs would zero those pixels, so the chunk is removed first); 1/2/4-bit grey
//   is scaled by 255/85/17; 16-bit RGB(A) and grey+alpha keep the high byte; 16-bit grey is Pillow
//   mode "I", whose conversion to RGB clips at 255 (so most 16-bit grey images come out white, as they
//   do in Pillow); palettes are looked up.
//   Known differences on damaged PNGs only: pngjs refuses a file whose data ends before IEND even when
//   every pixel row is present, and checks IDAT CRCs; Pillow accepts both.
// Refused, with a one-line ImageDecodeError naming the file: empty, truncated or corrupt files,
// unknown formats, zero sizes, and more than `maxPixels` pixels (checked from the header, before any
// pixel memory is allocated).

import { readFileSync, statSync } from 'node:fs';
import { decode as jpegJsDecode } from 'jpeg-js';
import { PNG } from 'pngjs';
import { type RgbImage, ImageDecodeError, MAX_IMAGE_PIXELS, sniffImageFormat } from './image';
import { decodeJpeg, isJpegDataError, jpegInfo } from './jpeg';

export interface NodeDecodeOptions {
  /** Refuse images with more pixels than this. Default 100 MP. */
  maxPixels?: number;
  /** 'exact' (default): jpeg.ts, Pillow-identical. 'jpeg-js': the jpeg-js package. */
  jpegDecoder?: 'exact' | 'jpeg-js';
}

/** Files larger than this are not read at all (a 100 MP PNG of noise is about 300 MB). */
const MAX_FILE_BYTES = 1024 * 1024 * 1024;

/** Decode a JPEG or PNG held in memory; `name` labels errors (a file name or URL). */
export function decodeImageBytes(bytes: Uint8Array, name: string, options: NodeDecodeOptions = {}): RgbImage {
  const maxPixels = options.maxPixels ?? MAX_IMAGE_PIXELS;
  if (bytes.length === 0) throw new ImageDecodeError(name, 'empty file');
  const format = sniffImageFormat(bytes);
  try {
    if (format === 'jpeg') {
      return options.jpegDecoder === 'jpeg-js' ? decodeJpegJs(bytes, maxPixels) : decodeJpeg(bytes, { maxPixels });
    }
    if (format === 'png') return decodePng(bytes, maxPixels);
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    const what = format === 'jpeg' ? 'JPEG' : 'PNG';
    if (e instanceof RangeError) throw new ImageDecodeError(name, `${what}: out of memory (${e.message})`);
    const msg = e instanceof Error ? e.message : String(e);
    const reason = isJpegDataError(e) ? msg : describeLibraryError(msg);
    // Pillow (without ImageFile.LOAD_TRUNCATED_IMAGES) refuses truncated files; so do we, and say so.
    const note = /^truncated/.test(reason) ? '; truncated images are refused, not filled with grey' : '';
    throw new ImageDecodeError(name, `${what}: ${reason}${note}`);
  }
  throw new ImageDecodeError(name, `not a JPEG or PNG image (first bytes ${hex(bytes.subarray(0, 8))})`);
}

/** Read and decode an image file (JPEG or PNG) to RGB. Errors are ImageDecodeError naming `path`. */
export function decodeImageFile(path: string, options: NodeDecodeOptions = {}): RgbImage {
  let bytes: Uint8Array;
  try {
    const size = statSync(path).size;
    if (size > MAX_FILE_BYTES) throw new ImageDecodeError(path, `file of ${size} bytes is larger than ${MAX_FILE_BYTES}`);
    bytes = readFileSync(path);
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new ImageDecodeError(path, err.code === 'ENOENT' ? 'no such file' : `cannot read (${err.code ?? err.message})`);
  }
  return decodeImageBytes(bytes, path, options);
}

function hex(b: Uint8Array): string {
  return Array.from(b, (v) => v.toString(16).padStart(2, '0')).join(' ');
}

/** Library messages made readable; pngjs reports a truncated stream in stream jargon. */
function describeLibraryError(msg: string): string {
  if (/read requests waitng|read requests waiting|unexpected end|ran out of data/i.test(msg)) return 'truncated or corrupt data (the stream ends early)';
  return msg;
}

// ---------------------------------------------------------------------------------------------
// jpeg-js, for comparison.

function decodeJpegJs(bytes: Uint8Array, maxPixels: number): RgbImage {
  const info = jpegInfo(bytes); // also refuses oversized frames before jpeg-js allocates anything
  if (info.width * info.height > maxPixels) throw new Error(`${info.width}x${info.height} is larger than the limit of ${maxPixels} pixels`);
  const colorTransform = info.colorSpace === 'ycbcr' || info.colorSpace === 'ycck';
  const out = jpegJsDecode(bytes, {
    useTArray: true,
    formatAsRGBA: false, // 3 bytes per pixel: RGB, greyscale replicated, CMYK converted
    colorTransform,
    tolerantDecoding: false,
    maxResolutionInMP: Math.max(1, Math.ceil(maxPixels / 1e6)),
    maxMemoryUsageInMB: 2048,
  });
  return { width: out.width, height: out.height, data: new Uint8Array(out.data.buffer, out.data.byteOffset, out.width * out.height * 3) };
}

// ---------------------------------------------------------------------------------------------
// PNG.

const PNG_COLOR_TYPES: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

/** Header checks from IHDR, and the file with any tRNS chunk of a grey or RGB image removed. */
function preparePng(bytes: Uint8Array, maxPixels: number): { data: Uint8Array; depth: number; colorType: number } {
  if (bytes.length < 33) throw new Error('truncated (no complete header)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(8) !== 13 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') throw new Error('first chunk is not IHDR');
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const depth = bytes[24];
  const colorType = bytes[25];
  if (width === 0 || height === 0) throw new Error(`zero size ${width}x${height}`);
  if (width * height > maxPixels) throw new Error(`${width}x${height} is larger than the limit of ${maxPixels} pixels`);
  if (!PNG_COLOR_TYPES[colorType]?.includes(depth)) throw new Error(`bad colour type ${colorType} with bit depth ${depth}`);
  if (colorType !== 0 && colorType !== 2) return { data: withoutTrailer(bytes, view), depth, colorType };
  // Drop tRNS: Pillow's convert('RGB') ignores it, pngjs would blacken the matching pixels.
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  let pos = 8;
  let dropped = false;
  let sawIend = false;
  while (pos + 12 <= bytes.length) {
    const len = view.getUint32(pos);
    const end = pos + 12 + len;
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    if (end > bytes.length) break;
    if (type === 'tRNS') dropped = true;
    else parts.push(bytes.subarray(pos, end));
    pos = end;
    if (type === 'IEND') {
      sawIend = true;
      break;
    }
  }
  if (!dropped) return { data: withoutTrailer(bytes, view), depth, colorType };
  if (pos < bytes.length && !sawIend) parts.push(bytes.subarray(pos));
  const total = parts.reduce((a, p) => a + p.length, 0);
  const data = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return { data, depth, colorType };
}

/** The file up to the end of its IEND chunk: Pillow ignores bytes after IEND, pngjs refuses them. */
function withoutTrailer(bytes: Uint8Array, view: DataView): Uint8Array {
  let pos = 8;
  while (pos + 12 <= bytes.length) {
    const end = pos + 12 + view.getUint32(pos);
    if (end > bytes.length) break;
    if (bytes[pos + 4] === 0x49 && bytes[pos + 5] === 0x45 && bytes[pos + 6] === 0x4e && bytes[pos + 7] === 0x44) return bytes.subarray(0, end); // IEND
    pos = end;
  }
  return bytes;
}

function decodePng(bytes: Uint8Array, maxPixels: number): RgbImage {
  const { data, depth, colorType } = preparePng(bytes, maxPixels);
  const png = PNG.sync.read(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { skipRescale: depth === 16 });
  const { width, height } = png;
  const n = width * height;
  const src = png.data;
  if (src.length < n * 4) throw new Error('truncated or corrupt data');
  const rgb = new Uint8Array(n * 3);
  if (depth === 16 && colorType === 0) {
    // Pillow mode "I" -> "RGB" (i2rgb): values clip at 255.
    for (let i = 0; i < n; i++) {
      const v = src[i * 4];
      rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = v > 255 ? 255 : v;
    }
  } else if (depth === 16) {
    // "RGB;16B", "RGBA;16B", "LA;16B": the most significant byte.
    for (let i = 0; i < n; i++) {
      rgb[i * 3] = src[i * 4] >> 8;
      rgb[i * 3 + 1] = src[i * 4 + 1] >> 8;
      rgb[i * 3 + 2] = src[i * 4 + 2] >> 8;
    }
  } else {
    for (let i = 0; i < n; i++) {
      rgb[i * 3] = src[i * 4];
      rgb[i * 3 + 1] = src[i * 4 + 1];
      rgb[i * 3 + 2] = src[i * 4 + 2];
    }
  }
  return { width, height, data: rgb };
}
