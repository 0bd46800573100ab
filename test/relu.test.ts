import { describe, expect, it } from 'vitest';
import { reluDispatch } from '../src/kernels/relu';
import { relu } from './reference/cpu';
import { download, freshSeed, makeRng, poisoned, randomArray, relativeError, testContext, upload } from './helpers/gpu';

describe('relu kernel', () => {
  it('matches the float64 reference on an odd-sized tensor', async () => {
    const ctx = await testContext();
    const seed = freshSeed();
    const count = 2 * 3 * 17 * 13 + 5;
    const x = randomArray(count, makeRng(seed));
    const xb = upload(ctx, x);
    const yb = poisoned(ctx, count);
    ctx.run([reluDispatch(ctx, count, xb, yb)]);
    const y = await download(ctx, yb, count);
    // ReLU is exact in float32: the tolerance is zero.
    expect(relativeError(y, relu(x)), `seed ${seed}`).toBe(0);
  });
});
