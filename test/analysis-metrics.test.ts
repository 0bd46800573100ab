// Every formula of METHOD.md on hand-built numbers, special cases and band edges included.
import { describe, expect, it } from 'vitest';
import {
  MIX_BAND_HIGH, MIX_BAND_LOW, SWEEP_FACTORS, blockFractions, category, exemplarMixtures, inMixBand, mixHistogram,
  mixRatio, mixSpecialCase, noMix, scaleBranch, scaleInput, scaleInvariant, side, sweepSummary, topScaleInvariant, zoomSweep,
} from '../src/analysis/metrics';

describe('mix ratio M', () => {
  it('is O(I*) / O(B*) when both are positive', () => {
    expect(mixRatio(3, 2)).toBe(1.5);
    expect(mixRatio(1, 4)).toBe(0.25);
  });
  it('is 10 (pure skip) when O(B*) <= 0 and O(I*) > 0', () => {
    expect(mixRatio(2, 0)).toBe(10);
    expect(mixRatio(2, -1)).toBe(10);
    expect(mixSpecialCase(2, 0)).toBe('skip');
  });
  it('is 0 (pure overwrite) when O(I*) <= 0 and O(B*) > 0', () => {
    expect(mixRatio(0, 2)).toBe(0);
    expect(mixRatio(-3, 2)).toBe(0);
    expect(mixSpecialCase(-3, 2)).toBe('overwrite');
  });
  it('is undefined (null) when both are <= 0, without throwing', () => {
    expect(mixRatio(0, 0)).toBeNull();
    expect(mixRatio(-1, -2)).toBeNull();
    expect(mixRatio(0, -2)).toBeNull();
    expect(mixSpecialCase(0, 0)).toBeNull();
  });
  it('is null for non-finite inputs', () => {
    expect(mixRatio(NaN, 1)).toBeNull();
    expect(mixRatio(1, Infinity)).toBeNull();
  });
  it('marks a ratio that is not a special case', () => {
    expect(mixSpecialCase(1, 1)).toBeNull();
  });
});

describe('categories', () => {
  it('uses skip M >= 1.5, overwrite M <= 2/3, mixture strictly between', () => {
    expect(category(10)).toBe('skip');
    expect(category(1.5)).toBe('skip'); // edge belongs to skip
    expect(category(1.4999999)).toBe('mixture');
    expect(category(1)).toBe('mixture');
    expect(category(2 / 3 + 1e-12)).toBe('mixture');
    expect(category(2 / 3)).toBe('overwrite'); // edge belongs to overwrite
    expect(category(2 / 3)).toBe(category(mixRatio(2, 3))); // 2/3 as a ratio is the same float
    expect(category(0)).toBe('overwrite');
    expect(category(null)).toBeNull();
  });
  it('splits at M = 1 as the paper plots', () => {
    expect(side(1)).toBe('skip');
    expect(side(0.999)).toBe('overwrite');
    expect(side(10)).toBe('skip');
    expect(side(0)).toBe('overwrite');
    expect(side(null)).toBeNull();
  });
  it('has strict band edges', () => {
    expect(inMixBand(MIX_BAND_LOW)).toBe(false);
    expect(inMixBand(MIX_BAND_HIGH)).toBe(false);
    expect(inMixBand(1)).toBe(true);
    expect(inMixBand(null)).toBe(false);
  });
});

describe('scale metrics', () => {
  it('SM_B = [relu(B(S(I*))) - relu(B(I*))] / B(B*)', () => {
    expect(scaleBranch(3, 1, 4)).toBe(0.5);
    expect(scaleBranch(0, 1, 4)).toBe(-0.25);
  });
  it('SM_I = [relu(I(S^-1(B*))) - relu(I(B*))] / I(I*)', () => {
    expect(scaleInput(2, 0.5, 3)).toBe(0.5);
  });
  it('is undefined when the denominator is <= 0', () => {
    expect(scaleBranch(3, 1, 0)).toBeNull();
    expect(scaleBranch(3, 1, -2)).toBeNull();
    expect(scaleInput(3, 1, 0)).toBeNull();
    expect(scaleInput(3, 1, -1e-9)).toBeNull();
  });
});

describe('scale-invariance criterion', () => {
  it('needs SM_B > 0, SM_I > 0 and 2/3 < M < 1.5', () => {
    expect(scaleInvariant(1, 0.1, 0.1)).toBe(true);
    expect(scaleInvariant(1.5, 0.1, 0.1)).toBe(false);
    expect(scaleInvariant(2 / 3, 0.1, 0.1)).toBe(false);
    expect(scaleInvariant(1, 0, 0.1)).toBe(false);
    expect(scaleInvariant(1, 0.1, 0)).toBe(false);
    expect(scaleInvariant(1, -0.1, 0.1)).toBe(false);
  });
  it('is false when any value is undefined', () => {
    expect(scaleInvariant(null, 0.1, 0.1)).toBe(false);
    expect(scaleInvariant(1, null, 0.1)).toBe(false);
    expect(scaleInvariant(1, 0.1, null)).toBe(false);
  });
  it('no-mix criterion drops the band', () => {
    expect(noMix(0.1, 0.1)).toBe(true);
    expect(noMix(0.1, null)).toBe(false);
    expect(noMix(0, 0.1)).toBe(false);
  });
});

describe('block summaries', () => {
  const channels = [
    { channel: 0, mix: 1.0, scaleBranch: 0.2, scaleInput: 0.3 }, // SI, mixture
    { channel: 1, mix: 1.2, scaleBranch: 0.9, scaleInput: 0.1 }, // SI, mixture
    { channel: 2, mix: 10, scaleBranch: 0.5, scaleInput: 0.5 }, // no-mix only, skip
    { channel: 3, mix: 0, scaleBranch: 0.1, scaleInput: -0.1 }, // overwrite
    { channel: 4, mix: null, scaleBranch: null, scaleInput: 0.1 }, // undefined
    { channel: 5, mix: 0.95, scaleBranch: 0.05, scaleInput: 0.05 }, // SI
    { channel: 6, mix: 0.9, scaleBranch: 1, scaleInput: 1 }, // SI, the largest sum
  ];
  it('counts fractions over all channels', () => {
    const f = blockFractions(channels, [null, null, 'skip', 'overwrite', null, null, null]);
    expect(f.channels).toBe(7);
    expect(f.scaleInvariant).toBe(4);
    expect(f.noMix).toBe(5);
    expect(f.scaleInvariantFraction).toBeCloseTo(4 / 7, 15);
    expect(f.noMixFraction).toBeCloseTo(5 / 7, 15);
    expect(f.categories).toEqual({ skip: 1, mixture: 4, overwrite: 1, undefined: 1 });
    expect(f.split).toEqual({ atLeastOne: 3, belowOne: 3, undefined: 1 });
    expect(f.pureSkip).toBe(1);
    expect(f.pureOverwrite).toBe(1);
    expect(f.scaleBranchUndefined).toBe(1);
    expect(f.scaleInputUndefined).toBe(0);
  });
  it('picks the exemplar mixtures by smallest |M - 1|, ties to the lower channel', () => {
    expect(exemplarMixtures(channels)).toEqual([0, 5, 6]); // |0|, 0.05, 0.1 (ties 1.2 -> 0.2 later)
    expect(exemplarMixtures([{ channel: 3, mix: 1.1, scaleBranch: null, scaleInput: null }, { channel: 1, mix: 0.9, scaleBranch: null, scaleInput: null }])).toEqual([1, 3]);
  });
  it('picks the top scale-invariant channels by largest SM_B + SM_I among those meeting all criteria', () => {
    expect(topScaleInvariant(channels)).toEqual([6, 1, 0]);
  });
});

describe('histogram of M', () => {
  it('has 20 bins of 0.25 on [0, 5], clamps at 5, puts 5 in the last bin', () => {
    const h = mixHistogram([0, 0.24, 0.25, 0.99, 1, 4.75, 4.99, 5, 7, 10, null]);
    expect(h.edges.length).toBe(21);
    expect(h.edges[20]).toBe(5);
    expect(h.counts.length).toBe(20);
    expect(h.counts[0]).toBe(2);
    expect(h.counts[1]).toBe(1);
    expect(h.counts[3]).toBe(1);
    expect(h.counts[4]).toBe(1);
    expect(h.counts[19]).toBe(5); // 4.75, 4.99, 5, 7 (clamped), 10 (clamped)
    expect(h.clamped).toBe(2);
    expect(h.undefined).toBe(1);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(10);
  });
});

describe('zoom sweep', () => {
  it('has the follow-up factors 1.00 .. 1.50 by 0.05', () => {
    expect(SWEEP_FACTORS).toEqual([1, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3, 1.35, 1.4, 1.45, 1.5]);
  });
  it('measures SM_B per factor and summarises the fractions', () => {
    const sweep = zoomSweep([{ factor: 1, reluBranchOnZoomedInputProbe: 1 }, { factor: 1.5, reluBranchOnZoomedInputProbe: 3 }], 1, 2);
    expect(sweep).toEqual([{ factor: 1, scaleBranch: 0 }, { factor: 1.5, scaleBranch: 1 }]);
    expect(zoomSweep([{ factor: 1.5, reluBranchOnZoomedInputProbe: 3 }], 1, 0)[0].scaleBranch).toBeNull();
    const s = sweepSummary([{ mix: 1, sweep }, { mix: 3, sweep }]);
    expect(s).toEqual([
      { factor: 1, scaleBranchPositive: 0, scaleBranchPositiveInBand: 0 },
      { factor: 1.5, scaleBranchPositive: 1, scaleBranchPositiveInBand: 0.5 },
    ]);
  });
});
