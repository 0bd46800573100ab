// Statistics against reference values: published textbook examples and closed forms derived by hand.
import jStat from 'jstat';
import { describe, expect, it } from 'vitest';
import {
  anovaAtMixSplit, averageRanks, fSurvival, oneWayAnova, pearson, spearman, spearmanAgainstMix, tTwoSided,
  tuningCorrelation, tuningCorrelations,
} from '../src/analysis/stats';

// jStat's incomplete beta is accurate to about 1e-8 relative; the p-values are tested at that level.
const P_TOL = 1e-7;

describe('average ranks', () => {
  it('gives ties the mean of their ranks (scipy.stats.rankdata "average")', () => {
    expect(Array.from(averageRanks([10, 20, 20, 30]))).toEqual([1, 2.5, 2.5, 4]);
    expect(Array.from(averageRanks([3, 1, 2]))).toEqual([3, 1, 2]);
    expect(Array.from(averageRanks([5, 5, 5]))).toEqual([2, 2, 2]);
  });
});

describe('Spearman', () => {
  it('reproduces Wikipedia\'s worked example (IQ vs hours of TV): rho = -29/165, p = 0.627188', () => {
    // https://en.wikipedia.org/wiki/Spearman%27s_rank_correlation_coefficient#Example
    const iq = [106, 100, 86, 101, 99, 103, 97, 113, 112, 110];
    const tv = [7, 27, 2, 50, 28, 29, 20, 12, 6, 17];
    const r = spearman(iq, tv);
    expect(r.rho).toBeCloseTo(-29 / 165, 14);
    expect(r.p as number).toBeCloseTo(0.627188, 6);
    expect(r.n).toBe(10);
  });
  it('has p = 1 - |rho| for n = 4 (t with 2 degrees of freedom, derived by hand)', () => {
    // dof = 2: P(|T| > t) = 1 - t / sqrt(2 + t^2), and with t^2 = 2 rho^2 / (1 - rho^2) that is 1 - |rho|.
    const r = spearman([1, 2, 3, 4], [1, 3, 2, 4]); // d^2 = 2: rho = 1 - 6 * 2 / (4 * 15) = 0.8
    expect(r.rho).toBeCloseTo(0.8, 14);
    expect(Math.abs((r.p as number) - 0.2)).toBeLessThan(P_TOL);
  });
  it('has p = 1 - (2/pi) atan(|t|) for n = 3 (Cauchy), e.g. rho = 0.5 -> p = 2/3', () => {
    const r = spearman([1, 2, 3], [1, 3, 2]);
    expect(r.rho).toBeCloseTo(0.5, 14);
    expect(Math.abs((r.p as number) - 2 / 3)).toBeLessThan(P_TOL);
  });
  it('handles ties with average ranks', () => {
    // x ranks [1, 2.5, 2.5, 4], y ranks [1, 2, 3, 4]: Pearson of those, by hand: 0.9486832980505138 (= 3 / sqrt(10))
    expect(spearman([1, 2, 2, 3], [1, 2, 3, 4]).rho).toBeCloseTo(3 / Math.sqrt(10), 14);
  });
  it('gives rho = +-1 and p = 0 for monotone data', () => {
    expect(spearman([1, 2, 3, 4, 5], [2, 4, 8, 16, 32])).toEqual({ rho: 1, p: 0, n: 5 });
    expect(spearman([1, 2, 3, 4, 5], [5, 4, 3, 2, 1]).rho).toBe(-1);
  });
  it('is undefined for fewer than 3 pairs or a constant variable', () => {
    expect(spearman([1, 2], [2, 1]).rho).toBeNull();
    expect(spearman([1, 1, 1, 1], [1, 2, 3, 4])).toEqual({ rho: null, p: null, n: 4 });
  });
  it('drops non-finite pairs', () => {
    expect(spearman([1, 2, NaN, 3, 4], [1, 3, 5, 2, 4]).n).toBe(4);
  });
});

describe('one-way ANOVA', () => {
  it('reproduces Wikipedia\'s worked example (three groups): F = 9.264..., p = (1 + 2F/15)^-7.5', () => {
    // https://en.wikipedia.org/wiki/One-way_analysis_of_variance#Example: SSB = 84, SSW = 68, F = 42 / (68 / 15).
    // For df1 = 2 the F tail has the closed form P(F > f) = (1 + 2 f / df2)^(-df2 / 2).
    const r = oneWayAnova([[6, 8, 4, 5, 3, 4], [8, 12, 9, 11, 6, 8], [13, 9, 11, 8, 7, 12]]);
    const F = 42 / (68 / 15);
    expect(r.F).toBeCloseTo(F, 12);
    expect(r.dfBetween).toBe(2);
    expect(r.dfWithin).toBe(15);
    expect(Math.abs((r.p as number) - (1 + (2 * F) / 15) ** -7.5)).toBeLessThan(1e-9);
    expect(r.groups.map((g) => g.mean)).toEqual([5, 9, 10]);
  });
  it('for two groups equals the pooled t test: F(1, 2) = 5 -> p = 1 - sqrt(5/7)', () => {
    // [1, 2] vs [3, 5]: SSB = 6.25, SSW = 2.5, F = 6.25 / 1.25 = 5; F(1, d) = t(d)^2 and for d = 2,
    // P(|T| > t) = 1 - t / sqrt(2 + t^2).
    const r = oneWayAnova([[1, 2], [3, 5]]);
    expect(r.F).toBeCloseTo(5, 14);
    expect(Math.abs((r.p as number) - (1 - Math.sqrt(5 / 7)))).toBeLessThan(P_TOL);
  });
  it('is undefined with an empty group, no within-group variance, or no degrees of freedom', () => {
    expect(oneWayAnova([[1, 2, 3], []]).F).toBeNull();
    expect(oneWayAnova([[1, 1], [2, 2]]).F).toBeNull();
    expect(oneWayAnova([[1], [2]]).F).toBeNull();
  });
  it('splits channels at M = 1, dropping undefined M or values', () => {
    const r = anovaAtMixSplit([1, 2, 3, 5, 7, null], [1, 0.5, 0.2, 1.5, 10, 1]);
    expect(r.labels).toEqual(['M>=1', 'M<1']);
    expect(r.groups.map((g) => g.n)).toEqual([3, 2]);
    expect(r.groups[0].mean).toBeCloseTo(13 / 3, 14);
  });
});

describe('distribution tails agree with jStat\'s cdfs', () => {
  it('F and t', () => {
    for (const [f, d1, d2] of [[0.5, 1, 10], [3, 2, 7], [9, 1, 40]]) {
      expect(fSurvival(f, d1, d2)).toBeCloseTo(1 - jStat.centralF.cdf(f, d1, d2), 8);
    }
    for (const [t, d] of [[0.3, 3], [2, 10], [-1.5, 25]]) {
      expect(tTwoSided(t, d)).toBeCloseTo(2 * jStat.studentt.cdf(-Math.abs(t), d), 8);
    }
  });
});

describe('tuning-curve correlation', () => {
  it('uses only images where I > 0', () => {
    // Images with I <= 0 would reverse the relation; excluded, the rest is perfectly monotone.
    const I = [-1, 0, 1, 2, 3, 4];
    const B = [100, 90, 1, 2, 3, 4];
    expect(tuningCorrelation(I, B)).toEqual({ rho: 1, p: 0, n: 4 });
  });
  it('is undefined with fewer than 3 images where I > 0', () => {
    expect(tuningCorrelation([1, 2, 0, -1], [1, 2, 3, 4]).rho).toBeNull();
  });
  it('runs per channel over [image][channel] matrices', () => {
    const images = 5;
    const I = new Float32Array([1, -1, 2, 1, 3, 1, 4, 1, 5, 1]); // channel 0 rising, channel 1 mostly constant
    const B = new Float32Array([5, 0, 4, 1, 3, 2, 2, 3, 1, 4]);
    const r = tuningCorrelations(I, B, images, 2);
    expect(r[0].rho).toBe(-1);
    expect(r[1].rho).toBeNull(); // I constant over the images where it is > 0
  });
  it('pearson is clamped and null for constants', () => {
    expect(pearson([1, 2, 3], [2, 4, 6])).toBe(1);
    expect(pearson([1, 1], [2, 3])).toBeNull();
  });
  it('Spearman against M drops null channels', () => {
    expect(spearmanAgainstMix([1, 2, 3, null, 5], [0.5, 1, 2, 3, null]).n).toBe(3);
  });
});
