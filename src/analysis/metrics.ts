// The formulas of METHOD.md: mix ratio M and its special cases, the skip / mixture / overwrite
// categories, the scale metrics SM_B and SM_I, the scale-invariance criterion and its no-mix variant,
// per-block fractions, exemplars, the M histogram and the zoom sweep. Pure functions over numbers;
// `null` wherever METHOD.md leaves a value undefined. Browser-safe.

/** M when O(B*) <= 0 (and O(I*) > 0): the branch probe does not reach the output, pure skip. */
export const MIX_PURE_SKIP = 10;
/** M when O(I*) <= 0 (and O(B*) > 0): the input probe does not reach the output, pure overwrite. */
export const MIX_PURE_OVERWRITE = 0;
/** Lower edge of the mixture band (exclusive): M <= 2/3 is overwrite. */
export const MIX_BAND_LOW = 2 / 3;
/** Upper edge of the mixture band (exclusive): M >= 1.5 is skip. */
export const MIX_BAND_HIGH = 1.5;
/** The paper's plots split the spectrum at M = 1. */
export const MIX_SPLIT = 1;

export type Category = 'skip' | 'mixture' | 'overwrite';
/** Which side of the paper's M = 1 split a channel falls on: M >= 1 'skip', M < 1 'overwrite'. */
export type Side = 'skip' | 'overwrite';

/** Why M is undefined for a channel (the only case METHOD.md leaves open). */
export const MIX_UNDEFINED_REASON = 'O(I*) <= 0 and O(B*) <= 0';

const finite = (x: number): boolean => Number.isFinite(x);

/**
 * Mix ratio M_c = O_c(I*_c) / O_c(B*_c) (METHOD.md):
 * - both O(I*) <= 0 and O(B*) <= 0: undefined, null (reported, never a crash);
 * - O(B*) <= 0: 10 (pure skip);
 * - O(I*) <= 0: 0 (pure overwrite);
 * - otherwise the ratio.
 * Non-finite inputs (NaN, Infinity from a broken run) also give null.
 */
export function mixRatio(outputOnInputProbe: number, outputOnBranchProbe: number): number | null {
  if (!finite(outputOnInputProbe) || !finite(outputOnBranchProbe)) return null;
  const inputDead = outputOnInputProbe <= 0;
  const branchDead = outputOnBranchProbe <= 0;
  if (inputDead && branchDead) return null;
  if (branchDead) return MIX_PURE_SKIP;
  if (inputDead) return MIX_PURE_OVERWRITE;
  const m = outputOnInputProbe / outputOnBranchProbe;
  return finite(m) ? m : null;
}

/** skip if M >= 1.5, overwrite if M <= 2/3, mixture strictly between; null when M is undefined. */
export function category(m: number | null): Category | null {
  if (m === null || !finite(m)) return null;
  if (m >= MIX_BAND_HIGH) return 'skip';
  if (m <= MIX_BAND_LOW) return 'overwrite';
  return 'mixture';
}

/** The paper's split: M >= 1 'skip', M < 1 'overwrite'; null when M is undefined. */
export function side(m: number | null): Side | null {
  if (m === null || !finite(m)) return null;
  return m >= MIX_SPLIT ? 'skip' : 'overwrite';
}

/** 2/3 < M < 1.5, both edges strict; false when M is undefined. */
export function inMixBand(m: number | null): boolean {
  return m !== null && m > MIX_BAND_LOW && m < MIX_BAND_HIGH;
}

/** A scale metric [relu(zoomed) - relu(original)] / denominator; null when the denominator <= 0. */
function scaleMetric(reluZoomed: number, reluOriginal: number, denominator: number): number | null {
  if (!finite(reluZoomed) || !finite(reluOriginal) || !finite(denominator)) return null;
  if (denominator <= 0) return null;
  const v = (reluZoomed - reluOriginal) / denominator;
  return finite(v) ? v : null;
}

/**
 * SM_B,c = [relu(B_c(S(I*_c))) - relu(B_c(I*_c))] / B_c(B*_c).
 * Arguments are already probe-set readouts: the two relu terms are means of per-image relus, the
 * denominator the plain mean of B over B*. null when B_c(B*_c) <= 0.
 */
export function scaleBranch(reluBranchOnZoomedInputProbe: number, reluBranchOnInputProbe: number, branchOnBranchProbe: number): number | null {
  return scaleMetric(reluBranchOnZoomedInputProbe, reluBranchOnInputProbe, branchOnBranchProbe);
}

/**
 * SM_I,c = [relu(I_c(S^-1(B*_c))) - relu(I_c(B*_c))] / I_c(I*_c).
 * Arguments as for scaleBranch; null when I_c(I*_c) <= 0.
 */
export function scaleInput(reluInputOnZoomedOutBranchProbe: number, reluInputOnBranchProbe: number, inputOnInputProbe: number): number | null {
  return scaleMetric(reluInputOnZoomedOutBranchProbe, reluInputOnBranchProbe, inputOnInputProbe);
}

/** The no-mix criterion: SM_B > 0 and SM_I > 0 (false when either is undefined). */
export function noMix(smB: number | null, smI: number | null): boolean {
  return smB !== null && smI !== null && smB > 0 && smI > 0;
}

/** Scale invariant: SM_B > 0, SM_I > 0 and 2/3 < M < 1.5 (strict); false when any is undefined. */
export function scaleInvariant(m: number | null, smB: number | null, smI: number | null): boolean {
  return noMix(smB, smI) && inMixBand(m);
}

// ---------------------------------------------------------------------------------------------
// Per-block summaries

/** The per-channel numbers the summaries need. */
export interface ChannelScores {
  channel: number;
  mix: number | null;
  scaleBranch: number | null;
  scaleInput: number | null;
}

export interface BlockFractions {
  channels: number;
  /** Channels meeting SM_B > 0, SM_I > 0 and 2/3 < M < 1.5. */
  scaleInvariant: number;
  /** Channels meeting SM_B > 0 and SM_I > 0 alone. */
  noMix: number;
  scaleInvariantFraction: number;
  noMixFraction: number;
  categories: { skip: number; mixture: number; overwrite: number; undefined: number };
  /** The paper's M = 1 split; `undefined` counts channels whose M is null. */
  split: { atLeastOne: number; belowOne: number; undefined: number };
  /** Channels with M = 10 / M = 0 from the special cases (not from a ratio that happened to land there). */
  pureSkip: number;
  pureOverwrite: number;
  /** Channels whose SM_B / SM_I is undefined (denominator <= 0). */
  scaleBranchUndefined: number;
  scaleInputUndefined: number;
}

/**
 * Fractions over all channels of the block (undefined M or SM count as failing the criteria).
 * `special` marks, per channel, whether M came from a special case ('skip' = 10, 'overwrite' = 0).
 */
export function blockFractions(channels: readonly ChannelScores[], special?: readonly ('skip' | 'overwrite' | null)[]): BlockFractions {
  const f: BlockFractions = {
    channels: channels.length, scaleInvariant: 0, noMix: 0, scaleInvariantFraction: 0, noMixFraction: 0,
    categories: { skip: 0, mixture: 0, overwrite: 0, undefined: 0 },
    split: { atLeastOne: 0, belowOne: 0, undefined: 0 },
    pureSkip: 0, pureOverwrite: 0, scaleBranchUndefined: 0, scaleInputUndefined: 0,
  };
  channels.forEach((ch, i) => {
    if (scaleInvariant(ch.mix, ch.scaleBranch, ch.scaleInput)) f.scaleInvariant++;
    if (noMix(ch.scaleBranch, ch.scaleInput)) f.noMix++;
    const cat = category(ch.mix);
    if (cat === null) f.categories.undefined++;
    else f.categories[cat]++;
    const s = side(ch.mix);
    if (s === null) f.split.undefined++;
    else if (s === 'skip') f.split.atLeastOne++;
    else f.split.belowOne++;
    if (special?.[i] === 'skip') f.pureSkip++;
    if (special?.[i] === 'overwrite') f.pureOverwrite++;
    if (ch.scaleBranch === null) f.scaleBranchUndefined++;
    if (ch.scaleInput === null) f.scaleInputUndefined++;
  });
  if (channels.length > 0) {
    f.scaleInvariantFraction = f.scaleInvariant / channels.length;
    f.noMixFraction = f.noMix / channels.length;
  }
  return f;
}

/** Which special case produced M, if any (10 / 0 by rule, null for a ratio or undefined M). */
export function mixSpecialCase(outputOnInputProbe: number, outputOnBranchProbe: number): 'skip' | 'overwrite' | null {
  const m = mixRatio(outputOnInputProbe, outputOnBranchProbe);
  if (m === null) return null;
  if (outputOnBranchProbe <= 0) return 'skip';
  if (outputOnInputProbe <= 0) return 'overwrite';
  return null;
}

/** The n channels with the smallest |M - 1| (ties: lower channel first); channels with null M are skipped. */
export function exemplarMixtures(channels: readonly ChannelScores[], n = 3): number[] {
  return channels
    .filter((c) => c.mix !== null)
    .map((c) => ({ channel: c.channel, d: Math.abs((c.mix as number) - 1) }))
    .sort((a, b) => a.d - b.d || a.channel - b.channel)
    .slice(0, n)
    .map((c) => c.channel);
}

/** The n channels with the largest SM_B + SM_I among the scale-invariant ones (ties: lower channel first). */
export function topScaleInvariant(channels: readonly ChannelScores[], n = 3): number[] {
  return channels
    .filter((c) => scaleInvariant(c.mix, c.scaleBranch, c.scaleInput))
    .map((c) => ({ channel: c.channel, s: (c.scaleBranch as number) + (c.scaleInput as number) }))
    .sort((a, b) => b.s - a.s || a.channel - b.channel)
    .slice(0, n)
    .map((c) => c.channel);
}

// ---------------------------------------------------------------------------------------------
// Histogram of M

export const HISTOGRAM_MAX = 5;
export const HISTOGRAM_BIN = 0.25;
export const HISTOGRAM_BINS = 20;

export interface MixHistogram {
  /** The 21 bin edges 0, 0.25, ..., 5. */
  edges: number[];
  /** 20 counts; bin i holds lo_i <= min(M, 5) < hi_i, the last bin also holds min(M, 5) = 5. */
  counts: number[];
  /** How many channels had M > 5 (clamped into the last bin; pure skip M = 10 is among them). */
  clamped: number;
  /** Channels with undefined M (not in any bin). */
  undefined: number;
}

/** Histogram of M clamped at 5, bins 0.25 wide on [0, 5]; M = 5 (and everything clamped) goes into the last bin. */
export function mixHistogram(ms: readonly (number | null)[]): MixHistogram {
  const edges = Array.from({ length: HISTOGRAM_BINS + 1 }, (_, i) => i * HISTOGRAM_BIN);
  const counts = new Array<number>(HISTOGRAM_BINS).fill(0);
  let clamped = 0;
  let undef = 0;
  for (const m of ms) {
    if (m === null || !finite(m)) {
      undef++;
      continue;
    }
    if (m > HISTOGRAM_MAX) clamped++;
    const v = Math.min(Math.max(m, 0), HISTOGRAM_MAX);
    counts[Math.min(HISTOGRAM_BINS - 1, Math.floor(v / HISTOGRAM_BIN))]++;
  }
  return { edges, counts, clamped, undefined: undef };
}

// ---------------------------------------------------------------------------------------------
// Zoom sweep (2025 follow-up): SM_B measured at several zoom factors.

/** The follow-up's factors, 1.00 to 1.50 in steps of 0.05. */
export const SWEEP_FACTORS: readonly number[] = Array.from({ length: 11 }, (_, i) => Math.round((1 + 0.05 * i) * 100) / 100);

export interface SweepPoint {
  factor: number;
  /** SM_B at this factor: [relu(B(S_f(I*))) - relu(B(I*))] / B(B*); null when B(B*) <= 0. */
  scaleBranch: number | null;
}

/**
 * SM_B per zoom factor for one channel, given relu(B_c(S_f(I*_c))) per factor (probe-set means of
 * per-image relus), relu(B_c(I*_c)) and B_c(B*_c).
 */
export function zoomSweep(
  perFactor: readonly { factor: number; reluBranchOnZoomedInputProbe: number }[],
  reluBranchOnInputProbe: number,
  branchOnBranchProbe: number,
): SweepPoint[] {
  return perFactor.map((p) => ({
    factor: p.factor,
    scaleBranch: scaleBranch(p.reluBranchOnZoomedInputProbe, reluBranchOnInputProbe, branchOnBranchProbe),
  }));
}

export interface SweepSummaryPoint {
  factor: number;
  /** Fraction of channels with SM_B > 0 at this factor. */
  scaleBranchPositive: number;
  /** Fraction of channels with SM_B > 0 and 2/3 < M < 1.5 (the follow-up's criterion at this factor). */
  scaleBranchPositiveInBand: number;
}

/** Per factor, the fraction of channels with SM_B > 0 (alone, and within the mix band). */
export function sweepSummary(channels: readonly { mix: number | null; sweep?: readonly SweepPoint[] }[]): SweepSummaryPoint[] {
  const factors = channels.find((c) => c.sweep)?.sweep?.map((p) => p.factor) ?? [];
  return factors.map((factor, i) => {
    let pos = 0;
    let band = 0;
    for (const c of channels) {
      const s = c.sweep?.[i]?.scaleBranch ?? null;
      if (s !== null && s > 0) {
        pos++;
        if (inMixBand(c.mix)) band++;
      }
    }
    const n = channels.length || 1;
    return { factor, scaleBranchPositive: pos / n, scaleBranchPositiveInBand: band / n };
  });
}
