// ImageNet class names in torchvision's index order, from @tensorflow-models/mobilenet's table (plain
// data: WordNet synonyms per class, the same order; the first synonym is the short name), and top-k.

import { IMAGENET_CLASSES } from '@tensorflow-models/mobilenet/dist/imagenet_classes.js';

export interface ClassScore {
  /** torchvision class index, 0..999. */
  index: number;
  /** Short name (first WordNet synonym), e.g. 'tench'. */
  name: string;
  logit: number;
  /** Softmax probability over all classes. */
  probability: number;
}

let names: string[] | null = null;

/** The 1000 ImageNet class names, index order (the first synonym of each class). */
export function imagenetClassNames(): readonly string[] {
  names ??= Array.from({ length: 1000 }, (_, i) => (IMAGENET_CLASSES as Record<number, string>)[i].split(',')[0].trim());
  return names;
}

/** The k largest logits of one row (default the first image of an [N, 1000] fc tap), with softmax. */
export function topK(logits: ArrayLike<number>, k = 5, row = 0, classes = 1000): ClassScore[] {
  const base = row * classes;
  if (logits.length < base + classes) throw new Error(`topK: ${logits.length} logits do not hold row ${row} of ${classes}`);
  let max = -Infinity;
  for (let i = 0; i < classes; i++) max = Math.max(max, logits[base + i]);
  let sum = 0;
  for (let i = 0; i < classes; i++) sum += Math.exp(logits[base + i] - max);
  const order = Array.from({ length: classes }, (_, i) => i).sort((a, b) => logits[base + b] - logits[base + a] || a - b);
  const table = classes === 1000 ? imagenetClassNames() : null;
  return order.slice(0, k).map((index) => ({
    index,
    name: table?.[index] ?? `class ${index}`,
    logit: logits[base + index],
    probability: Math.exp(logits[base + index] - max) / sum,
  }));
}
