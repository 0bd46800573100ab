import { describe, expect, it } from 'vitest';
import { type Maxpool2dShape, maxpool2dDispatch, maxpool2dOutputSize } from '../src/kernels/maxpool2d';
import { maxpool2d } from './reference/cpu';
import { download, freshSeed, makeRng, poisoned, randomArray, relativeError, testContext, upload } from './helpers/gpu';

// Max pooling only selects input values, so the result is exact: the tolerance is zero.

async function runCase(s: Maxpool2dShape, x: Float32Array): Promise<{ got: Float32Array; expected: Float64Array }> {
  const ctx = await testContext();
  const [oh, ow] = maxpool2dOutputSize(s);
  const count = s.batch * s.channels * oh * ow;
  const y = poisoned(ctx, count, 'maxpool2d test output');
  ctx.run([maxpool2dDispatch(ctx, s, upload(ctx, x, 'maxpool2d test input'), y)]);
  return { got: await download(ctx, y, count), expected: maxpool2d(x, s) };
}

const shape = (batch: number, channels: number, inHeight: number, inWidth: number, kernel: number, stride: number, padding: number): Maxpool2dShape =>
  ({ batch, channels, inHeight, inWidth, kernel, stride, padding });

describe('maxpool2d kernel', () => {
  it('gives the same bits with a 3x3 window written out as with loops over it, and refuses it for other windows', async () => {
    const ctx = await testContext();
    const rng = makeRng(freshSeed());
    for (const s of [shape(2, 5, 15, 13, 3, 2, 1), shape(1, 3, 16, 12, 3, 2, 1), shape(2, 2, 6, 5, 3, 1, 1), shape(1, 6, 1, 1, 3, 2, 1), shape(1, 2, 10, 7, 3, 3, 0)]) {
      const [oh, ow] = maxpool2dOutputSize(s);
      const count = s.batch * s.channels * oh * ow;
      const x = upload(ctx, randomArray(s.batch * s.channels * s.inHeight * s.inWidth, rng), 'maxpool2d forms test input');
      const outputs = [false, true].map((window3) => {
        const y = poisoned(ctx, count, `maxpool2d forms test output (${window3 ? 'written out' : 'loops'})`);
        ctx.run([maxpool2dDispatch(ctx, s, x, y, 'maxpool2d forms test', window3)]);
        return y;
      });
      const [loops, written] = [await download(ctx, outputs[0], count), await download(ctx, outputs[1], count)];
      expect(new Uint32Array(written.buffer), JSON.stringify(s)).toEqual(new Uint32Array(loops.buffer));
    }
    const five = shape(1, 3, 11, 10, 5, 3, 2);
    expect(() => maxpool2dDispatch(ctx, five, ctx.placeholder, ctx.placeholder, 'maxpool2d refusal test', true)).toThrow(/3x3/);
  });

  const cases: [string, Maxpool2dShape][] = [
    ['ResNet 3/2/1, batch 2, odd size', shape(2, 5, 15, 13, 3, 2, 1)],
    ['ResNet 3/2/1, even size', shape(1, 3, 16, 12, 3, 2, 1)],
    ['2/2/0', shape(1, 4, 9, 7, 2, 2, 0)],
    ['3/1/1 (overlapping windows)', shape(2, 2, 6, 5, 3, 1, 1)],
    ['5/3/2', shape(1, 3, 11, 10, 5, 3, 2)],
    ['3/2/1 on a 1x1 input', shape(1, 6, 1, 1, 3, 2, 1)],
    ['3/2/1 on a 2x2 input to a 1x1 output', shape(2, 3, 2, 2, 3, 2, 1)],
    ['3/2/0 (no padding)', shape(1, 3, 9, 8, 3, 2, 0)],
    ['3/3/0 (windows side by side, the last columns unread)', shape(1, 2, 10, 7, 3, 3, 0)],
  ];
  for (const [name, s] of cases) {
    it(`matches the reference: ${name}`, async () => {
      const seed = freshSeed();
      const x = randomArray(s.batch * s.channels * s.inHeight * s.inWidth, makeRng(seed));
      const { got, expected } = await runCase(s, x);
      expect(relativeError(got, expected), `seed ${seed}`).toBe(0);
    });
  }

  it('treats padding as -inf: all-negative inputs never pool to 0 at the border', async () => {
    const seed = freshSeed();
    const s = shape(2, 3, 7, 9, 3, 2, 1);
    const x = randomArray(s.batch * s.channels * s.inHeight * s.inWidth, makeRng(seed), -3, -1);
    const { got, expected } = await runCase(s, x);
    expect(relativeError(got, expected), `seed ${seed}`).toBe(0);
    expect(Math.max(...got), `seed ${seed}`).toBeLessThan(0);
  });

  it('handles ties (few distinct values) and windows clipped at every edge', async () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    const s = shape(1, 4, 8, 11, 3, 2, 1);
    // Values from {-2, -1, 0, 1}: most windows hold their maximum more than once.
    const x = Float32Array.from({ length: s.batch * s.channels * s.inHeight * s.inWidth }, () => Math.floor(rng() * 4) - 2);
    const { got, expected } = await runCase(s, x);
    expect(relativeError(got, expected), `seed ${seed}`).toBe(0);
  });

  it('finds a single maximum in each corner and edge of the padded window', async () => {
    // One plane per position: a 5x5 plane of -1 with a single 7 at (r, c); pooled 3/2/1 to 3x3.
    const positions = [[0, 0], [0, 4], [4, 0], [4, 4], [0, 2], [2, 0], [2, 4], [4, 2], [2, 2]];
    const s = shape(1, positions.length, 5, 5, 3, 2, 1);
    const x = new Float32Array(positions.length * 25).fill(-1);
    positions.forEach(([r, c], p) => { x[p * 25 + r * 5 + c] = 7; });
    const { got, expected } = await runCase(s, x);
    expect(relativeError(got, expected)).toBe(0);
  });

  it('rejects padding above kernel / 2, as PyTorch does', () => {
    expect(() => maxpool2dOutputSize(shape(1, 1, 8, 8, 3, 2, 2))).toThrow(/padding/);
  });
});
