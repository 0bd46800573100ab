// The analysis core: from the centre activations of a block's readouts on its probe images (original,
// zoomed in, zoomed out) to everything METHOD.md reports per channel and per block, in the shape of
// analysis.json; and `runDatasetAnalysis`, which drives an engine through the dataset-probe protocol
// with a journal, so an interrupted run resumes to the same result. Browser-safe; the GPU is reached
// only through the `ForwardCentres` callback the caller passes in.
//
// Cost structure of dataset mode (why there are exactly these passes):
//   1. stream:  every image, untransformed, all readout taps  -> top-k per (tap, channel), tuning curves;
//               O on I* and B*, B on I* and I on B* are then already known (they are dataset images).
//   2. probe:   only when tuning curves are not kept: the union of the I* and B* images, untransformed.
//   3. zoomIn:  S applied to the union of the I* images, branch taps   (SM_B's numerator).
//   4. zoomOut: S^-1 applied to the union of the B* images, input taps (SM_I's numerator).
//   5. sweep:   optional, one zoom factor at a time on the I* images, branch taps.

import { tapShape } from '../model/architecture';
import {
  type Journal, type JournalBatch, type JournalEntry, type RunConfig, type Transform,
  configHash, decodeFloat32, encodeFloat32, hashString, sweepTransform,
} from './journal';
import {
  type BlockFractions, type Category, type MixHistogram, type Side, type SweepPoint, type SweepSummaryPoint,
  MIX_UNDEFINED_REASON, blockFractions, category, exemplarMixtures, mixHistogram, mixRatio, mixSpecialCase, noMix,
  scaleBranch, scaleInput, scaleInvariant, side, sweepSummary, topScaleInvariant, zoomSweep,
} from './metrics';
import { TopK, TuningCurves, probeSetReadout, probeSetReadoutRelu } from './probes';
import { type BlockReadouts, type Variant, ALL_BLOCKS, readoutsFor, tapsNeeded } from './readouts';
import { type SpearmanResult, type SplitAnovaResult, anovaAtMixSplit, spearmanAgainstMix, tuningCorrelations } from './stats';

export type { Transform } from './journal';

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
  /** `layerL.B.bn2.weight`, C values. */
  bn2Gamma?: ArrayLike<number>;
  /** `layerL.B.conv2.weight`, C x C x 3 x 3 values in torchvision order (filter c = the c-th C*9 run). */
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

const orNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

function channelReadouts(r: ChannelResponses): ChannelReadouts {
  return {
    outputOnInput: orNull(probeSetReadout(r.outputOnInput)),
    outputOnBranch: orNull(probeSetReadout(r.outputOnBranch)),
    branchOnInput: orNull(probeSetReadout(r.branchOnInput)),
    branchOnBranch: orNull(probeSetReadout(r.branchOnBranch)),
    inputOnInput: orNull(probeSetReadout(r.inputOnInput)),
    inputOnBranch: orNull(probeSetReadout(r.inputOnBranch)),
    reluBranchOnInput: orNull(probeSetReadoutRelu(r.branchOnInput)),
    reluBranchOnZoomedInput: orNull(probeSetReadoutRelu(r.branchOnZoomedInput)),
    reluInputOnBranch: orNull(probeSetReadoutRelu(r.inputOnBranch)),
    reluInputOnZoomedOutBranch: orNull(probeSetReadoutRelu(r.inputOnZoomedOutBranch)),
  };
}

const nz = (x: number | null): number => (x === null ? NaN : x);

/** Per-channel |gamma| and mean |W| from the block's parameters (nulls where absent or malformed). */
function paramColumns(params: BlockParams | undefined, channels: number): { gamma: (number | null)[]; weight: (number | null)[]; notes: string[] } {
  const gamma = new Array<number | null>(channels).fill(null);
  const weight = new Array<number | null>(channels).fill(null);
  const notes: string[] = [];
  if (params?.bn2Gamma) {
    if (params.bn2Gamma.length !== channels) notes.push(`bn2 gamma has ${params.bn2Gamma.length} values, expected ${channels}: ignored`);
    else for (let c = 0; c < channels; c++) gamma[c] = orNull(Math.abs(params.bn2Gamma[c]));
  }
  if (params?.conv2Weight) {
    const per = params.conv2Weight.length / channels;
    if (!Number.isInteger(per) || per === 0) notes.push(`conv2 weight has ${params.conv2Weight.length} values, not a multiple of ${channels}: ignored`);
    else {
      for (let c = 0; c < channels; c++) {
        let s = 0;
        for (let i = c * per; i < (c + 1) * per; i++) s += Math.abs(params.conv2Weight[i]);
        weight[c] = orNull(s / per);
      }
    }
  }
  return { gamma, weight, notes };
}

/** Everything METHOD.md computes for one block, from its measurements. Pure. */
export function analyzeBlock(m: BlockMeasurements): BlockResult {
  const C = m.readouts.channels;
  if (m.responses.length !== C) throw new Error(`block ${m.readouts.block}: ${m.responses.length} channel responses, expected ${C}`);
  const { gamma, weight, notes } = paramColumns(m.params, C);
  const channels: ChannelResult[] = [];
  const special: ('skip' | 'overwrite' | null)[] = [];
  for (let c = 0; c < C; c++) {
    const r = m.responses[c];
    const ro = channelReadouts(r);
    const mix = mixRatio(nz(ro.outputOnInput), nz(ro.outputOnBranch));
    const sp = mixSpecialCase(nz(ro.outputOnInput), nz(ro.outputOnBranch));
    special.push(sp);
    const smB = scaleBranch(nz(ro.reluBranchOnZoomedInput), nz(ro.reluBranchOnInput), nz(ro.branchOnBranch));
    const smI = scaleInput(nz(ro.reluInputOnZoomedOutBranch), nz(ro.reluInputOnBranch), nz(ro.inputOnInput));
    const t = m.tuning?.[c];
    const result: ChannelResult = {
      channel: c,
      mix,
      category: category(mix),
      scaleBranch: smB,
      scaleInput: smI,
      scaleInvariant: scaleInvariant(mix, smB, smI),
      noMix: noMix(smB, smI),
      mixCase: mix === null ? 'undefined' : sp === 'skip' ? 'pure-skip' : sp === 'overwrite' ? 'pure-overwrite' : 'ratio',
      side: side(mix),
      readouts: ro,
      tuningRho: t ? t.rho : null,
      tuningP: t ? t.p : null,
      tuningImages: t ? t.n : null,
      bn2GammaAbs: gamma[c],
      conv2MeanAbsWeight: weight[c],
      probes: { input: m.probes.input[c] ?? [], branch: m.probes.branch[c] ?? [], output: m.probes.output[c] ?? [] },
    };
    if (r.sweep) {
      result.sweep = zoomSweep(
        r.sweep.map((s) => ({ factor: s.factor, reluBranchOnZoomedInputProbe: probeSetReadoutRelu(s.branchOnZoomedInput) })),
        nz(ro.reluBranchOnInput),
        nz(ro.branchOnBranch),
      );
      // Keep key order stable: probes last.
      const { probes, ...rest } = result;
      channels.push({ ...rest, probes });
    } else {
      channels.push(result);
    }
  }

  const mixes = channels.map((c) => c.mix);
  const undefinedMix = channels.filter((c) => c.mix === null).map((c) => c.channel);
  if (undefinedMix.length) notes.push(`M undefined (${MIX_UNDEFINED_REASON}) for channel${undefinedMix.length > 1 ? 's' : ''} ${undefinedMix.join(', ')}`);
  if (!m.tuning) notes.push('tuning curves not available: tuning-curve correlations not computed');

  let gammaVsMix: SecondaryStats['gammaVsMix'] = null;
  if (m.params?.bn2Gamma && gamma.some((g) => g !== null)) {
    const folded = Array.from(m.params.bn2Gamma).every((g) => g === 1);
    gammaVsMix = { spearman: spearmanAgainstMix(gamma, mixes), note: folded ? GAMMA_FOLDED_NOTE : null };
    if (folded) notes.push(`|gamma| vs M: ${GAMMA_FOLDED_NOTE}`);
  }
  const weightVsMix = weight.some((w) => w !== null) ? { spearman: spearmanAgainstMix(weight, mixes) } : null;
  const tuningRhos = channels.map((c) => c.tuningRho);

  const summary: BlockSummary = {
    fractions: blockFractions(channels, special),
    histogram: mixHistogram(mixes),
    exemplarMixtures: exemplarMixtures(channels),
    topScaleInvariant: topScaleInvariant(channels),
    undefinedMix,
    secondary: {
      branchOnInputVsMix: anovaAtMixSplit(channels.map((c) => c.readouts.branchOnInput), mixes),
      tuningVsMix: m.tuning ? { anova: anovaAtMixSplit(tuningRhos, mixes), spearman: spearmanAgainstMix(tuningRhos, mixes) } : null,
      gammaVsMix,
      weightVsMix,
    },
    notes,
  };
  if (channels.some((c) => c.sweep)) summary.sweep = sweepSummary(channels);
  const { readouts } = m;
  return { block: readouts.block, input: readouts.input, branch: readouts.branch, output: readouts.output, variant: readouts.variant, channels, summary };
}

/** analysis.json's text: two-space indented, keys in a fixed order, non-finite numbers as null. */
export function analysisToJson(analysis: AnalysisJson): string {
  return `${JSON.stringify(analysis, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}

/** Blocks in forward order (the order of the report's panels and of analysis.json). */
export function sortBlocks(blocks: readonly string[]): string[] {
  const order = (b: string) => ALL_BLOCKS.indexOf(readoutsFor(b).block);
  return [...new Set(blocks.map((b) => readoutsFor(b).block))].sort((a, b) => order(a) - order(b));
}

// =============================================================================================
// Dataset mode, end to end

export type AnalysisPhase = 'stream' | 'probe' | 'zoomIn' | 'zoomOut' | 'sweep';

export interface AnalysisProgress {
  phase: AnalysisPhase;
  transform: Transform;
  /** Batches done in this phase, of `batches`. */
  batch: number;
  batches: number;
  /** Images done in this phase, of `total`. */
  images: number;
  total: number;
  /** Whether the batch just finished came from the journal (no GPU work). */
  replayed: boolean;
  /** Images of this phase, up to now, that came from the journal. */
  replayedImages: number;
}

/** How a run went, for run.json: what varies between runs and so stays out of analysis.json. */
export interface AnalysisRunInfo {
  /** When the run first started (ISO 8601, from the journal header; a resume keeps it). */
  startedAt: string;
  /** Whether this invocation resumed from a journal with entries. */
  resumed: boolean;
  /** Batches replayed from the journal and batches computed by this invocation. */
  replayedBatches: number;
  computedBatches: number;
}

export interface DatasetAnalysisOptions<R extends ImageRef = ImageRef> {
  /** The image set; images[i].index must be i. */
  images: readonly R[];
  /** Blocks to analyse, short names ('1.1') or module paths ('layer1.1'). */
  blocks: readonly string[];
  variant?: Variant;
  /** k of the dataset probes (default 9). */
  topK?: number;
  /** Images per forwardCentres call (default 16); part of the journal's identity. */
  batchSize?: number;
  forwardCentres: ForwardCentres<R>;
  /** Zoom-sweep factors (the follow-up's: SWEEP_FACTORS); default none. */
  zoomFactors?: readonly number[];
  /**
   * Keep every image's centre values of every readout tap in memory (default true): 4 bytes x images x
   * channels per tap. Needed for the tuning-curve analysis; without it an extra pass over the probe
   * images replaces the lookups.
   */
  keepTuningCurves?: boolean;
  /** Per block (short name), the parameters for |gamma| and mean |W| against M. */
  params?: Record<string, BlockParams>;
  /** Blocks left out (e.g. weights missing), reported as such. */
  skipped?: readonly SkippedBlock[];
  /** Where batches are recorded as they arrive; a run given a journal with entries resumes from it. */
  journal?: Journal;
  /**
   * Extra metadata for analysis.json (weights, adapter, image set, ...): part of the journal's identity,
   * so a resume with other weights or another adapter is refused. Keep it free of anything that varies
   * between runs (dates, absolute paths), or analysis.json will too.
   */
  meta?: Record<string, string | number | boolean | null>;
  /** Clock for the journal's start date (tests pin it). */
  now?: () => Date;
  onProgress?: (progress: AnalysisProgress) => void;
  /** Called once the run's result is complete, with what belongs in run.json rather than analysis.json. */
  onRunInfo?: (info: AnalysisRunInfo) => void;
  signal?: AbortSignal;
}

const START_AFRESH = 'to start afresh, delete the journal (resnet-stream analyze --restart) or write to another directory';

/** The stored journal belongs to another run (different blocks, images, k, batch size, ...). */
export class JournalMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JournalMismatchError';
  }
}

/** Centre values of some taps on a known set of images, [row][channel] per tap. */
class CentreStore {
  private readonly rowOf = new Map<number, number>();
  private readonly data = new Map<string, Float32Array>();
  private readonly channels = new Map<string, number>();

  constructor(images: readonly number[], taps: readonly string[], channelsOf: (tap: string) => number) {
    images.forEach((img, row) => this.rowOf.set(img, row));
    for (const tap of taps) {
      const C = channelsOf(tap);
      this.channels.set(tap, C);
      this.data.set(tap, new Float32Array(images.length * C).fill(NaN));
    }
  }

  set(tap: string, centres: Float32Array, images: readonly number[]): void {
    const C = this.channels.get(tap) as number;
    const target = this.data.get(tap) as Float32Array;
    images.forEach((img, j) => target.set(centres.subarray(j * C, (j + 1) * C), (this.rowOf.get(img) as number) * C));
  }

  get(tap: string, image: number, channel: number): number {
    const row = this.rowOf.get(image);
    const C = this.channels.get(tap);
    if (row === undefined || C === undefined) throw new Error(`internal: no centre value of ${tap} for image ${image}`);
    return (this.data.get(tap) as Float32Array)[row * C + channel];
  }
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function toIterator(entries: AsyncIterable<JournalEntry> | Iterable<JournalEntry>): AsyncIterator<JournalEntry> | Iterator<JournalEntry> {
  return Symbol.asyncIterator in entries
    ? (entries as AsyncIterable<JournalEntry>)[Symbol.asyncIterator]()
    : (entries as Iterable<JournalEntry>)[Symbol.iterator]();
}

/** 'topK: journal 4, now 5; meta.weights: journal "a.pth", now "b.pth"' (`b` is the journal's). */
function describeConfigDifference(a: RunConfig, b: RunConfig): string {
  const differences = (x: Record<string, unknown>, y: Record<string, unknown>, prefix: string): string[] => {
    const keys = [...new Set([...Object.keys(x), ...Object.keys(y ?? {})])];
    return keys.flatMap((k) => {
      const now = x[k];
      const then = y?.[k];
      if (JSON.stringify(now) === JSON.stringify(then)) return [];
      // Descend into the metadata, so the message names the field (weightsSha256), not the whole object.
      if (k === 'meta' && !prefix && now && typeof now === 'object' && then && typeof then === 'object') {
        return differences(now as Record<string, unknown>, then as Record<string, unknown>, 'meta.');
      }
      return [`${prefix}${k}: journal ${JSON.stringify(then) ?? 'absent'}, now ${JSON.stringify(now) ?? 'absent'}`];
    });
  };
  const found = differences(a as unknown as Record<string, unknown>, b as unknown as Record<string, unknown>, '');
  return found.length ? found.join('; ') : 'a different configuration hash';
}

const channelsOfTap = (tap: string): number => tapShape(tap, 1, 224, 224)[1];

/**
 * Runs the dataset-probe analysis of METHOD.md through an engine, batch by batch, recording every batch
 * in the journal; resumes from the journal when it holds entries of the same run. Returns analysis.json's
 * content; write it with `analysisToJson`.
 */
export async function runDatasetAnalysis<R extends ImageRef>(options: DatasetAnalysisOptions<R>): Promise<AnalysisJson> {
  const variant = options.variant ?? 'post-relu';
  const k = options.topK ?? 9;
  const batchSize = options.batchSize ?? 16;
  const keep = options.keepTuningCurves ?? true;
  const zoomFactors = [...(options.zoomFactors ?? [])];
  const images = options.images;
  const N = images.length;
  if (N === 0) throw new Error('runDatasetAnalysis: the image set is empty');
  images.forEach((img, i) => {
    if (img.index !== i) throw new Error(`runDatasetAnalysis: images[${i}].index is ${img.index}; indices must be the positions 0..${N - 1}`);
  });
  if (!(batchSize >= 1) || !Number.isInteger(batchSize)) throw new Error(`runDatasetAnalysis: batch size must be a positive integer, got ${batchSize}`);
  const skippedBlocks = new Set((options.skipped ?? []).map((s) => readoutsFor(s.block).block));
  const blocks = sortBlocks(options.blocks).filter((b) => !skippedBlocks.has(b));
  if (blocks.length === 0) throw new Error('runDatasetAnalysis: no blocks to analyse');
  const readouts = blocks.map((b) => readoutsFor(b, variant));
  const streamTaps = tapsNeeded(blocks, variant);

  const config: RunConfig = {
    blocks, variant, topK: k, batchSize, images: N, imagesHash: hashString(images.map((i) => i.name).join('\n')),
    taps: streamTaps, zoomFactors, keepTuningCurves: keep, meta: { ...(options.meta ?? {}) },
  };
  const hash = configHash(config);

  // ---- the journal: header check, then sequential replay of the recorded batches
  const journal = options.journal;
  let replay: AsyncIterator<JournalEntry> | Iterator<JournalEntry> | null = journal ? toIterator(journal.entries()) : null;
  let replayed = 0;
  let computed = 0;
  let createdAt: string;
  const first = replay ? await replay.next() : { done: true as const, value: undefined };
  const resumed = !first.done;
  if (first.done) {
    replay = null;
    createdAt = (options.now?.() ?? new Date()).toISOString();
    await journal?.append({ type: 'header', version: 1, configHash: hash, config, createdAt });
  } else {
    const header = first.value;
    if (header.type !== 'header') throw new JournalMismatchError(`journal does not start with a header entry; ${START_AFRESH}`);
    if (header.configHash !== hash) {
      throw new JournalMismatchError(`journal belongs to a different run (${describeConfigDifference(config, header.config)}); ${START_AFRESH}`);
    }
    createdAt = header.createdAt;
  }

  try {
    return await runPhases();
  } finally {
    // Close a journal reader left open by an error mid-replay (a file stays open otherwise).
    if (replay && typeof replay.return === 'function') await replay.return();
  }

  async function runPhases(): Promise<AnalysisJson> {
    const signal = options.signal;
    const forward = async (key: string, transform: Transform, batch: R[], taps: string[]): Promise<{ values: Map<string, Float32Array>; replayed: boolean }> => {
      signal?.throwIfAborted();
      const indices = batch.map((i) => i.index);
      if (replay) {
        const next = await replay.next();
        if (!next.done) {
          const e = next.value;
          replayed++;
          if (e.type !== 'batch' || e.key !== key || e.transform !== transform || !sameList(e.images, indices) || !sameList(e.taps, taps)) {
            throw new JournalMismatchError(`journal entry ${replayed} (${e.type === 'batch' ? e.key : e.type}) does not match the planned batch ${key}; ${START_AFRESH}`);
          }
          const values = new Map<string, Float32Array>();
          for (const tap of taps) {
            const v = decodeFloat32(e.values[tap] ?? '');
            if (v.length !== batch.length * channelsOfTap(tap)) throw new JournalMismatchError(`journal entry ${key}: ${tap} has ${v.length} values, expected ${batch.length * channelsOfTap(tap)}`);
            values.set(tap, v);
          }
          return { values, replayed: true };
        }
        replay = null; // the journal is exhausted: from here on, live
      }
      computed++;
      const got = await options.forwardCentres(batch, transform, taps);
      const values = new Map<string, Float32Array>();
      for (const tap of taps) {
        const v = got.get(tap);
        const expected = batch.length * channelsOfTap(tap);
        if (!v) throw new Error(`forwardCentres(${transform}) returned no values for tap ${tap}`);
        if (v.length !== expected) throw new Error(`forwardCentres(${transform}) returned ${v.length} values for ${tap}, expected ${batch.length} images x ${channelsOfTap(tap)} channels`);
        values.set(tap, v);
      }
      if (journal) {
        const entry: JournalBatch = { type: 'batch', key, transform, images: indices, taps, values: {} };
        for (const tap of taps) entry.values[tap] = encodeFloat32(values.get(tap) as Float32Array);
        await journal.append(entry);
      }
      return { values, replayed: false };
    };

    const runPhase = async (
      phase: AnalysisPhase, transform: Transform, list: readonly R[], taps: string[],
      consume: (values: Map<string, Float32Array>, indices: number[]) => void,
    ): Promise<void> => {
      const batches = Math.ceil(list.length / batchSize);
      let replayedImages = 0;
      for (let b = 0; b < batches; b++) {
        const batch = list.slice(b * batchSize, (b + 1) * batchSize);
        const { values, replayed: fromJournal } = await forward(`${phase === 'sweep' ? transform : phase}/${b}`, transform, batch, taps);
        consume(values, batch.map((i) => i.index));
        if (fromJournal) replayedImages += batch.length;
        options.onProgress?.({
          phase, transform, batch: b + 1, batches, images: Math.min(list.length, (b + 1) * batchSize), total: list.length,
          replayed: fromJournal, replayedImages,
        });
      }
    };

    // ---- 1. stream every image: top-k per (tap, channel), tuning curves
    const topk = new Map(streamTaps.map((t) => [t, new TopK(channelsOfTap(t), k)] as const));
    const tuning = keep ? new Map(streamTaps.map((t) => [t, new TuningCurves(N, channelsOfTap(t))] as const)) : null;
    await runPhase('stream', 'none', images, streamTaps, (values, idx) => {
      for (const tap of streamTaps) {
        const v = values.get(tap) as Float32Array;
        (topk.get(tap) as TopK).push(v, idx);
        tuning?.get(tap)?.set(v, idx);
      }
    });

    const probeImages = (tap: string): number[][] => (topk.get(tap) as TopK).allImages();
    const unionOf = (lists: number[][][]): R[] => {
      const set = new Set<number>();
      for (const perChannel of lists) for (const l of perChannel) for (const i of l) set.add(i);
      return [...set].sort((a, b) => a - b).map((i) => images[i]);
    };
    const uniqueTaps = (taps: string[]): string[] => streamTaps.filter((t) => taps.includes(t));
    const inputStars = readouts.map((r) => probeImages(r.input));
    const branchStars = readouts.map((r) => probeImages(r.branch));

    // ---- 2. untransformed values on the probe images (only when the tuning curves were not kept)
    let original: (tap: string, image: number, channel: number) => number;
    if (tuning) {
      original = (tap, image, channel) => (tuning.get(tap) as TuningCurves).value(image, channel);
    } else {
      const list = unionOf([...inputStars, ...branchStars]);
      const store = new CentreStore(list.map((i) => i.index), streamTaps, channelsOfTap);
      await runPhase('probe', 'none', list, streamTaps, (values, idx) => {
        for (const tap of streamTaps) store.set(tap, values.get(tap) as Float32Array, idx);
      });
      original = (tap, image, channel) => store.get(tap, image, channel);
    }

    // ---- 3 - 5. zoomed probe images
    const zoomPass = async (phase: AnalysisPhase, transform: Transform, list: R[], taps: string[]): Promise<CentreStore> => {
      const store = new CentreStore(list.map((i) => i.index), taps, channelsOfTap);
      await runPhase(phase, transform, list, taps, (values, idx) => {
        for (const tap of taps) store.set(tap, values.get(tap) as Float32Array, idx);
      });
      return store;
    };
    const branchTaps = uniqueTaps(readouts.map((r) => r.branch));
    const inputTaps = uniqueTaps(readouts.map((r) => r.input));
    const zoomIn = await zoomPass('zoomIn', 'zoomIn', unionOf(inputStars), branchTaps);
    const zoomOut = await zoomPass('zoomOut', 'zoomOut', unionOf(branchStars), inputTaps);
    const sweeps: { factor: number; store: CentreStore }[] = [];
    for (const factor of zoomFactors) {
      sweeps.push({ factor, store: await zoomPass('sweep', sweepTransform(factor), unionOf(inputStars), branchTaps) });
    }

    // ---- assemble the measurements of each block and analyse
    const names = (lists: number[][]): string[][] => lists.map((l) => l.map((i) => images[i].name));
    const results = readouts.map((ro, bi) => {
      const I = topk.get(ro.input) as TopK;
      const B = topk.get(ro.branch) as TopK;
      const iStar = inputStars[bi];
      const bStar = branchStars[bi];
      const responses: ChannelResponses[] = [];
      for (let c = 0; c < ro.channels; c++) {
        const r: ChannelResponses = {
          inputOnInput: I.valuesOf(c),
          inputOnBranch: bStar[c].map((img) => original(ro.input, img, c)),
          inputOnZoomedOutBranch: bStar[c].map((img) => zoomOut.get(ro.input, img, c)),
          branchOnInput: iStar[c].map((img) => original(ro.branch, img, c)),
          branchOnBranch: B.valuesOf(c),
          branchOnZoomedInput: iStar[c].map((img) => zoomIn.get(ro.branch, img, c)),
          outputOnInput: iStar[c].map((img) => original(ro.output, img, c)),
          outputOnBranch: bStar[c].map((img) => original(ro.output, img, c)),
        };
        if (sweeps.length) r.sweep = sweeps.map((s) => ({ factor: s.factor, branchOnZoomedInput: iStar[c].map((img) => s.store.get(ro.branch, img, c)) }));
        responses.push(r);
      }
      const tuningRho = tuning
        ? tuningCorrelations((tuning.get(ro.input) as TuningCurves).data, (tuning.get(ro.branch) as TuningCurves).data, N, ro.channels)
        : undefined;
      return analyzeBlock({
        readouts: ro,
        probes: { input: names(iStar), branch: names(bStar), output: names(probeImages(ro.output)) },
        responses,
        tuning: tuningRho,
        params: options.params?.[ro.block],
      });
    });

    options.onRunInfo?.({ startedAt: createdAt, resumed, replayedBatches: replayed, computedBatches: computed });
    return {
      version: 1,
      // Nothing here may vary between runs of the same configuration (no dates, durations or paths):
      // a resumed run must write the same bytes as an uninterrupted one.
      meta: {
        ...(options.meta ?? {}),
        probes: 'dataset', variant, topK: k, images: N, zoomFactors, tuningCurves: keep,
      },
      skipped: [...(options.skipped ?? [])],
      blocks: results,
    };
  }
}

/** The parameters of a block for the secondary analyses, from a loaded state dict (absent tensors stay absent). */
export function blockParamsFrom(tensors: ReadonlyMap<string, { data: ArrayLike<number> }>, block: string): BlockParams {
  const module = readoutsFor(block).module;
  return {
    bn2Gamma: tensors.get(`${module}.bn2.weight`)?.data,
    conv2Weight: tensors.get(`${module}.conv2.weight`)?.data,
  };
}
