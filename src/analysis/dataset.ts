// The dataset-probe analysis of METHOD.md, end to end: `runDatasetAnalysis` drives an engine (through
// the `ForwardCentres` callback) over an image set, batch by batch, with a journal (replay.ts), so an
// interrupted run resumes to the same result; each block's measurements then go to analyzeBlock.
// Browser-safe.
//
// Cost structure of dataset mode (why there are exactly these passes):
//   1. stream:  every image, untransformed, all readout taps  -> top-k per (tap, channel), tuning curves;
//               O on I* and B*, B on I* and I on B* are then already known (they are dataset images).
//   2. probe:   only when tuning curves are not kept: the union of the I* and B* images, untransformed.
//   3. zoomIn:  S applied to the union of the I* images, branch taps   (SM_B's numerator).
//   4. zoomOut: S^-1 applied to the union of the B* images, input taps (SM_I's numerator).
//   5. sweep:   optional, one zoom factor at a time on the I* images, branch taps.

import { type Architecture, RESNET18, tapShape } from '../model/architecture';
import { architectureOf } from '../model/family';
import { analyzeBlock, sortBlocks } from './block';
import { type BlockDetails, blockDetails } from './details';
import {
  type Journal, type JournalEntry, type JournalHeader, type JournalImage, type RunConfig, type Transform, hashString, sweepTransform,
} from './journal';
import { TopK } from './probes';
import { type BlockReadouts, type Variant, readoutsFor, tapsNeeded } from './readouts';
import { JournalledBatches, configDifferences } from './replay';
import type { AnalysisJson, BlockParams, ChannelResponses, ForwardCentres, ImageRef, SkippedBlock } from './schema';
import { type ShardSpec, ShardSetError, checkCoverage, checkShard, shardLabel, shardRange } from './shard';
import { tuningCorrelations } from './stats';

export { JournalMismatchError } from './replay';
export { ShardSetError } from './shard';

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
  /** The network analysed (default ResNet18): its blocks, readouts and channel counts; named in analysis.json's meta. */
  architecture?: Architecture;
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
  /** Per block, what its channel pages show beyond analysis.json (per-probe readouts, tuning curves). */
  onBlockDetails?: (details: BlockDetails) => void;
  signal?: AbortSignal;
  /** Shard K of N (runDatasetShard): stream only its share of the images (shard.ts). */
  shard?: ShardSpec;
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

  /** A tap's values, [row][channel] (rows in the order of the images given: over a whole set, [image][channel]). */
  rows(tap: string): Float32Array {
    return this.data.get(tap) as Float32Array;
  }

  get(tap: string, image: number, channel: number): number {
    const row = this.rowOf.get(image);
    const C = this.channels.get(tap);
    if (row === undefined || C === undefined) throw new Error(`internal: no centre value of ${tap} for image ${image}`);
    return (this.data.get(tap) as Float32Array)[row * C + channel];
  }
}

/** Centre values of a tap at (image, channel). */
export type CentreLookup = (tap: string, image: number, channel: number) => number;

/** What the analysis derives from a run's configuration before any batch: the same for a run, its shards and their merge. */
export interface DatasetPlan<R extends ImageRef = ImageRef> {
  images: readonly R[];
  arch: Architecture;
  variant: Variant;
  k: number;
  batchSize: number;
  keep: boolean;
  zoomFactors: number[];
  blocks: string[];
  readouts: BlockReadouts[];
  streamTaps: string[];
  channelsOfTap: (tap: string) => number;
}

/** What the batches of a run (or of one shard) leave: top-k over its images and the zoomed values of its probe candidates. */
interface Acquired {
  topk: Map<string, TopK>;
  /** Untransformed values on the probe images (from the probe pass; null when the stream store serves). */
  probe: CentreStore | null;
  zoomIn: CentreStore;
  zoomOut: CentreStore;
  sweeps: { factor: number; store: CentreStore }[];
}

/** Checks the options and derives the plan (blocks in forward order, taps, channel counts). */
export function planDataset<R extends ImageRef>(options: Omit<DatasetAnalysisOptions<R>, 'forwardCentres'>): DatasetPlan<R> {
  const variant = options.variant ?? 'post-relu';
  const arch = options.architecture ?? RESNET18;
  const batchSize = options.batchSize ?? 16;
  const images = options.images;
  const N = images.length;
  if (N === 0) throw new Error('runDatasetAnalysis: the image set is empty');
  images.forEach((img, i) => {
    if (img.index !== i) throw new Error(`runDatasetAnalysis: images[${i}].index is ${img.index}; indices must be the positions 0..${N - 1}`);
  });
  if (!(batchSize >= 1) || !Number.isInteger(batchSize)) throw new Error(`runDatasetAnalysis: batch size must be a positive integer, got ${batchSize}`);
  const skippedBlocks = new Set((options.skipped ?? []).map((s) => readoutsFor(s.block, variant, arch).block));
  const blocks = sortBlocks(options.blocks, arch).filter((b) => !skippedBlocks.has(b));
  if (blocks.length === 0) throw new Error('runDatasetAnalysis: no blocks to analyse');
  return {
    images, arch, variant, k: options.topK ?? 9, batchSize, keep: options.keepTuningCurves ?? true, zoomFactors: [...(options.zoomFactors ?? [])],
    blocks, readouts: blocks.map((b) => readoutsFor(b, variant, arch)), streamTaps: tapsNeeded(blocks, variant, arch),
    channelsOfTap: (tap: string): number => tapShape(tap, 1, 224, 224, arch)[1],
  };
}

/** Hash of the images' SHA-256s in order (null unless every image has one). */
function contentHashOf(images: readonly ImageRef[]): string | null {
  return images.length && images.every((i) => i.sha256) ? hashString(images.map((i) => i.sha256).join('\n')) : null;
}

/** The journal's identity of a run (or shard) over `share` of the plan's images. */
function runConfig(plan: DatasetPlan, share: readonly ImageRef[], meta: DatasetAnalysisOptions['meta'], shard?: ShardSpec): RunConfig {
  const config: RunConfig = {
    blocks: plan.blocks, variant: plan.variant, topK: plan.k, batchSize: plan.batchSize, images: plan.images.length,
    imagesHash: hashString(plan.images.map((i) => i.name).join('\n')),
    taps: plan.streamTaps, zoomFactors: plan.zoomFactors, keepTuningCurves: plan.keep, meta: { ...(meta ?? {}) },
  };
  const contents = contentHashOf(share);
  if (contents !== null) config.contentHash = contents;
  if (shard) config.shard = { index: shard.index, count: shard.count };
  return config;
}

/** The images of a shard (all of them without one). */
export function shareOf<R extends ImageRef>(images: readonly R[], shard?: ShardSpec): R[] {
  if (!shard) return images.slice();
  const { start, end } = shardRange(images.length, shard);
  return images.slice(start, end);
}

type Live<R> = ((batch: R[], transform: Transform, taps: string[]) => Promise<Map<string, Float32Array>>) | null;

/**
 * The passes of a run over `share` of the images, each batch through the journal (replayed, or
 * computed by `live` and recorded): 1. stream (top-k per tap and channel over the share, its values
 * into `stream` when given); 2. the probe pass when asked; 3 - 5. the zoom passes over the share's
 * probe candidates. A shard's top-k candidates contain every image the whole run's top-k takes from
 * it (the ranking is a total order, image index breaking ties), so the zoom passes of the shards
 * together cover the merged run's probes.
 */
async function acquire<R extends ImageRef>(plan: DatasetPlan<R>, batches: JournalledBatches, share: readonly R[], live: Live<R>,
  stream: CentreStore | null, probePass: boolean, signal?: AbortSignal, onProgress?: (p: AnalysisProgress) => void): Promise<Acquired> {
  const { batchSize, channelsOfTap, streamTaps, readouts, images } = plan;
  const forward = async (key: string, transform: Transform, batch: R[], taps: string[]): Promise<{ values: Map<string, Float32Array>; replayed: boolean }> => {
    signal?.throwIfAborted();
    const length = (tap: string) => batch.length * channelsOfTap(tap);
    return batches.next(key, transform, batch.map((i) => i.index), taps, length, async () => {
      if (!live) throw new ShardIncompleteError(key);
      const got = await live(batch, transform, taps);
      const values = new Map<string, Float32Array>();
      for (const tap of taps) {
        const v = got.get(tap);
        if (!v) throw new Error(`forwardCentres(${transform}) returned no values for tap ${tap}`);
        if (v.length !== length(tap)) throw new Error(`forwardCentres(${transform}) returned ${v.length} values for ${tap}, expected ${batch.length} images x ${channelsOfTap(tap)} channels`);
        values.set(tap, v);
      }
      return values;
    });
  };

  const runPhase = async (
    phase: AnalysisPhase, transform: Transform, list: readonly R[], taps: string[],
    consume: (values: Map<string, Float32Array>, indices: number[]) => void,
  ): Promise<void> => {
    const count = Math.ceil(list.length / batchSize);
    let replayedImages = 0;
    for (let b = 0; b < count; b++) {
      const batch = list.slice(b * batchSize, (b + 1) * batchSize);
      const { values, replayed: fromJournal } = await forward(`${phase === 'sweep' ? transform : phase}/${b}`, transform, batch, taps);
      consume(values, batch.map((i) => i.index));
      if (fromJournal) replayedImages += batch.length;
      onProgress?.({
        phase, transform, batch: b + 1, batches: count, images: Math.min(list.length, (b + 1) * batchSize), total: list.length,
        replayed: fromJournal, replayedImages,
      });
    }
  };

  // ---- 1. stream the share: top-k per (tap, channel), and every value when a store is given
  const topk = new Map(streamTaps.map((t) => [t, new TopK(channelsOfTap(t), plan.k)] as const));
  await runPhase('stream', 'none', share, streamTaps, (values, idx) => {
    for (const tap of streamTaps) {
      const v = values.get(tap) as Float32Array;
      (topk.get(tap) as TopK).push(v, idx);
      stream?.set(tap, v, idx);
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
  let probe: CentreStore | null = null;
  if (probePass) {
    const list = unionOf([...inputStars, ...branchStars]);
    probe = new CentreStore(list.map((i) => i.index), streamTaps, channelsOfTap);
    const store = probe;
    await runPhase('probe', 'none', list, streamTaps, (values, idx) => {
      for (const tap of streamTaps) store.set(tap, values.get(tap) as Float32Array, idx);
    });
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
  for (const factor of plan.zoomFactors) {
    sweeps.push({ factor, store: await zoomPass('sweep', sweepTransform(factor), unionOf(inputStars), branchTaps) });
  }
  return { topk, probe, zoomIn, zoomOut, sweeps };
}

/** What assembling a run's result needs: the whole image set's top-k, and lookups of every value a probe set reads. */
interface Measured {
  topk: Map<string, TopK>;
  original: CentreLookup;
  zoomIn: CentreLookup;
  zoomOut: CentreLookup;
  sweeps: { factor: number; get: CentreLookup }[];
  /** Every image's centre values of a tap, [image][channel] (null: tuning curves not kept). */
  tuning: ((tap: string) => Float32Array) | null;
}

/** Each block's measurements, analysed; analysis.json's content. */
function assemble(plan: DatasetPlan, m: Measured, options: Pick<DatasetAnalysisOptions, 'meta' | 'params' | 'skipped' | 'onBlockDetails'>): AnalysisJson {
  const { images, readouts, variant, k } = plan;
  const N = images.length;
  const names = (lists: number[][]): string[][] => lists.map((l) => l.map((i) => images[i].name));
  const results = readouts.map((ro) => {
    const I = m.topk.get(ro.input) as TopK;
    const B = m.topk.get(ro.branch) as TopK;
    const iStar = I.allImages();
    const bStar = B.allImages();
    const responses: ChannelResponses[] = [];
    for (let c = 0; c < ro.channels; c++) {
      const r: ChannelResponses = {
        inputOnInput: I.valuesOf(c),
        inputOnBranch: bStar[c].map((img) => m.original(ro.input, img, c)),
        inputOnZoomedOutBranch: bStar[c].map((img) => m.zoomOut(ro.input, img, c)),
        branchOnInput: iStar[c].map((img) => m.original(ro.branch, img, c)),
        branchOnBranch: B.valuesOf(c),
        branchOnZoomedInput: iStar[c].map((img) => m.zoomIn(ro.branch, img, c)),
        outputOnInput: iStar[c].map((img) => m.original(ro.output, img, c)),
        outputOnBranch: bStar[c].map((img) => m.original(ro.output, img, c)),
      };
      if (m.sweeps.length) r.sweep = m.sweeps.map((s) => ({ factor: s.factor, branchOnZoomedInput: iStar[c].map((img) => s.get(ro.branch, img, c)) }));
      responses.push(r);
    }
    const matrices = m.tuning ? { input: m.tuning(ro.input), branch: m.tuning(ro.branch), images: N } : undefined;
    const tuningRho = matrices ? tuningCorrelations(matrices.input, matrices.branch, N, ro.channels) : undefined;
    const measurements = {
      readouts: ro,
      probes: { input: names(iStar), branch: names(bStar), output: names((m.topk.get(ro.output) as TopK).allImages()) },
      responses,
      tuning: tuningRho,
      params: options.params?.[ro.block],
    };
    options.onBlockDetails?.(blockDetails(measurements, matrices));
    return analyzeBlock(measurements);
  });
  return {
    version: 1,
    // Nothing here may vary between runs of the same configuration (no dates, durations or paths):
    // a resumed run must write the same bytes as an uninterrupted one.
    meta: {
      ...(options.meta ?? {}),
      architecture: plan.arch.name,
      probes: 'dataset', variant, topK: k, images: N, zoomFactors: plan.zoomFactors, tuningCurves: plan.keep,
    },
    skipped: [...(options.skipped ?? [])],
    blocks: results,
  };
}

/** The journal header's record of the images a run streams. */
const journalImages = (share: readonly ImageRef[]) => share.map((i) => (i.sha256 ? { name: i.name, sha256: i.sha256 } : { name: i.name }));

/**
 * Runs the dataset-probe analysis of METHOD.md through an engine, batch by batch, recording every batch
 * in the journal; resumes from the journal when it holds entries of the same run. Returns analysis.json's
 * content; write it with `analysisToJson`. With `shard`, see `runDatasetShard`.
 */
export async function runDatasetAnalysis<R extends ImageRef>(options: DatasetAnalysisOptions<R>): Promise<AnalysisJson> {
  if (options.shard) throw new Error('runDatasetAnalysis: a shard has no analysis of its own; use runDatasetShard and mergeDatasetShards');
  const plan = planDataset(options);
  const config = runConfig(plan, plan.images, options.meta);
  const batches = await JournalledBatches.open(options.journal, config, options.now ?? (() => new Date()),
    { images: journalImages(plan.images), architecture: plan.arch.name, skipped: [...(options.skipped ?? [])] });
  try {
    const stream = plan.keep ? new CentreStore(plan.images.map((i) => i.index), plan.streamTaps, plan.channelsOfTap) : null;
    const got = await acquire(plan, batches, plan.images, options.forwardCentres, stream, !plan.keep, options.signal, options.onProgress);
    const source = (stream ?? got.probe) as CentreStore;
    const analysis = assemble(plan, {
      topk: got.topk,
      original: (tap, image, channel) => source.get(tap, image, channel),
      zoomIn: (tap, image, channel) => got.zoomIn.get(tap, image, channel),
      zoomOut: (tap, image, channel) => got.zoomOut.get(tap, image, channel),
      sweeps: got.sweeps.map((s) => ({ factor: s.factor, get: (tap: string, image: number, channel: number) => s.store.get(tap, image, channel) })),
      tuning: stream ? (tap) => stream.rows(tap) : null,
    }, options);
    options.onRunInfo?.({ startedAt: batches.createdAt, resumed: batches.resumed, replayedBatches: batches.replayed, computedBatches: batches.computed });
    return analysis;
  } finally {
    await batches.close();
  }
}

/** What a finished shard reports (its outputs are its journal). */
export interface DatasetShardResult extends AnalysisRunInfo {
  shard: ShardSpec;
  /** The images it streamed: indices [start, end) of the run's list. */
  start: number;
  end: number;
}

/**
 * One shard of a dataset run (`options.shard`, K of N): streams its share of the images (shard.ts) and
 * zooms its own top-k candidates, every batch journalled (resumable like a whole run). No analysis:
 * `mergeDatasetShards` reads the N journals and produces the whole run's analysis.json.
 */
export async function runDatasetShard<R extends ImageRef>(options: DatasetAnalysisOptions<R> & { shard: ShardSpec }): Promise<DatasetShardResult> {
  checkShard(options.shard);
  const plan = planDataset(options);
  if (!plan.keep) throw new Error('runDatasetShard: a sharded run keeps the tuning curves (keepTuningCurves: true); the merge reads every image\'s values');
  const share = shareOf(plan.images, options.shard);
  if (!share.length) throw new Error(`shard ${shardLabel(options.shard)} of ${plan.images.length} images is empty: use fewer shards than images`);
  const config = runConfig(plan, share, options.meta, options.shard);
  const batches = await JournalledBatches.open(options.journal, config, options.now ?? (() => new Date()),
    { images: journalImages(share), architecture: plan.arch.name, skipped: [...(options.skipped ?? [])] });
  try {
    await acquire(plan, batches, share, options.forwardCentres, null, false, options.signal, options.onProgress);
    const info = { startedAt: batches.createdAt, resumed: batches.resumed, replayedBatches: batches.replayed, computedBatches: batches.computed };
    options.onRunInfo?.(info);
    return { ...info, shard: { ...options.shard }, start: share[0].index, end: share[share.length - 1].index + 1 };
  } finally {
    await batches.close();
  }
}

/** A shard's journal ends before the batch it names: the shard has not finished (run its command again). */
export class ShardIncompleteError extends Error {
  constructor(readonly batch: string) {
    super(`its journal ends before batch ${batch}`);
    this.name = 'ShardIncompleteError';
  }
}

export interface DatasetShardInput {
  /** How messages name the shard (its folder). */
  name: string;
  journal: Journal;
}

export interface MergeDatasetOptions {
  shards: readonly DatasetShardInput[];
  /**
   * Per block (short name), the parameters for |gamma| and mean |W| against M, as the unsharded run had
   * them (from the weights the header's meta names); asked once the shards are known to be one run.
   */
  params?: (header: JournalHeader) => Record<string, BlockParams> | undefined | Promise<Record<string, BlockParams> | undefined>;
  /** Per block, what its channel pages show beyond analysis.json (as runDatasetAnalysis's). */
  onBlockDetails?: (details: BlockDetails) => void;
}

export interface MergedDataset {
  analysis: AnalysisJson;
  /** The first shard header (the run's configuration, images and start), for run.json. */
  header: JournalHeader;
  /** The run's images, in order. */
  images: ImageRef[];
  /** Hash of every image's SHA-256 in order, as an unsharded run's journal identity holds it (null without contents). */
  contentHash: string | null;
  shards: { name: string; shard: ShardSpec; startedAt: string; batches: number }[];
}

async function firstEntry(journal: Journal): Promise<JournalEntry | undefined> {
  const entries = journal.entries();
  if (Symbol.asyncIterator in entries) {
    for await (const e of entries as AsyncIterable<JournalEntry>) return e;
    return undefined;
  }
  for (const e of entries as Iterable<JournalEntry>) return e;
  return undefined;
}

/**
 * Merges the journals of shards 0..N-1 of one dataset run into the analysis the unsharded run writes,
 * byte for byte: every image's stream values and each shard's zoomed candidates are exact float32,
 * the global top-k is taken over all images with the same ranking, and the same assembly runs. Refuses
 * (ShardSetError), before assembling anything, a set that is not one run's N shards exactly once, and
 * shards that have not finished, naming them.
 */
export async function mergeDatasetShards(options: MergeDatasetOptions): Promise<MergedDataset> {
  const { shards } = options;
  if (!shards.length) throw new ShardSetError('no shards to merge');
  const headers: JournalHeader[] = [];
  for (const s of shards) {
    const first = await firstEntry(s.journal);
    if (!first) throw new ShardSetError(`${s.name}: the journal is empty or absent (the shard never started)`);
    if (first.type !== 'header' || !first.config.shard) throw new ShardSetError(`${s.name}: not a shard's journal (run with --shard K/N)`);
    if (!first.images || !first.architecture) throw new ShardSetError(`${s.name}: the journal's header lacks the image list (written by an older version)`);
    headers.push(first);
  }
  const count = (headers[0].config.shard as ShardSpec).count;
  // One run: every shard's configuration equals shard 0's but for its index and the contents of its share.
  const ignore = ['shard.index', 'contentHash'];
  const differing = headers.flatMap((h, j) => {
    const d = configDifferences(h.config, headers[0].config, shards[0].name, shards[j].name, ignore);
    if (h.architecture !== headers[0].architecture) d.push(`network: ${shards[0].name} ${headers[0].architecture}, ${shards[j].name} ${h.architecture}`);
    return d.length ? [`${shards[j].name} differs from ${shards[0].name} (${d.join('; ')})`] : [];
  });
  if (differing.length) throw new ShardSetError(`the shards are not of one run: ${differing.join('; ')}`);
  checkCoverage(headers.map((h) => (h.config.shard as ShardSpec).index), count,
    (k) => shards.filter((_s, j) => headers[j].config.shard?.index === k).map((s) => s.name).join(', '));
  const order = headers.map((h, j) => j).sort((a, b) => (headers[a].config.shard as ShardSpec).index - (headers[b].config.shard as ShardSpec).index);

  // The image list, from the shares in K order: its names must hash to the run's.
  const config = headers[0].config;
  const imageList: ImageRef[] = [];
  for (const j of order) {
    const { start, end } = shardRange(config.images, headers[j].config.shard as ShardSpec);
    const own = headers[j].images as JournalImage[];
    if (own.length !== end - start) throw new ShardSetError(`${shards[j].name}: lists ${own.length} images, its share is ${end - start}`);
    const share = own.map((img, i) => ({ index: start + i, name: img.name, ...(img.sha256 ? { sha256: img.sha256 } : {}) }));
    if ((headers[j].config.contentHash ?? null) !== contentHashOf(share)) {
      throw new ShardSetError(`${shards[j].name}: its image contents do not match its journal's identity`);
    }
    imageList.push(...share);
  }
  if (hashString(imageList.map((i) => i.name).join('\n')) !== config.imagesHash) throw new ShardSetError('the shards\' image names are not the run\'s image list');

  const plan = planDataset({
    images: imageList, blocks: config.blocks, architecture: architectureOf(headers[0].architecture as string), variant: config.variant as Variant,
    topK: config.topK, batchSize: config.batchSize, zoomFactors: config.zoomFactors, keepTuningCurves: config.keepTuningCurves,
  });
  // Replay every shard (nothing is computed: a shard whose journal ends early is named), its stream
  // values into one store over all images.
  const stream = new CentreStore(imageList.map((i) => i.index), plan.streamTaps, plan.channelsOfTap);
  const acquired: Acquired[] = [];
  const incomplete: string[] = [];
  const info: MergedDataset['shards'] = [];
  for (const j of order) {
    const shard = headers[j].config.shard as ShardSpec;
    const batches = await JournalledBatches.open(shards[j].journal, headers[j].config, () => new Date());
    try {
      acquired[shard.index] = await acquire(plan, batches, shareOf(imageList, shard), null, stream, false);
      info.push({ name: shards[j].name, shard: { ...shard }, startedAt: headers[j].createdAt, batches: batches.replayed });
    } catch (e) {
      if (!(e instanceof ShardIncompleteError)) throw e;
      incomplete.push(`shard ${shardLabel(shard)} (${shards[j].name}) has not finished: ${e.message}`);
    } finally {
      await batches.close();
    }
  }
  if (incomplete.length) throw new ShardSetError(`${incomplete.join('; ')}; run those shards' commands again to finish them`);
  const params = await options.params?.(headers[0]);

  // The whole set's top-k, from every image's values (the ranking is a total order: the result is the unsharded run's).
  const all = imageList.map((i) => i.index);
  const topk = new Map(plan.streamTaps.map((t) => {
    const top = new TopK(plan.channelsOfTap(t), plan.k);
    top.push(stream.rows(t), all);
    return [t, top] as const;
  }));
  const owner = new Int32Array(config.images);
  for (let k = 0; k < count; k++) {
    const { start, end } = shardRange(config.images, { index: k, count });
    owner.fill(k, start, end);
  }
  const shardOf = (image: number): Acquired => acquired[owner[image]];
  const analysis = assemble(plan, {
    topk,
    original: (tap, image, channel) => stream.get(tap, image, channel),
    zoomIn: (tap, image, channel) => shardOf(image).zoomIn.get(tap, image, channel),
    zoomOut: (tap, image, channel) => shardOf(image).zoomOut.get(tap, image, channel),
    sweeps: plan.zoomFactors.map((factor, f) => ({ factor, get: (tap: string, image: number, channel: number) => shardOf(image).sweeps[f].store.get(tap, image, channel) })),
    tuning: (tap) => stream.rows(tap),
  }, { meta: config.meta, params, skipped: headers[0].skipped, onBlockDetails: options.onBlockDetails });
  return { analysis, header: headers[0], images: imageList, contentHash: contentHashOf(imageList), shards: info };
}
