// Agreement of two logit vectors, the check every engine passes before it is timed.

/**
 * Tolerance on logits: max |a - b| <= LOGIT_TOLERANCE * max |reference|. Why 1e-3: float32 engines
 * accumulate sums of up to 4608 products per output through 20 layers (ResNet18; ResNet50: 53, the
 * same longest sum) in different orders (im2col, Winograd-free direct, vec4 partial sums); on random
 * torchvision-initialised weights the observed worst relative error is ~1e-6..1e-5 for both, so 1e-3
 * catches any real mistake (a wrong padding, a transposed weight, a missing ReLU, a wrong group all
 * give errors of order 1e-1..1) with two decades of margin. The same tolerance serves every member.
 */
export const LOGIT_TOLERANCE = 1e-3;

export interface Agreement {
  /** max |a - b| / max |b| */
  relError: number;
  maxAbsError: number;
  scale: number;
  top1Agree: boolean;
  ok: boolean;
}

export function compareLogits(actual: ArrayLike<number>, expected: ArrayLike<number>, classes = 1000,
  tolerance = LOGIT_TOLERANCE): Agreement {
  if (actual.length !== expected.length) {
    return { relError: Infinity, maxAbsError: Infinity, scale: 0, top1Agree: false, ok: false };
  }
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    const d = Math.abs(actual[i] - expected[i]);
    worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
  }
  let top1Agree = true;
  for (let b = 0; b * classes < expected.length; b++) {
    if (argmax(actual, b * classes, classes) !== argmax(expected, b * classes, classes)) top1Agree = false;
  }
  const relError = worst / Math.max(scale, 1e-30);
  return { relError, maxAbsError: worst, scale, top1Agree, ok: relError <= tolerance };
}

function argmax(a: ArrayLike<number>, offset: number, count: number): number {
  let best = 0;
  for (let i = 1; i < count; i++) if (a[offset + i] > a[offset + best]) best = i;
  return best;
}
