// The Adam kernel against torch.optim.Adam's update formula in float64, and the objective readout
// (one unit per image, each its own channel).

import { describe, expect, it } from 'vitest';
import { writeBuffer } from '../src/gpu/context';
import { AdamOptimizer, LUCENT_ADAM } from '../src/kernels/adam';
import { unitGatherDispatch } from '../src/kernels/unit-gather';
import { adamReference } from './reference/backward';
import { download, freshSeed, makeRng, poisoned, randomArray, relativeError, upload } from './helpers/gpu';
import { testContext } from './fv-context';

describe('adam kernel', () => {
  it('five steps match torch.optim.Adam (lr 0.05, betas 0.9/0.999, eps 1e-8) in float64', async () => {
    const ctx = await testContext();
    const seed = freshSeed();
    const rng = makeRng(seed);
    const count = 1000 + 7;
    const p0 = randomArray(count, rng);
    // Gradients across scales, with exact zeros (eps matters there) and tiny values.
    const grads = [0, 1, 2, 3, 4].map(() => randomArray(count, rng).map((v, i) => (i % 17 === 0 ? 0 : i % 13 === 0 ? v * 1e-6 : v)));
    const param = upload(ctx, p0);
    const grad = upload(ctx, grads[0]);
    const adam = new AdamOptimizer(ctx, count, param, grad, LUCENT_ADAM);
    let ref = { p: Float64Array.from(p0), m: new Float64Array(count), v: new Float64Array(count) };
    for (let t = 1; t <= 5; t++) {
      writeBuffer(ctx.device, grad, grads[t - 1]);
      adam.setStep(t);
      ctx.run([adam.dispatch]);
      ref = adamReference(ref.p, grads[t - 1], ref.m, ref.v, t, LUCENT_ADAM);
    }
    const [p, m, v] = await ctx.readback([param, adam.m, adam.v].map((buffer) => ({ buffer, byteLength: count * 4 })));
    // A handful of float32 roundings per step on values of order 1 (p) and the moments: 1e-6 of
    // each tensor's scale (the update itself is 0.05 * m / (sqrt(v) + eps), bounded by ~0.05 * 3).
    expect(relativeError(p, ref.p), `seed ${seed}`).toBeLessThanOrEqual(1e-6);
    expect(relativeError(m, ref.m), `seed ${seed}`).toBeLessThanOrEqual(1e-6);
    expect(relativeError(v, ref.v), `seed ${seed}`).toBeLessThanOrEqual(1e-6);
    // The first step moves every parameter with a nonzero gradient by lr (Adam's normalisation).
    expect(Math.abs(ref.p[1] - p0[1])).toBeGreaterThan(0);
    adam.dispose();
  });
});

describe('unit gather', () => {
  it('reads x[n, channel[n], y, x] for every image', async () => {
    const ctx = await testContext();
    const seed = freshSeed();
    const rng = makeRng(seed);
    const s = { batch: 5, channels: 7, height: 6, width: 9, y: 3, x: 4 };
    const x = randomArray(s.batch * s.channels * s.height * s.width, rng);
    const channels = Uint32Array.from([0, 6, 3, 3, 1]);
    const out = poisoned(ctx, s.batch);
    ctx.run([unitGatherDispatch(ctx, s, { channels: ctx.createStorageBuffer('channels', channels), input: upload(ctx, x), output: out })]);
    const got = await download(ctx, out, s.batch);
    const expected = Array.from(channels, (c, n) => x[((n * s.channels + c) * s.height + s.y) * s.width + s.x]);
    expect(Array.from(got)).toEqual(expected);
  });
});
