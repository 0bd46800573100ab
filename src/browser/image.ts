// Images in a page to the network's input: any drawable source (ImageBitmap, <img>, <canvas>,
// OffscreenCanvas, ImageData), a Blob / File (JPEGs through the Pillow-exact decoder), or RGB bytes,
// through torchvision's eval transform (Resize(256), CenterCrop(224), ToTensor, Normalize).

import { type BrowserImageSource, decodeBrowserBlob, decodeBrowserImage } from '../image/decode-browser';
import type { RgbImage } from '../image/image';
import { type EvalOptions, torchvisionEval, torchvisionEvalBatch } from '../image/transforms';
import type { HostTensor } from '../weights/safetensors';

/** What imageToTensor accepts. */
export type ImageSource = BrowserImageSource | Blob | RgbImage;

function isRgbImage(x: unknown): x is RgbImage {
  const r = x as RgbImage;
  return typeof r === 'object' && r !== null && r.data instanceof Uint8Array && typeof r.width === 'number' &&
    typeof r.height === 'number' && r.data.length === r.width * r.height * 3 &&
    !(typeof ImageData !== 'undefined' && x instanceof ImageData);
}

/** 8-bit RGB pixels of an image source (waits for an <img> that is still loading). */
export async function imageToRgb(source: ImageSource, label = 'image'): Promise<RgbImage> {
  if (typeof Blob !== 'undefined' && source instanceof Blob) return decodeBrowserBlob(source, (source as File).name || label);
  if (isRgbImage(source)) return source;
  if (typeof HTMLImageElement !== 'undefined' && source instanceof HTMLImageElement && !source.complete) {
    await source.decode();
  }
  return decodeBrowserImage(source as BrowserImageSource, label);
}

/**
 * torchvision's eval transform of an image in the page: a float32 [1, 3, 224, 224] tensor, ready for
 * engine.forward(). Equal to PyTorch's on equal pixels (JPEG Blobs decode exactly as Pillow does).
 */
export async function imageToTensor(source: ImageSource, options: EvalOptions = {}): Promise<HostTensor> {
  return torchvisionEval(await imageToRgb(source), options);
}

/** Several images as one batch [N, 3, 224, 224]. */
export async function imagesToTensor(sources: ImageSource[], options: EvalOptions = {}): Promise<HostTensor> {
  const images = await Promise.all(sources.map((s, i) => imageToRgb(s, `image ${i}`)));
  return torchvisionEvalBatch(images, options);
}
