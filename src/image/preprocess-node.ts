// Image files to the network's input tensor in Node: decode (decode-node.ts), then torchvision's eval
// transform (transforms.ts). For the tensor PyTorch computes from the same file with Pillow 9.4 and
// torchvision's Resize(256), CenterCrop(224), ToTensor, Normalize, the result is identical.

import type { HostTensor } from '../util/tensor';
import { type NodeDecodeOptions, decodeImageFile } from './decode-node';
import { type EvalOptions, normalize, toTensor, torchvisionEval, torchvisionEvalImage } from './transforms';
import type { RgbImage } from './image';

export interface PreprocessOptions extends NodeDecodeOptions, EvalOptions {}

/** One file -> float32 [1, 3, 224, 224]. Throws ImageDecodeError (one line, naming the file). */
export function preprocessFile(path: string, options: PreprocessOptions = {}): HostTensor {
  return torchvisionEval(decodeImageFile(path, options), options);
}

export interface PreprocessBatch {
  /** [N, 3, 224, 224] for the N files in `ok`, in their order ([0, 3, 224, 224] when none could be read). */
  tensor: HostTensor;
  ok: string[];
  /** Files that could not be read, with a one-line reason each; the others still run. */
  failed: { file: string; error: string }[];
}

/** Several files -> one batch; bad files are listed in `failed` and left out. */
export function preprocessFiles(paths: string[], options: PreprocessOptions = {}): PreprocessBatch {
  const ok: string[] = [];
  const failed: { file: string; error: string }[] = [];
  const crops: RgbImage[] = [];
  for (const file of paths) {
    try {
      crops.push(torchvisionEvalImage(decodeImageFile(file, options), options));
      ok.push(file);
    } catch (e) {
      failed.push({ file, error: e instanceof Error ? e.message : String(e) });
    }
  }
  const crop = options.crop ?? 224;
  const tensor = crops.length
    ? normalize(toTensor(crops), options.mean, options.std)
    : { shape: [0, 3, crop, crop], data: new Float32Array(0) };
  return { tensor, ok, failed };
}
