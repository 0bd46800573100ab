// Where ../shared is (the data beside the checkout); tests that need it skip with a printed reason.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const SHARED = resolve(__dirname, '../../../shared');
export const SHARED_DATA = resolve(SHARED, 'data');
export const PARTIAL_WEIGHTS = resolve(SHARED_DATA, 'weights/resnet18-imagenet1k-v1-partial.pth');
export const TENCH_TAPS = resolve(SHARED_DATA, 'reference/tench-taps.safetensors');
export const SAMPLES = resolve(SHARED_DATA, 'imagenet-samples');

export function sharedMissing(...paths: string[]): string | null {
  const absent = paths.filter((p) => !existsSync(p));
  if (!absent.length) return null;
  const reason = `skipped: ${absent.join(', ')} not found (../shared is beside the checkout only on this project's machines)`;
  console.log(reason);
  return reason;
}
