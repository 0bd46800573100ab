// The follow-up paper's robustness experiment (METHOD.md, "Follow-up (2025) additions"): top-1
// accuracy under the zoom s (CenterCrop(int(224 (2 - s))), then resize to 224) with a block's
// scale-invariant channels ablated in its output readout O, against no ablation and against the same
// number of random channels of O (several seeded trials, mean and sd).
//
// This module is the pure part (labels in labels.ts): channel choice, means, accuracy bookkeeping, the result's
// shape and its table, and `runRobustness`, which drives any engine through the experiment. The GPU
// and the image files are reached only through the `prepare` and `forward` callbacks the caller
// passes in (src/cli/robustness.ts). Browser-safe: no Node imports.
//
// Definitions:
//   - Ablation values: zero, or (mean mode) the channel's mean of relu(O) over every position of every
//     image of the set, unzoomed. Taking relu first makes ablating the pre-ReLU `sum` and the block
//     output the same operation (relu(mean) = mean >= 0, relu(0) = 0), so the network's output does not
//     depend on which of the two the analysis read.
//   - Random control: per trial, `count` distinct channels drawn uniformly from all channels of O
//     (scale-invariant ones included), from mulberry32 seeded by (seed, block).
//   - Accuracy: the fraction of images whose arg-max logit (the first on ties, as torch.argmax) is
//     the label. Random trials: the mean of their accuracies and the sample standard deviation
//     (denominator n - 1; null for a single trial).

import type { Ablation } from '../model/planner';
import { mulberry32 } from '../util/random';
import type { HostTensor } from '../util/tensor';

export type AblationMode = 'zero' | 'mean';

export const ABLATION_MODES: readonly AblationMode[] = ['zero', 'mean'];

/** The follow-up's zoom factors. */
export const DEFAULT_ZOOMS: readonly number[] = [1.1, 1.2, 1.3, 1.4, 1.5];

/** Random-channel trials per block (the follow-up's 10). */
export const DEFAULT_TRIALS = 10;

// =============================================================================================
// Channels

/** The channels analysis.json marks scale invariant, ascending. */
export function scaleInvariantChannels(block: { channels: readonly { channel: number; scaleInvariant: boolean }[] }): number[] {
  return block.channels.filter((c) => c.scaleInvariant === true).map((c) => c.channel).sort((a, b) => a - b);
}

/** FNV-1a of `${seed}:${block}`: each block's random channels depend on the seed and the block only. */
export function trialSeed(seed: number, block: string): number {
  let h = 0x811c9dc5;
  for (const ch of `${seed}:${block}`) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** `count` distinct integers of 0 .. total-1, uniformly (partial Fisher-Yates), ascending. */
export function sampleWithoutReplacement(rng: () => number, total: number, count: number): number[] {
  if (!Number.isInteger(total) || total < 0) throw new Error(`sampleWithoutReplacement: total ${total} is not a non-negative integer`);
  if (!Number.isInteger(count) || count < 0 || count > total) throw new Error(`sampleWithoutReplacement: cannot draw ${count} of ${total}`);
  const pool = Array.from({ length: total }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(rng() * (total - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, count).sort((a, b) => a - b);
}

/** The random control's channel sets: `trials` draws of `count` of `total` channels for a block. */
export function randomChannelSets(seed: number, block: string, total: number, count: number, trials: number): number[][] {
  const rng = mulberry32(trialSeed(seed, block));
  return Array.from({ length: trials }, () => sampleWithoutReplacement(rng, total, count));
}

// =============================================================================================
// Means and accuracy

/** Per-channel mean of relu(x) over every image and position of NCHW batches (float64 sums). */
export class ChannelMeans {
  private readonly sums: Float64Array;
  private count = 0;

  constructor(readonly channels: number) {
    this.sums = new Float64Array(channels);
  }

  add(tap: HostTensor): void {
    const [n, c, h, w] = tap.shape;
    if (tap.shape.length !== 4 || c !== this.channels) throw new Error(`ChannelMeans: expected [N, ${this.channels}, H, W], got [${tap.shape}]`);
    const plane = h * w;
    if (tap.data.length !== n * c * plane) throw new Error(`ChannelMeans: shape [${tap.shape}] does not match ${tap.data.length} values`);
    for (let b = 0; b < n; b++) {
      for (let ch = 0; ch < c; ch++) {
        const base = (b * c + ch) * plane;
        let s = 0;
        for (let i = 0; i < plane; i++) {
          const v = tap.data[base + i];
          if (v > 0) s += v;
        }
        this.sums[ch] += s;
      }
    }
    this.count += n * plane;
  }

  /** The means (Float32-representable numbers, as the ablation kernel receives them). */
  means(): number[] {
    if (!this.count) throw new Error('ChannelMeans: no activations added');
    return Array.from(this.sums, (s) => Math.fround(s / this.count));
  }
}

/** Arg-max class of each row of [batch, classes] logits; the first index on ties (torch.argmax). */
export function top1(logits: ArrayLike<number>, batch: number): number[] {
  if (batch < 1 || logits.length % batch !== 0) throw new Error(`top1: ${logits.length} logits do not split into ${batch} rows`);
  const classes = logits.length / batch;
  return Array.from({ length: batch }, (_, n) => {
    let best = 0;
    let bestValue = -Infinity;
    for (let k = 0; k < classes; k++) {
      const v = logits[n * classes + k];
      if (v > bestValue) {
        bestValue = v;
        best = k;
      }
    }
    return best;
  });
}

/** How many predictions equal their labels. */
export function countCorrect(predictions: readonly number[], labels: readonly number[]): number {
  if (predictions.length !== labels.length) throw new Error(`countCorrect: ${predictions.length} predictions, ${labels.length} labels`);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) correct++;
  return correct;
}

export interface AccuracyCount {
  correct: number;
  total: number;
  /** correct / total. */
  accuracy: number;
}

export function accuracyCount(correct: number, total: number): AccuracyCount {
  if (!(total > 0)) throw new Error('accuracy of an empty set');
  return { correct, total, accuracy: correct / total };
}

/** Mean and sample standard deviation (n - 1); sd is null for fewer than two values. */
export function meanSd(values: readonly number[]): { mean: number; sd: number | null } {
  if (!values.length) throw new Error('meanSd: no values');
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length < 2) return { mean, sd: null };
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, sd: Math.sqrt(ss / (values.length - 1)) };
}

// =============================================================================================
// The result

export interface RandomAccuracy {
  /** Mean accuracy over the trials. */
  mean: number;
  /** Sample standard deviation of the trials' accuracies (n - 1); null for one trial. */
  sd: number | null;
  /** Each trial's accuracy and correct count, in trial order. */
  accuracies: number[];
  correct: number[];
}

export interface ZoomResult {
  zoom: number;
  baseline: AccuracyCount;
  scaleInvariant: AccuracyCount;
  random: RandomAccuracy;
  /** With `keepPredictions`: the top-1 class of every image, per configuration (random: per trial). */
  predictions?: { baseline: number[]; scaleInvariant: number[]; random: number[][] };
}

export interface BlockRobustness {
  block: string;
  /** The ablated readout: analysis.json's block.output. */
  readout: string;
  /** The readout's channel count (the pool the random channels come from). */
  width: number;
  /** The analysis variant the channels come from, when analysis.json says. */
  variant: string | null;
  /** The channels analysis.json marks scale invariant (ablated together). */
  scaleInvariantChannels: number[];
  /** How many channels each ablation sets (= scaleInvariantChannels.length). */
  count: number;
  /** The random control's channels, one list per trial. */
  randomChannels: number[][];
  /** Mean mode: the replacement value of every channel of the readout (mean of relu(O)); else null. */
  means: number[] | null;
  zooms: ZoomResult[];
}

export interface RobustnessMeta {
  mode: AblationMode;
  zooms: number[];
  trials: number;
  seed: number;
  /** Images in the set (every accuracy's total). */
  images: number;
  batchSize: number;
  /** What the mean-ablation values are. */
  meanValues: string;
  /** The random trials' sd. */
  sd: string;
  date: string;
  /** Caller-supplied fields: weights, analysis file, image set, labels, adapter, preprocessing. */
  [key: string]: unknown;
}

export interface RobustnessJson {
  version: 1;
  meta: RobustnessMeta;
  /** Accuracy without ablation, per zoom. */
  baseline: ({ zoom: number } & AccuracyCount)[];
  blocks: BlockRobustness[];
}

// =============================================================================================
// The experiment

/** A block to ablate: its readout O and the channels to ablate there. */
export interface RobustnessBlockSpec {
  block: string;
  readout: string;
  width: number;
  scaleInvariant: number[];
  variant?: string | null;
}

export interface RobustnessProgress {
  phase: 'means' | 'accuracy';
  /** Image forward passes done and planned in this phase. */
  done: number;
  total: number;
}

export interface RobustnessOptions<I> {
  images: readonly I[];
  /** ImageNet class index of each image. */
  labels: readonly number[];
  blocks: readonly RobustnessBlockSpec[];
  mode: AblationMode;
  zooms: readonly number[];
  trials: number;
  seed: number;
  batchSize: number;
  /** The network inputs of a batch of images, one NCHW tensor per zoom factor asked for (1 = unzoomed). */
  prepare: (images: I[], zooms: readonly number[]) => Promise<HostTensor[]> | HostTensor[];
  /** Run one input with these ablations and return the taps asked for ('fc', or the readouts). */
  forward: (input: HostTensor, taps: string[], ablations: Ablation[]) => Promise<Map<string, HostTensor>>;
  onProgress?: (p: RobustnessProgress) => void;
  signal?: AbortSignal;
  /** Keep every image's top-1 per configuration and zoom in the result (ZoomResult.predictions). */
  keepPredictions?: boolean;
  /** Fields added to meta. */
  meta?: Record<string, unknown>;
  /** For reproducible output in tests. */
  now?: () => Date;
}

interface Config {
  ablations: Ablation[];
  /** correct[zoomIndex] */
  correct: number[];
  /** predictions[zoomIndex][image] (filled when kept) */
  predictions: number[][];
}

function checkOptions<I>(o: RobustnessOptions<I>): void {
  if (!o.images.length) throw new Error('no images');
  if (o.labels.length !== o.images.length) throw new Error(`${o.images.length} images but ${o.labels.length} labels`);
  if (!ABLATION_MODES.includes(o.mode)) throw new Error(`unknown ablation mode '${o.mode}'`);
  if (!o.zooms.length) throw new Error('no zoom factors');
  for (const s of o.zooms) if (!(s >= 1 && s < 2)) throw new Error(`zoom factor ${s} is outside [1, 2)`);
  if (!Number.isInteger(o.trials) || o.trials < 1) throw new Error(`trials must be a positive integer, got ${o.trials}`);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new Error(`batch size must be a positive integer, got ${o.batchSize}`);
  if (!o.blocks.length) throw new Error('no blocks');
  for (const b of o.blocks) {
    for (const c of b.scaleInvariant) {
      if (!Number.isInteger(c) || c < 0 || c >= b.width) throw new Error(`block ${b.block}: channel ${c} is outside ${b.readout}'s 0..${b.width - 1}`);
    }
  }
}

/**
 * Run the experiment: (mean mode) one pass over the unzoomed images for the readouts' means, then
 * per batch of images and per zoom, one forward for the baseline and per block one for the
 * scale-invariant ablation and one per random trial. Configurations that ablate nothing (a block
 * without scale-invariant channels) reuse the baseline's counts.
 */
export async function runRobustness<I>(options: RobustnessOptions<I>): Promise<RobustnessJson> {
  checkOptions(options);
  const { images, labels, blocks, mode, zooms, trials, batchSize } = options;
  const N = images.length;
  const batches: number[] = [];
  for (let start = 0; start < N; start += batchSize) batches.push(start);
  const checkAbort = () => {
    if (options.signal?.aborted) throw new Error('interrupted');
  };

  // 1. Means of relu(O) on the unzoomed images.
  const means = new Map<string, number[]>();
  if (mode === 'mean') {
    const readouts = [...new Set(blocks.map((b) => b.readout))];
    const acc = new Map(readouts.map((r) => [r, new ChannelMeans(blocks.find((b) => b.readout === r)!.width)]));
    let done = 0;
    for (const start of batches) {
      checkAbort();
      const batch = images.slice(start, start + batchSize);
      const [input] = await options.prepare(batch, [1]);
      const out = await options.forward(input, readouts, []);
      for (const r of readouts) {
        const tap = out.get(r);
        if (!tap) throw new Error(`internal: the forward returned no '${r}'`);
        acc.get(r)!.add(tap);
      }
      done += batch.length;
      options.onProgress?.({ phase: 'means', done, total: N });
    }
    for (const [r, a] of acc) means.set(r, a.means());
  }

  // 2. The configurations: baseline, then per block the SI ablation and the random trials.
  const ablation = (b: RobustnessBlockSpec, channels: number[]): Ablation[] => {
    if (!channels.length) return [];
    const values = mode === 'mean' ? channels.map((c) => means.get(b.readout)![c]) : undefined;
    return [{ tap: b.readout, channels, ...(values ? { values } : {}) }];
  };
  const newConfig = (ablations: Ablation[]): Config => ({ ablations, correct: zooms.map(() => 0), predictions: zooms.map(() => []) });
  const baseline = newConfig([]);
  const perBlock = blocks.map((b) => {
    const randomChannels = randomChannelSets(options.seed, b.block, b.width, b.scaleInvariant.length, trials);
    return {
      spec: b,
      randomChannels,
      si: b.scaleInvariant.length ? newConfig(ablation(b, b.scaleInvariant)) : baseline,
      random: randomChannels.map((chs) => (chs.length ? newConfig(ablation(b, chs)) : baseline)),
    };
  });
  const runs = [baseline, ...perBlock.flatMap((p) => [p.si, ...p.random])].filter((c, i, all) => all.indexOf(c) === i);

  // 3. Per batch: prepare every zoom once, then each configuration over the zooms (plan reuse).
  const total = N * zooms.length * runs.length;
  let done = 0;
  for (const start of batches) {
    checkAbort();
    const batch = images.slice(start, start + batchSize);
    const batchLabels = labels.slice(start, start + batchSize);
    const inputs = await options.prepare(batch, zooms);
    if (inputs.length !== zooms.length) throw new Error(`internal: prepare returned ${inputs.length} inputs for ${zooms.length} zooms`);
    for (const config of runs) {
      for (let z = 0; z < zooms.length; z++) {
        checkAbort();
        const out = await options.forward(inputs[z], ['fc'], config.ablations);
        const logits = out.get('fc');
        if (!logits) throw new Error("internal: the forward returned no 'fc'");
        const predicted = top1(logits.data, batch.length);
        config.correct[z] += countCorrect(predicted, batchLabels);
        if (options.keepPredictions) config.predictions[z].push(...predicted);
        done += batch.length;
        options.onProgress?.({ phase: 'accuracy', done, total });
      }
    }
  }

  // 4. The result.
  const meta: RobustnessMeta = {
    mode,
    zooms: [...zooms],
    trials,
    seed: options.seed,
    images: N,
    batchSize,
    meanValues: mode === 'mean'
      ? 'per channel, the mean of relu(readout) over all positions of all images, unzoomed'
      : 'zero',
    sd: 'sample standard deviation of the trials\' accuracies (n - 1)',
    date: (options.now?.() ?? new Date()).toISOString(),
    ...options.meta,
  };
  return {
    version: 1,
    meta,
    baseline: zooms.map((zoom, z) => ({ zoom, ...accuracyCount(baseline.correct[z], N) })),
    blocks: perBlock.map(({ spec, randomChannels, si, random }) => ({
      block: spec.block,
      readout: spec.readout,
      width: spec.width,
      variant: spec.variant ?? null,
      scaleInvariantChannels: [...spec.scaleInvariant],
      count: spec.scaleInvariant.length,
      randomChannels,
      means: mode === 'mean' ? means.get(spec.readout)! : null,
      zooms: zooms.map((zoom, z) => {
        const accuracies = random.map((r) => r.correct[z] / N);
        const { mean, sd } = meanSd(accuracies);
        return {
          zoom,
          baseline: accuracyCount(baseline.correct[z], N),
          scaleInvariant: accuracyCount(si.correct[z], N),
          random: { mean, sd, accuracies, correct: random.map((r) => r.correct[z]) },
          ...(options.keepPredictions ? {
            predictions: { baseline: baseline.predictions[z], scaleInvariant: si.predictions[z], random: random.map((r) => r.predictions[z]) },
          } : {}),
        };
      }),
    })),
  };
}

function percent(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

/** The result as a plain-text table, one section per block. */
export function formatRobustnessTable(result: RobustnessJson): string {
  const lines: string[] = [];
  const m = result.meta;
  for (const b of result.blocks) {
    lines.push(`block ${b.block}: ${b.count} of ${b.width} channels of ${b.readout} scale-invariant; ` +
      `${m.mode}-ablation; ${m.images} images; random control: ${m.trials} trial(s), seed ${m.seed}`);
    lines.push(`  ${'zoom'.padEnd(6)}${'baseline'.padStart(10)}${'SI-ablated'.padStart(12)}${'random mean'.padStart(13)}${'sd'.padStart(9)}`);
    for (const z of b.zooms) {
      lines.push(`  ${z.zoom.toFixed(2).padEnd(6)}${percent(z.baseline.accuracy).padStart(10)}${percent(z.scaleInvariant.accuracy).padStart(12)}` +
        `${percent(z.random.mean).padStart(13)}${(z.random.sd === null ? '-' : percent(z.random.sd)).padStart(9)}`);
    }
  }
  return lines.join('\n');
}

/** JSON text of a result (two-space indent, trailing newline). */
export function robustnessToJson(result: RobustnessJson): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}
