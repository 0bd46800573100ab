// ImageNet class names in torchvision's index order. They come from the npm package
// @tensorflow-models/mobilenet (its IMAGENET_CLASSES table: WordNet synonyms per class, same
// order); the first synonym is the short name torchvision's sample files use.

import { createRequire } from 'node:module';

export interface ImageNetClass {
  index: number;
  name: string;
  synonyms: string[];
}

let cached: ImageNetClass[] | null = null;

export function imagenetClasses(): ImageNetClass[] {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const table = (require('@tensorflow-models/mobilenet/dist/imagenet_classes.js') as { IMAGENET_CLASSES: Record<number, string> }).IMAGENET_CLASSES;
  cached = Array.from({ length: 1000 }, (_, index) => {
    const synonyms = table[index].split(',').map((s) => s.trim()).filter(Boolean);
    return { index, name: synonyms[0], synonyms };
  });
  return cached;
}
