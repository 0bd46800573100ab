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
import { analyzeBlock, sortBlocks } from './block';
import { type Journal, type RunConfig, type Transform, hashString, sweepTransform } from './journal';
import { TopK, TuningCurves } from './probes';
import { type Variant, readoutsFor, tapsNeeded } from './readouts';
import { JournalledBatches } from './replay';
import type { AnalysisJson, BlockParams, ChannelResponses, ForwardCentres, ImageRef, SkippedBlock } from './schema';
import { tuningCorrelations } from './stats';

export { JournalMismatchError } from './replay';

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
  signal?: AbortSignal;
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

/**
 * Runs the dataset-probe analysis of METHOD.md through an engine, batch by batch, recording every batch
 * in the journal; resumes from the journal when it holds entries of the same run. Returns analysis.json's
 * content; write it with `analysisToJson`.
 */
export async function runDatasetAnalysis<R extends ImageRef>(options: DatasetAnalysisOptions<R>): Promise<AnalysisJson> {
  const variant = options.variant ?? 'post-relu';
  const arch = options.architecture ?? RESNET18;
  const channelsOfTap = (tap: string): number => tapShape(tap, 1, 224, 224, arch)[1];
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
  const skippedBlocks = new Set((options.skipped ?? []).map((s) => readoutsFor(s.block, variant, arch).block));
  const blocks = sortBlocks(options.blocks, arch).filter((b) => !skippedBlocks.has(b));
  if (blocks.length === 0) throw new Error('runDatasetAnalysis: no blocks to analyse');
  const readouts = blocks.map((b) => readoutsFor(b, variant, arch));
  const streamTaps = tapsNeeded(blocks, variant, arch);

  const config: RunConfig = {
    blocks, variant, topK: k, batchSize, images: N, imagesHash: hashString(images.map((i) => i.name).join('\n')),
    taps: streamTaps, zoomFactors, keepTuningCurves: keep, meta: { ...(options.meta ?? {}) },
  };

  const batches = await JournalledBatches.open(options.journal, config, options.now ?? (() => new Date()));
  try {
    return await runPhases();
  } finally {
    await batches.close();
  }

  async function runPhases(): Promise<AnalysisJson> {
    const signal = options.signal;
    const forward = async (key: string, transform: Transform, batch: R[], taps: string[]): Promise<{ values: Map<string, Float32Array>; replayed: boolean }> => {
      signal?.throwIfAborted();
      const length = (tap: string) => batch.length * channelsOfTap(tap);
      return batches.next(key, transform, batch.map((i) => i.index), taps, length, async () => {
        const got = await options.forwardCentres(batch, transform, taps);
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

    options.onRunInfo?.({ startedAt: batches.createdAt, resumed: batches.resumed, replayedBatches: batches.replayed, computedBatches: batches.computed });
    return {
      version: 1,
      // Nothing here may vary between runs of the same configuration (no dates, durations or paths):
      // a resumed run must write the same bytes as an uninterrupted one.
      meta: {
        ...(options.meta ?? {}),
        architecture: arch.name,
        probes: 'dataset', variant, topK: k, images: N, zoomFactors, tuningCurves: keep,
      },
      skipped: [...(options.skipped ?? [])],
      blocks: results,
    };
  }
}
