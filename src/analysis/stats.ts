// Statistics of METHOD.md's secondary analyses: one-way ANOVA (F, p), Spearman's rho with its p-value
// as scipy.stats.spearmanr computes it, average ranks for ties, and the tuning-curve correlation.
// Distributions come from jStat (its regularised incomplete beta, which the F and Student t tail
// probabilities reduce to exactly; computing the tail directly avoids the cancellation of 1 - cdf).
// Browser-safe.

import jStat from 'jstat';

/** 1-based ranks, ties get the average of the ranks they span (scipy.stats.rankdata 'average'). */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b] || a - b);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]] === values[order[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) ranks[order[t]] = rank;
    i = j + 1;
  }
  return ranks;
}

/** Pearson's r; null when n < 2 or either variable is constant. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number | null {
  const n = x.length;
  if (n !== y.length) throw new Error(`pearson: lengths differ (${n} vs ${y.length})`);
  if (n < 2) return null;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return null;
  const r = sxy / Math.sqrt(sxx * syy);
  return Math.max(-1, Math.min(1, r));
}

export interface SpearmanResult {
  /** Spearman's rho; null when fewer than 3 pairs or either variable is constant. */
  rho: number | null;
  /** Two-sided p-value of the t approximation (scipy.stats.spearmanr); null with rho. */
  p: number | null;
  /** Pairs used (pairs with a non-finite member are dropped). */
  n: number;
}

/**
 * Two-sided p of Spearman's rho via the t approximation, t = rho sqrt((n-2) / (1 - rho^2)) with n - 2
 * degrees of freedom, as scipy.stats.spearmanr. P(|T| > t) = I_{dof / (dof + t^2)}(dof / 2, 1 / 2), and
 * dof / (dof + t^2) = 1 - rho^2 exactly, so the p-value is I_{1 - rho^2}((n - 2) / 2, 1 / 2).
 */
export function spearmanPValue(rho: number, n: number): number {
  const dof = n - 2;
  if (dof < 1) return NaN;
  const x = Math.max(0, 1 - rho * rho);
  if (x === 0) return 0;
  return Math.min(1, jStat.ibeta(x, dof / 2, 0.5));
}

/** Spearman's rank correlation with its p-value; pairs with a non-finite member are dropped. */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): SpearmanResult {
  if (x.length !== y.length) throw new Error(`spearman: lengths differ (${x.length} vs ${y.length})`);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (Number.isFinite(x[i]) && Number.isFinite(y[i])) {
      xs.push(x[i]);
      ys.push(y[i]);
    }
  }
  const n = xs.length;
  if (n < 3) return { rho: null, p: null, n };
  const rho = pearson(averageRanks(xs), averageRanks(ys));
  if (rho === null) return { rho: null, p: null, n };
  return { rho, p: spearmanPValue(rho, n), n };
}

/** Upper tail of the F distribution, P(F > f) = I_{d2 / (d2 + d1 f)}(d2 / 2, d1 / 2). */
export function fSurvival(f: number, df1: number, df2: number): number {
  if (!(f > 0)) return 1;
  if (!Number.isFinite(f)) return 0;
  return Math.min(1, jStat.ibeta(df2 / (df2 + df1 * f), df2 / 2, df1 / 2));
}

/** Two-sided tail of Student's t, P(|T| > t) = I_{dof / (dof + t^2)}(dof / 2, 1 / 2). */
export function tTwoSided(t: number, dof: number): number {
  if (!Number.isFinite(t)) return 0;
  return Math.min(1, jStat.ibeta(dof / (dof + t * t), dof / 2, 0.5));
}

export interface GroupSummary {
  n: number;
  /** Mean of the group; null when it is empty. */
  mean: number | null;
}

export interface AnovaResult {
  /** F statistic; null when the test is undefined (an empty group, fewer than k + 1 values, or no variance within groups). */
  F: number | null;
  p: number | null;
  dfBetween: number;
  dfWithin: number;
  groups: GroupSummary[];
}

/** One-way ANOVA (scipy.stats.f_oneway), any number of groups; non-finite values are dropped. */
export function oneWayAnova(groups: readonly (readonly number[])[]): AnovaResult {
  const clean = groups.map((g) => g.filter((v) => Number.isFinite(v)));
  const summaries: GroupSummary[] = clean.map((g) => ({ n: g.length, mean: g.length ? g.reduce((a, b) => a + b, 0) / g.length : null }));
  const k = clean.length;
  const total = clean.reduce((a, g) => a + g.length, 0);
  const dfBetween = k - 1;
  const dfWithin = total - k;
  const undefinedResult: AnovaResult = { F: null, p: null, dfBetween, dfWithin, groups: summaries };
  if (k < 2 || clean.some((g) => g.length === 0) || dfWithin < 1) return undefinedResult;
  let grand = 0;
  for (const g of clean) for (const v of g) grand += v;
  grand /= total;
  let ssb = 0;
  let ssw = 0;
  clean.forEach((g, i) => {
    const m = summaries[i].mean as number;
    ssb += g.length * (m - grand) ** 2;
    for (const v of g) ssw += (v - m) ** 2;
  });
  if (ssw === 0) return undefinedResult;
  const F = ssb / dfBetween / (ssw / dfWithin);
  return { F, p: fSurvival(F, dfBetween, dfWithin), dfBetween, dfWithin, groups: summaries };
}

export interface SplitAnovaResult extends AnovaResult {
  /** groups[0]: channels with M >= 1; groups[1]: channels with M < 1. */
  labels: ['M>=1', 'M<1'];
}

/** ANOVA of a per-channel value between channels with M >= 1 and M < 1 (null M or value dropped). */
export function anovaAtMixSplit(values: readonly (number | null)[], mix: readonly (number | null)[], split = 1): SplitAnovaResult {
  const hi: number[] = [];
  const lo: number[] = [];
  values.forEach((v, i) => {
    const m = mix[i];
    if (v === null || m === null || !Number.isFinite(v)) return;
    (m >= split ? hi : lo).push(v);
  });
  return { ...oneWayAnova([hi, lo]), labels: ['M>=1', 'M<1'] };
}

/** Spearman of a per-channel value against M, over channels where both are defined. */
export function spearmanAgainstMix(values: readonly (number | null)[], mix: readonly (number | null)[]): SpearmanResult {
  const xs: number[] = [];
  const ys: number[] = [];
  values.forEach((v, i) => {
    const m = mix[i];
    if (v === null || m === null) return;
    xs.push(v);
    ys.push(m);
  });
  return spearman(xs, ys);
}

/**
 * Tuning-curve correlation of one channel: Spearman's rho between I_c and B_c over the images of a set,
 * restricted to images where I_c > 0 (rho null when fewer than 3 such images).
 */
export function tuningCorrelation(input: ArrayLike<number>, branch: ArrayLike<number>): SpearmanResult {
  if (input.length !== branch.length) throw new Error(`tuningCorrelation: lengths differ (${input.length} vs ${branch.length})`);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < input.length; i++) {
    if (input[i] > 0) {
      xs.push(input[i]);
      ys.push(branch[i]);
    }
  }
  return spearman(xs, ys);
}

/**
 * Tuning-curve correlations of every channel from two [image][channel] matrices of centre values
 * (the tuning curves of I and B over `images` images).
 */
export function tuningCorrelations(input: Float32Array, branch: Float32Array, images: number, channels: number): SpearmanResult[] {
  if (input.length < images * channels || branch.length < images * channels) {
    throw new Error(`tuningCorrelations: matrices smaller than ${images} x ${channels}`);
  }
  const out: SpearmanResult[] = [];
  const xi = new Float64Array(images);
  const yi = new Float64Array(images);
  for (let c = 0; c < channels; c++) {
    for (let n = 0; n < images; n++) {
      xi[n] = input[n * channels + c];
      yi[n] = branch[n * channels + c];
    }
    out.push(tuningCorrelation(xi, yi));
  }
  return out;
}
