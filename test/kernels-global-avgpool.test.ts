import { describe, expect, it } from 'vitest';
import { globalAvgPoolDispatch } from '../src/kernels/global-avgpool';
import { globalAvgPool } from './reference/cpu';
import { download, freshSeed, makeRng, poisoned, randomArray, relativeError, testContext, upload } from './helpers/gpu';

// Tolerance: 1e-5 of the output's largest magnitude. Each output is a float32 sum of H*W <= 143
// terms in order, then one division: the sum's rounding error is about sqrt(n) * eps times its
// partial sums, 12 * 6e-8 * (a few times the mean) -> ~1e-6 relative with non-negative inputs
// (post-ReLU activations); with signed inputs the means shrink but so do the partial sums.
const TOLERANCE = 1e-5;

describe('global average pool kernel', () => {
  const cases = [
    { name: 'ResNet head 7x7, batch 2, 9 channels, non-negative', s: { batch: 2, channels: 9, height: 7, width: 7 }, lo: 0 },
    { name: 'odd 13x11, signed inputs', s: { batch: 1, channels: 5, height: 13, width: 11 }, lo: -1 },
    { name: '1x1 planes (identity)', s: { batch: 3, channels: 4, height: 1, width: 1 }, lo: -1 },
  ];
  for (const c of cases) {
    it(`matches the float64 reference: ${c.name}`, async () => {
      const ctx = await testContext();
      const seed = freshSeed();
      const { s } = c;
      const spatial = s.height * s.width;
      const x = randomArray(s.batch * s.channels * spatial, makeRng(seed), c.lo, 1);
      const y = poisoned(ctx, s.batch * s.channels, 'global-avgpool test output');
      ctx.run([globalAvgPoolDispatch(ctx, s, upload(ctx, x), y)]);
      const got = await download(ctx, y, s.batch * s.channels);
      expect(relativeError(got, globalAvgPool(x, s.batch, s.channels, spatial)), `seed ${seed}`).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});
