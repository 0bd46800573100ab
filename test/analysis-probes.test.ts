import { describe, expect, it } from 'vitest';
import { TopK, TuningCurves, probeSetReadout, probeSetReadoutRelu } from '../src/analysis/probes';
import { topKBruteForce } from './reference/topk';
import { mulberry32 } from '../src/util/random';

describe('streaming top-k', () => {
  it('equals brute force on random data with ties, over uneven batches', () => {
    const seed = (Date.now() ^ 0x5eed) >>> 0; // fresh each run, printed on failure
    const rand = mulberry32(seed);
    const N = 157;
    const C = 11;
    const k = 9;
    // Quantised values make ties common; include a few NaNs.
    const all = new Float32Array(N * C).map(() => (rand() < 0.01 ? NaN : Math.round(rand() * 20) / 4 - 2));
    const topk = new TopK(C, k);
    let start = 0;
    while (start < N) {
      const n = Math.min(N - start, 1 + Math.floor(rand() * 17));
      topk.push(all.subarray(start * C, (start + n) * C), Array.from({ length: n }, (_, j) => start + j));
      start += n;
    }
    for (let c = 0; c < C; c++) {
      const column = Array.from({ length: N }, (_, i) => all[i * C + c]);
      const expected = topKBruteForce(column, k);
      expect(topk.imagesOf(c), `seed ${seed}, channel ${c}`).toEqual(expected);
      expect(topk.valuesOf(c)).toEqual(expected.map((i) => Math.fround(column[i])));
    }
  });
  it('breaks ties by the lower image index whatever the arrival order', () => {
    const topk = new TopK(1, 2);
    topk.push(new Float32Array([1, 1, 1]), [7, 3, 5]);
    expect(topk.imagesOf(0)).toEqual([3, 5]);
  });
  it('ranks NaN below every number', () => {
    const topk = new TopK(1, 2);
    topk.push(new Float32Array([NaN, -Infinity, NaN]), [0, 1, 2]);
    expect(topk.imagesOf(0)).toEqual([1, 0]);
  });
  it('keeps fewer than k when fewer images exist', () => {
    const topk = new TopK(2, 9);
    topk.push(new Float32Array([1, 2, 3, 4]), [0, 1]);
    expect(topk.imagesOf(1)).toEqual([1, 0]);
  });
  it('rejects mis-sized batches', () => {
    expect(() => new TopK(2, 3).push(new Float32Array(5), [0, 1])).toThrow();
    expect(() => new TopK(2, 0)).toThrow();
  });
});

describe('tuning curves and probe-set readouts', () => {
  it('stores [image][channel] and returns per-channel curves', () => {
    const t = new TuningCurves(3, 2);
    t.set(new Float32Array([5, 6]), [2]);
    expect(t.complete()).toBe(false);
    t.set(new Float32Array([1, 2, 3, 4]), [0, 1]);
    expect(t.complete()).toBe(true);
    expect(Array.from(t.curve(1))).toEqual([2, 4, 6]);
    expect(t.value(2, 0)).toBe(5);
  });
  it('a readout on a probe set is the mean; the relu variant takes relu per image first', () => {
    expect(probeSetReadout([1, -3, 5])).toBe(1);
    expect(probeSetReadoutRelu([1, -3, 5])).toBe(2);
    expect(probeSetReadout([])).toBeNaN();
  });
});
