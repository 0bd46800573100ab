import { describe, expect, it } from 'vitest';
import { addDispatch } from '../src/kernels/add';
import { add } from './reference/cpu';
import { download, freshSeed, makeRng, poisoned, randomArray, relativeError, reluCase, testContext, upload } from './helpers/gpu';

// Tolerance: the float32 sum of two float32 values is correctly rounded, off by at most 2^-24 of
// its own magnitude (6e-8 of the output's scale); ReLU adds no error. 1e-7 bounds that.
const TOLERANCE = 1e-7;

describe('add kernel', () => {
  for (const mode of [false, true, 'both'] as const) {
    it(`matches the float64 reference on an odd-sized tensor${mode === true ? ' with fused relu' : mode ? ', the sum and its ReLU both written' : ''}`, async () => {
      const ctx = await testContext();
      const seed = freshSeed();
      const rng = makeRng(seed);
      const count = 2 * 5 * 13 * 11 + 3;
      const a = randomArray(count, rng);
      const b = randomArray(count, rng);
      const y = poisoned(ctx, count, 'add test output');
      const relu = reluCase(ctx, mode, count, 'add test');
      ctx.run([addDispatch(ctx, count, upload(ctx, a), upload(ctx, b), y, relu.opts)]);
      const got = await download(ctx, y, count);
      expect(relativeError(got, add(a, b, relu.referenceRelu)), `seed ${seed}`).toBeLessThanOrEqual(TOLERANCE);
      if (relu.referenceRelu) expect(Math.min(...got), `seed ${seed}`).toBe(0);
      await relu.check(got);
    });
  }
});
