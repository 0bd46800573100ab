// zero-pad.wgsl (src/kernels/zero-pad.ts), the copy of a convolution's input that 'direct' reads
// on SwiftShader, against a CPU reference: every element, bit for bit (a copy and zeros: no
// rounding), into poisoned buffers so that an element left unwritten shows.

import { describe, expect, it } from 'vitest';
import { type ZeroPadShape, zeroPadDispatch, zeroPadLength } from '../src/kernels/zero-pad';
import { download, freshSeed, makeRng, poisoned, randomArray, testContext, upload } from './helpers/gpu';

function zeroPadReference(x: Float32Array, s: ZeroPadShape): Float32Array {
  const oh = s.height + 2 * s.pad;
  const ow = s.width + 2 * s.pad;
  const y = new Float32Array(zeroPadLength(s));
  for (let p = 0; p < s.planes; p++) {
    for (let i = 0; i < s.height; i++) {
      for (let j = 0; j < s.width; j++) y[(p * oh + i + s.pad) * ow + j + s.pad] = x[(p * s.height + i) * s.width + j];
    }
  }
  return y;
}

describe('zero-pad kernel', () => {
  // Odd sizes, a 1x1 plane, one row, one column, padding 0 (a copy), and more planes x rows than
  // one workgroup of 64 threads (a thread per padded row) holds.
  const shapes: ZeroPadShape[] = [
    { planes: 3, height: 7, width: 5, pad: 3 },
    { planes: 1, height: 1, width: 1, pad: 1 },
    { planes: 4, height: 1, width: 9, pad: 2 },
    { planes: 2, height: 8, width: 1, pad: 1 },
    { planes: 5, height: 6, width: 4, pad: 0 },
    { planes: 13, height: 11, width: 9, pad: 1 },
  ];
  for (const s of shapes) {
    it(`matches the CPU reference bit for bit: ${s.planes} planes of ${s.height}x${s.width}, pad ${s.pad}`, async () => {
      const ctx = await testContext();
      const seed = freshSeed();
      const x = randomArray(s.planes * s.height * s.width, makeRng(seed));
      const out = poisoned(ctx, zeroPadLength(s), 'zero-pad test output');
      ctx.run([zeroPadDispatch(ctx, s, { input: upload(ctx, x, 'zero-pad test input'), output: out })]);
      const y = await download(ctx, out, zeroPadLength(s));
      expect(new Uint32Array(y.buffer), `seed ${seed}`).toEqual(new Uint32Array(zeroPadReference(x, s).buffer));
    });
  }

  it('refuses buffers too small for the shape, and a padding that is not a whole number', async () => {
    const ctx = await testContext();
    const s = { planes: 2, height: 3, width: 4, pad: 1 };
    const input = poisoned(ctx, 24, 'zero-pad refusal input');
    expect(() => zeroPadDispatch(ctx, s, { input, output: poisoned(ctx, 59, 'zero-pad refusal output') }))
      .toThrow(/the output buffer holds 236 bytes, the shape needs 240$/);
    expect(() => zeroPadDispatch(ctx, s, { input: poisoned(ctx, 23, 'zero-pad short input'), output: poisoned(ctx, 60, 'zero-pad output') }))
      .toThrow(/the input buffer holds 92 bytes, the shape needs 96$/);
    expect(() => zeroPadDispatch(ctx, { ...s, pad: -1 }, { input, output: poisoned(ctx, 60, 'zero-pad output') })).toThrow(/whole number >= 0, got -1$/);
  });
});
