// torchvision's evaluation transform on PIL images, exactly (torchvision 0.14/0.15 with Pillow 9.4):
//   Resize(256)      shorter side -> 256, longer -> int(256 * long / short); PIL BILINEAR (antialiased),
//                    byte-identical to Pillow (resize.ts)
//   CenterCrop(224)  top = int(round((h - 224) / 2.0)), Python's round: halves go to even
//                    (a 341-wide image is cropped from x = 58, not 59); zero padding if the image is smaller
//   ToTensor         float32(v) / 255 in float32
//   Normalize        (x - mean) / std, each step in float32, mean and std as float32
// Every float32 step is one correctly rounded IEEE operation in PyTorch, so computing it in float64 and
// rounding (Math.fround) gives the same bits: on identical pixels the tensor equals PyTorch's exactly.
// Browser-safe.

import { IMAGENET_MEAN, IMAGENET_STD } from '../model/architecture';
import type { HostTensor } from '../util/tensor';
import { type RgbImage, checkRgbImage } from './image';
import { resizeBilinearPil, resizedOutputSize } from './resize';

/** Python 3's round() for the values torchvision feeds it (halves to even). */
export function pythonRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * torchvision's F.center_crop geometry for an image of width x height and a crop of cropWidth x
 * cropHeight: zero padding [left, top, right, bottom] applied first when the crop is larger, then the
 * crop's top-left corner in the padded image.
 */
export function centerCropBox(width: number, height: number, cropWidth: number, cropHeight: number): {
  pad: [number, number, number, number]; left: number; top: number;
} {
  const pad: [number, number, number, number] = [
    cropWidth > width ? Math.floor((cropWidth - width) / 2) : 0,
    cropHeight > height ? Math.floor((cropHeight - height) / 2) : 0,
    cropWidth > width ? Math.floor((cropWidth - width + 1) / 2) : 0,
    cropHeight > height ? Math.floor((cropHeight - height + 1) / 2) : 0,
  ];
  const w = width + pad[0] + pad[2];
  const h = height + pad[1] + pad[3];
  return { pad, top: pythonRound((h - cropHeight) / 2), left: pythonRound((w - cropWidth) / 2) };
}

function checkSize(what: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`${what} ${v} is not a positive integer`);
}

/** torchvision Resize(size) (int size) on a PIL RGB image: the shorter side becomes `size`. */
export function resizeShorter(img: RgbImage, size: number): RgbImage {
  checkRgbImage(img, 'resizeShorter input');
  const [w, h] = resizedOutputSize(img.width, img.height, size);
  if (w === img.width && h === img.height) return { width: w, height: h, data: img.data.slice() };
  return resizeBilinearPil(img, w, h);
}

/** torchvision CenterCrop(size) on a PIL RGB image; `size` is one number (square) or [width, height]. */
export function centerCrop(img: RgbImage, size: number | [number, number]): RgbImage {
  checkRgbImage(img, 'centerCrop input');
  const [cw, ch] = typeof size === 'number' ? [size, size] : size;
  checkSize('crop width', cw);
  checkSize('crop height', ch);
  const { pad, left, top } = centerCropBox(img.width, img.height, cw, ch);
  const out = new Uint8Array(cw * ch * 3); // zeros: torchvision pads with fill 0
  for (let y = 0; y < ch; y++) {
    const sy = top + y - pad[1];
    if (sy < 0 || sy >= img.height) continue;
    for (let x = 0; x < cw; x++) {
      const sx = left + x - pad[0];
      if (sx < 0 || sx >= img.width) continue;
      const s = (sy * img.width + sx) * 3;
      const d = (y * cw + x) * 3;
      out[d] = img.data[s];
      out[d + 1] = img.data[s + 1];
      out[d + 2] = img.data[s + 2];
    }
  }
  return { width: cw, height: ch, data: out };
}

/** float32(v) / 255 for every byte value, as ToTensor computes it. */
const BYTE_TO_UNIT = (() => {
  const t = new Float32Array(256);
  for (let v = 0; v < 256; v++) t[v] = Math.fround(v / 255);
  return t;
})();

/** ToTensor for one or more images of equal size: float32 NCHW [N, 3, H, W], values v / 255. */
export function toTensor(images: RgbImage | RgbImage[]): HostTensor {
  const list = Array.isArray(images) ? images : [images];
  if (!list.length) throw new Error('toTensor: no images');
  const { width, height } = list[0];
  const plane = width * height;
  const data = new Float32Array(list.length * 3 * plane);
  list.forEach((img, n) => {
    checkRgbImage(img, `toTensor image ${n}`);
    if (img.width !== width || img.height !== height) {
      throw new Error(`toTensor: image ${n} is ${img.width}x${img.height}, image 0 is ${width}x${height}`);
    }
    const base = n * 3 * plane;
    for (let i = 0; i < plane; i++) {
      data[base + i] = BYTE_TO_UNIT[img.data[i * 3]];
      data[base + plane + i] = BYTE_TO_UNIT[img.data[i * 3 + 1]];
      data[base + 2 * plane + i] = BYTE_TO_UNIT[img.data[i * 3 + 2]];
    }
  });
  return { shape: [list.length, 3, height, width], data };
}

/** Normalize(mean, std) on an NCHW tensor (new tensor): (x - mean[c]) / std[c], in float32 steps. */
export function normalize(
  x: HostTensor, mean: readonly number[] = IMAGENET_MEAN, std: readonly number[] = IMAGENET_STD,
): HostTensor {
  const [n, c, h, w] = nchw(x, 'normalize');
  if (mean.length !== c || std.length !== c) throw new Error(`normalize: ${c} channels, ${mean.length} means, ${std.length} stds`);
  const out = new Float32Array(x.data.length);
  const plane = h * w;
  for (let ch = 0; ch < c; ch++) {
    const m = Math.fround(mean[ch]);
    const s = Math.fround(std[ch]);
    if (s === 0) throw new Error('normalize: std is zero');
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * plane;
      for (let i = 0; i < plane; i++) out[base + i] = Math.fround(x.data[base + i] - m) / s;
    }
  }
  return { shape: [n, c, h, w], data: out };
}

/** The inverse of ToTensor + Normalize, for looking at tensors: levels round((x * std + mean) * 255). */
export function tensorToRgb(
  x: HostTensor, index = 0, mean: readonly number[] = IMAGENET_MEAN, std: readonly number[] = IMAGENET_STD,
): RgbImage {
  const [n, c, h, w] = nchw(x, 'tensorToRgb');
  if (c !== 3) throw new Error(`tensorToRgb: ${c} channels, need 3`);
  if (index < 0 || index >= n) throw new Error(`tensorToRgb: index ${index} outside batch of ${n}`);
  const plane = h * w;
  const data = new Uint8Array(plane * 3);
  for (let ch = 0; ch < 3; ch++) {
    const base = (index * 3 + ch) * plane;
    for (let i = 0; i < plane; i++) {
      const v = Math.round((x.data[base + i] * std[ch] + mean[ch]) * 255);
      data[i * 3 + ch] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { width: w, height: h, data };
}

export interface EvalOptions {
  /** Resize(resize) on the shorter side; default 256. */
  resize?: number;
  /** CenterCrop(crop); default 224. */
  crop?: number;
  mean?: readonly number[];
  std?: readonly number[];
}

/** The PIL-domain part of the eval transform: Resize(256) then CenterCrop(224), still uint8 RGB. */
export function torchvisionEvalImage(img: RgbImage, options: EvalOptions = {}): RgbImage {
  return centerCrop(resizeShorter(img, options.resize ?? 256), options.crop ?? 224);
}

/** torchvision's eval transform: Resize(256), CenterCrop(224), ToTensor, Normalize -> [1, 3, 224, 224]. */
export function torchvisionEval(img: RgbImage, options: EvalOptions = {}): HostTensor {
  return normalize(toTensor(torchvisionEvalImage(img, options)), options.mean, options.std);
}

/** The eval transform over several images, stacked: [N, 3, 224, 224]. */
export function torchvisionEvalBatch(images: RgbImage[], options: EvalOptions = {}): HostTensor {
  return normalize(toTensor(images.map((img) => torchvisionEvalImage(img, options))), options.mean, options.std);
}

/**
 * The follow-up paper's robustness zoom, as its code applies it (imnet_val.py `validate(scale)`), in
 * the PIL domain: Resize(256), CenterCrop(int(224 * (2 - s))), Resize(224) (PIL bilinear; an upscale),
 * ToTensor, Normalize. s = 1 is the plain eval transform; 1 <= s < 2. (zoom.ts has the same operator on
 * tensors.)
 */
export function torchvisionZoomEval(img: RgbImage, s: number, options: EvalOptions = {}): HostTensor {
  return normalize(toTensor(torchvisionZoomEvalImage(img, s, options)), options.mean, options.std);
}

/** The uint8 part of torchvisionZoomEval: Resize(256), CenterCrop(int(224 (2 - s))), Resize(224). */
export function torchvisionZoomEvalImage(img: RgbImage, s: number, options: EvalOptions = {}): RgbImage {
  if (!(s >= 1 && s < 2)) throw new RangeError(`zoom factor ${s} is outside [1, 2)`);
  const crop = options.crop ?? 224;
  const zoomCrop = Math.trunc(crop * (2 - s));
  const cropped = centerCrop(resizeShorter(img, options.resize ?? 256), zoomCrop);
  return resizeShorter(cropped, crop);
}

/** Concatenate NCHW tensors of equal C, H, W along N. */
export function stackBatch(tensors: HostTensor[]): HostTensor {
  if (!tensors.length) throw new Error('stackBatch: no tensors');
  const [, c, h, w] = nchw(tensors[0], 'stackBatch');
  let n = 0;
  for (const t of tensors) {
    const [tn, tc, th, tw] = nchw(t, 'stackBatch');
    if (tc !== c || th !== h || tw !== w) throw new Error(`stackBatch: shape [${t.shape}] does not match [${tensors[0].shape}]`);
    n += tn;
  }
  const data = new Float32Array(n * c * h * w);
  let at = 0;
  for (const t of tensors) {
    data.set(t.data, at);
    at += t.data.length;
  }
  return { shape: [n, c, h, w], data };
}

/** The [N, C, H, W] of a 4-d tensor, checked against its data length. */
export function nchw(x: HostTensor, what: string): [number, number, number, number] {
  if (x.shape.length !== 4) throw new Error(`${what}: expected an NCHW tensor, got shape [${x.shape}]`);
  const [n, c, h, w] = x.shape;
  if (n * c * h * w !== x.data.length) throw new Error(`${what}: shape [${x.shape}] does not match ${x.data.length} values`);
  return [n, c, h, w];
}
