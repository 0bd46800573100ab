// analysis.json as types: what the analysis asks of an engine (ImageRef, ForwardCentres), what it
// measures per block (ChannelResponses, BlockMeasurements) and what it reports per channel and per
// block (ChannelResult, BlockResult, AnalysisJson), and the file's text. Browser-safe, pure.

import type { Transform } from './journal';
import type { BlockFractions, Category, MixHistogram, Side, SweepPoint, SweepSummaryPoint } from './metrics';
import type { BlockReadouts, Variant } from './readouts';
import type { SpearmanResult, SplitAnovaResult } from './stats';

// =============================================================================================
// The engine contract

/**
 * One image of the set. `index` is its position in the list given to the analysis (0 .. N-1); `name`
 * is what analysis.json reports (the file's base name, as given). Engines extend it with whatever they
 * need to load the image (a path, a decoded buffer): the analysis passes the same objects back.
 */
export interface ImageRef {
  index: number;
  name: string;
  /**
   * SHA-256 of the image's contents (hex), when the caller knows it: part of the run's identity, so a
   * resume or a merge over the same names with other contents is refused.
   */
  sha256?: string;
}

/**
 * The only thing the analysis asks of an engine: run these images (preprocessed as torchvision does,
 * then `transform`ed on the normalised tensor) through the network and return, for every requested
 * tap, the centre values of all its channels: a Float32Array of images.length * C laid out [image]
 * [channel] (what `centreValues` makes of an NCHW tap). Extra taps in the map are ignored. The engine
 * chooses how to batch internally; the analysis calls it with at most `batchSize` images at a time,
 * one call at a time, and copies what it keeps before the next call (so returned arrays may be views
 * of a reused readback buffer).
 */
export type ForwardCentres<R extends ImageRef = ImageRef> = (
  images: R[],
  transform: Transform,
  taps: string[],
) => Promise<Map<string, Float32Array>>;

/** Optional parameters of a block for the secondary analyses (from the checkpoint). */
export interface BlockParams {
  /** The branch's last BN's weight, C values: `layerL.B.bn2.weight` (`bn3` in a Bottleneck). */
  bn2Gamma?: ArrayLike<number>;
  /**
   * The branch's last conv's weight in torchvision order (filter c = the c-th run): `layerL.B.conv2.weight`,
   * C x C x 3 x 3 (`conv3`, C x width x 1 x 1, in a Bottleneck).
   */
  conv2Weight?: ArrayLike<number>;
}

/** A block left out of the run, and why (reported in analysis.json and the report, never silent). */
export interface SkippedBlock {
  block: string;
  reason: string;
}

// =============================================================================================
// The core: measurements in, results out

/**
 * The values of one channel's readouts on its probe sets: each array holds one value per image of the
 * probe set (dataset mode: k images, rank order; fv mode: the single visualisation). X on P means
 * X_c's centre value when the network sees P.
 */
export interface ChannelResponses {
  /** I_c on I*_c (dataset mode: the top-k values themselves). */
  inputOnInput: number[];
  /** I_c on B*_c. */
  inputOnBranch: number[];
  /** I_c on S^-1(B*_c). */
  inputOnZoomedOutBranch: number[];
  /** B_c on I*_c. */
  branchOnInput: number[];
  /** B_c on B*_c. */
  branchOnBranch: number[];
  /** B_c on S(I*_c). */
  branchOnZoomedInput: number[];
  /** O_c on I*_c. */
  outputOnInput: number[];
  /** O_c on B*_c. */
  outputOnBranch: number[];
  /** Zoom sweep: B_c on S_f(I*_c) per factor f. */
  sweep?: { factor: number; branchOnZoomedInput: number[] }[];
}

export interface BlockMeasurements {
  readouts: BlockReadouts;
  /** Per channel, the probe images' names by role, best first. */
  probes: { input: string[][]; branch: string[][]; output: string[][] };
  responses: ChannelResponses[];
  /** Per channel, Spearman of I_c against B_c over the image set where I_c > 0 (absent: not computed). */
  tuning?: SpearmanResult[];
  params?: BlockParams;
}

/** The probe-set readouts behind a channel's metrics (null where not finite). */
export interface ChannelReadouts {
  /** O(I*): numerator of M. */
  outputOnInput: number | null;
  /** O(B*): denominator of M. */
  outputOnBranch: number | null;
  /** B(I*), plain mean (the secondary ANOVA's value). */
  branchOnInput: number | null;
  /** B(B*): denominator of SM_B. */
  branchOnBranch: number | null;
  /** I(I*): denominator of SM_I. */
  inputOnInput: number | null;
  /** I(B*), plain mean. */
  inputOnBranch: number | null;
  /** relu(B(I*)), mean of per-image relus. */
  reluBranchOnInput: number | null;
  /** relu(B(S(I*))). */
  reluBranchOnZoomedInput: number | null;
  /** relu(I(B*)). */
  reluInputOnBranch: number | null;
  /** relu(I(S^-1(B*))). */
  reluInputOnZoomedOutBranch: number | null;
}

export type MixCase = 'ratio' | 'pure-skip' | 'pure-overwrite' | 'undefined';

export interface ChannelResult {
  channel: number;
  /** M; 10 / 0 from the special cases; null when O(I*) <= 0 and O(B*) <= 0. */
  mix: number | null;
  /** skip (M >= 1.5), mixture (2/3 < M < 1.5), overwrite (M <= 2/3); null with M. */
  category: Category | null;
  /** SM_B; null when B(B*) <= 0. */
  scaleBranch: number | null;
  /** SM_I; null when I(I*) <= 0. */
  scaleInput: number | null;
  /** SM_B > 0, SM_I > 0 and 2/3 < M < 1.5. */
  scaleInvariant: boolean;
  /** SM_B > 0 and SM_I > 0 (the no-mix criterion). */
  noMix: boolean;
  /** How M was obtained. */
  mixCase: MixCase;
  /** The paper's M = 1 split. */
  side: Side | null;
  readouts: ChannelReadouts;
  /** Tuning-curve Spearman rho of I_c vs B_c where I_c > 0 (null: fewer than 3 images, or not computed). */
  tuningRho: number | null;
  tuningP: number | null;
  tuningImages: number | null;
  /** |gamma_c| of bn2 (null without parameters). */
  bn2GammaAbs: number | null;
  /** Mean |W| of conv2's filter c (null without parameters). */
  conv2MeanAbsWeight: number | null;
  /** SM_B per zoom factor (present when a sweep was run). */
  sweep?: SweepPoint[];
  /** Probe images by role, best first (base names). */
  probes: { input: string[]; branch: string[]; output: string[] };
}

export interface SecondaryStats {
  /** B_c(I*_c) between channels with M >= 1 and M < 1: one-way ANOVA. */
  branchOnInputVsMix: SplitAnovaResult;
  /** Tuning-curve rho between M >= 1 and M < 1 (METHOD.md), and Spearman of rho against M; null without tuning curves. */
  tuningVsMix: { anova: SplitAnovaResult; spearman: SpearmanResult } | null;
  /** |gamma| of bn2 against M; `note` says when it is meaningless; null without parameters. */
  gammaVsMix: { spearman: SpearmanResult; note: string | null } | null;
  /** Mean |W| of conv2's filters against M; null without parameters. */
  weightVsMix: { spearman: SpearmanResult } | null;
}

export interface BlockSummary {
  fractions: BlockFractions;
  histogram: MixHistogram;
  /** The three channels with the smallest |M - 1|. */
  exemplarMixtures: number[];
  /** The three scale-invariant channels with the largest SM_B + SM_I. */
  topScaleInvariant: number[];
  /** Channels whose M is undefined (reported, METHOD.md). */
  undefinedMix: number[];
  secondary: SecondaryStats;
  /** Per zoom factor, the fraction of channels with SM_B > 0 (alone and within the mix band). */
  sweep?: SweepSummaryPoint[];
  /** Things a reader should know about this block's numbers. */
  notes: string[];
}

export interface BlockResult {
  block: string;
  input: string;
  branch: string;
  output: string;
  variant: Variant;
  channels: ChannelResult[];
  summary: BlockSummary;
}

export interface AnalysisMeta {
  probes: 'dataset' | 'fv';
  variant: Variant;
  topK: number;
  /** Images in the set. */
  images: number;
  zoomFactors: number[];
  tuningCurves: boolean;
  /** The network analysed ('resnet18', 'resnet50', ...); absent in files written before the family ran: resnet18. */
  architecture?: string;
  /**
   * Only in files written before runs became reproducible: analysis.json now holds nothing that varies
   * between runs, so a resumed run's file is byte-identical to an uninterrupted one. The start date and
   * durations are in run.json (`AnalysisRunInfo`) beside it.
   */
  date?: string;
  /** Caller-supplied fields: weights, adapter, image set, ... */
  [key: string]: unknown;
}

export interface AnalysisJson {
  version: 1;
  meta: AnalysisMeta;
  skipped: SkippedBlock[];
  blocks: BlockResult[];
}

/** The note a |gamma| analysis carries on checkpoints whose BatchNorm was folded into the convolutions. */
export const GAMMA_FOLDED_NOTE = 'meaningless: BatchNorm folded (gamma all 1)';

/** analysis.json's text: two-space indented, keys in a fixed order, non-finite numbers as null. */
export function analysisToJson(analysis: AnalysisJson): string {
  return `${JSON.stringify(analysis, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}
