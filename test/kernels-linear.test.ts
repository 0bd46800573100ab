import { describe, expect, it } from 'vitest';
import { linearDispatch } from '../src/kernels/linear';
import { linear } from './reference/cpu';
import { download, freshSeed, makeRng, poisoned, randomArray, relativeError, testContext, upload } from './helpers/gpu';

// Tolerance: 1e-5 of the output's largest magnitude. Each output is a float32 dot product of
// n = inFeatures terms in [-1, 1] (4 interleaved partial sums, then the bias): the output scale
// grows like sqrt(n) and the rounding error like sqrt(n) * eps * sqrt(n), so the relative error is
// about sqrt(n) * eps = 1.4e-6 at n = 512 (the worst case n * eps / 4 = 7.6e-6 is still under 1e-5).
const TOLERANCE = 1e-5;

describe('linear kernel', () => {
  const cases = [
    { name: 'batch 2, 67 -> 13 (inFeatures not a multiple of 4)', s: { batch: 2, inFeatures: 67, outFeatures: 13 } },
    { name: 'ResNet head width, 512 -> 37, batch 3', s: { batch: 3, inFeatures: 512, outFeatures: 37 } },
    { name: '3 -> 1000 (classifier width, short rows)', s: { batch: 1, inFeatures: 3, outFeatures: 1000 } },
  ];
  for (const c of cases) {
    it(`matches torch.nn.Linear in float64: ${c.name}`, async () => {
      const ctx = await testContext();
      const seed = freshSeed();
      const rng = makeRng(seed);
      const { s } = c;
      const x = randomArray(s.batch * s.inFeatures, rng);
      const w = randomArray(s.outFeatures * s.inFeatures, rng);
      const bias = randomArray(s.outFeatures, rng, -0.5, 0.5);
      const y = poisoned(ctx, s.batch * s.outFeatures, 'linear test output');
      ctx.run([linearDispatch(ctx, s, { x: upload(ctx, x), weight: upload(ctx, w), bias: upload(ctx, bias), y })]);
      const got = await download(ctx, y, s.batch * s.outFeatures);
      expect(relativeError(got, linear(x, w, bias, s.batch, s.inFeatures, s.outFeatures)), `seed ${seed}`).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});
