// The float64 family reference (test/reference/family-forward.ts) against PyTorch, tap by tap, for
// resnet34 (BasicBlock), resnet50 (Bottleneck) and resnext50_32x4d (grouped 3x3, 32 groups): the TS
// hash weights and input (bit-identical to the ones the goldens were made with, checked in
// reference-family-arch.test.ts) through the reference, compared with
// test/fixtures/goldens/family-<arch>.safetensors (scripts/goldens/make_family_goldens.py; its header
// describes what is stored: small taps whole, large ones as 1024 hash-sampled values plus the mean of
// every [n, c] plane). CPU only.
//
// Tolerance 1e-5 of each tap's largest magnitude (the golden's absmax over the whole float32 tap),
// for values, plane means and the absmax itself; the logits likewise, and the same top-5 in order.
// PyTorch computes in float32, the reference in float64, so the difference is PyTorch's rounding:
// ~6e-8 relative per operation, accumulated over sums of up to 4608 terms and 16 blocks it stays
// around 1e-6 of the tap's scale (measured worst per arch printed below), an order of magnitude under
// 1e-5; a wrong convention (stride on conv1 instead of conv2, a group mapped to the wrong channels, a
// missing BN term) moves values by a large fraction of the scale.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FamilyArchName } from './reference/family';
import { familyForward } from './reference/family-forward';
import { familyWeights, hashInput } from './reference/family-weights';
import { GOLDENS, goldenTapErrors, readF32Safetensors } from './reference/golden-files';

const TOLERANCE = 1e-5;
const ARCHS: FamilyArchName[] = ['resnet34', 'resnet50', 'resnext50_32x4d'];

function top5(logits: ArrayLike<number>, n: number): number[] {
  const row = Array.from({ length: 1000 }, (_, i) => i);
  return row.sort((a, b) => logits[n * 1000 + b] - logits[n * 1000 + a] || a - b).slice(0, 5);
}

describe('family float64 reference vs PyTorch goldens', () => {
  for (const arch of ARCHS) {
    it(`${arch}: every tap within ${TOLERANCE} of its largest magnitude, logits too, same top-5`, () => {
      const golden = readF32Safetensors(join(GOLDENS, `family-${arch}.safetensors`));
      const meta = golden.metadata;
      const seed = Number(meta.seed);
      const listing = JSON.parse(meta.taps) as [string, number[], number, 'full' | 'sampled'][];
      const input = hashInput(seed, 'input', JSON.parse(meta.input_shape) as number[]);
      const t0 = performance.now();
      const taps = familyForward(arch, familyWeights(arch, seed), input);
      const seconds = (performance.now() - t0) / 1000;
      expect([...taps.keys()]).toEqual(listing.map(([name]) => name));

      const errors = goldenTapErrors(golden, seed, listing, taps);
      errors.sort((a, b) => b[1] - a[1]);
      const logits = taps.get('fc')!.data;
      const batch = taps.get('fc')!.shape[0];
      const ourTop5 = Array.from({ length: batch }, (_, n) => top5(logits, n));
      console.log(`${arch}: float64 forward ${seconds.toFixed(1)} s; worst taps (error / tap scale): ` +
        errors.slice(0, 4).map(([n, e]) => `${n} ${e.toExponential(2)}`).join(', ') +
        `; fc ${errors.find(([n]) => n === 'fc')![1].toExponential(2)}; top-5 ${JSON.stringify(ourTop5)} ` +
        `(smallest gap among the top 6 logits: ${meta.top6_gap})`);
      for (const [name, e] of errors) expect(e, name).toBeLessThanOrEqual(TOLERANCE);
      expect(ourTop5).toEqual(JSON.parse(meta.top5));
    }, 300_000);
  }
});
