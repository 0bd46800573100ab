// The saved probe: the sigmoid image as an 8-bit RGB PNG, as the paper's code saves it
// (Image.fromarray((img * 255).astype(np.uint8)): float32 multiply, then truncation toward zero),
// and back to a [0, 1] tensor (ToTensor: / 255) for re-measurement. Browser-safe: the PNG is
// written with fflate's zlib and a CRC-32 table, no Node APIs.

import { zlibSync } from 'fflate';

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

let crcTable: Uint32Array | null = null;

function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** An 8-bit RGB, non-interlaced PNG (filter 0 on every row) of interleaved RGB bytes. */
export function encodePngRgb(rgb: Uint8Array, width: number, height: number): Uint8Array {
  if (rgb.length !== width * height * 3) throw new Error(`PNG: ${rgb.length} bytes for a ${width}x${height} RGB image`);
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: truecolour
  const raw = new Uint8Array(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    raw[y * (1 + width * 3)] = 0;
    raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (1 + width * 3) + 1);
  }
  const parts = [
    Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlibSync(raw, { level: 6 })),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
