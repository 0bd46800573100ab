import { describe, expect, it } from 'vitest';
import { channelReplaceDispatch } from '../src/kernels/channel-replace';
import { channelReplace } from './reference/cpu';
import { download, freshSeed, makeRng, randomArray, relativeError, testContext, upload } from './helpers/gpu';

// Replacement copies float32 values: the result is exact, the tolerance zero.

describe('channel-replace kernel (ablation)', () => {
  const cases = [
    { name: 'zero-ablation of some channels, batch 2', s: { batch: 2, channels: 7, spatial: 13 }, zero: true },
    { name: 'mean-ablation with per-channel values, batch 3', s: { batch: 3, channels: 5, spatial: 9 }, zero: false },
  ];
  for (const c of cases) {
    it(`replaces exactly the masked channels in place: ${c.name}`, async () => {
      const ctx = await testContext();
      const seed = freshSeed();
      const rng = makeRng(seed);
      const { s } = c;
      const count = s.batch * s.channels * s.spatial;
      const x = randomArray(count, rng);
      // A random mask with at least one channel on and one off; mask values other than 1 count as on.
      const mask = Uint32Array.from({ length: s.channels }, () => (rng() < 0.5 ? 0 : 1 + Math.floor(rng() * 3)));
      mask[0] = 0;
      mask[s.channels - 1] = 7;
      const value = c.zero ? new Float32Array(s.channels) : randomArray(s.channels, rng, -3, 3);
      const xb = upload(ctx, x, 'channel-replace test tensor');
      const maskBuffer = ctx.createStorageBuffer('channel-replace test mask', mask);
      ctx.run([channelReplaceDispatch(ctx, s, { x: xb, mask: maskBuffer, value: upload(ctx, value) })]);
      const got = await download(ctx, xb, count);
      expect(relativeError(got, channelReplace(x, mask, value, s.batch, s.channels, s.spatial)), `seed ${seed}`).toBe(0);
    });
  }

  it('leaves the tensor bit-identical when the mask is all zero', async () => {
    const ctx = await testContext();
    const seed = freshSeed();
    const s = { batch: 1, channels: 4, spatial: 6 };
    const x = randomArray(24, makeRng(seed));
    const xb = upload(ctx, x);
    ctx.run([channelReplaceDispatch(ctx, s, {
      x: xb, mask: ctx.createStorageBuffer('zero mask', new Uint32Array(4)), value: upload(ctx, new Float32Array(4).fill(NaN)),
    })]);
    expect(Array.from(await download(ctx, xb, 24)), `seed ${seed}`).toEqual(Array.from(x));
  });
});
