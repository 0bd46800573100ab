// The dataset-mode analysis as a function, for the command line (`resnet-stream analyze`) and for
// Node scripts (`runAnalysis` of 'resnet-stream/node'): streams an image set (or the project's
// generated stimuli) through the engine, keeps the centre activations the analysis needs, and
// writes analysis.json, a CSV per block and a self-contained index.html into `out`. Every batch is
// journalled as it is computed; running again with the same options resumes. Node only.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import {
  type AnalysisJson, type AnalysisProgress, type AnalysisRunInfo, type DatasetShardResult, type ImageRef, type Transform, blockParamsFrom,
  runDatasetAnalysis, runDatasetShard, shareOf,
} from '../analysis/analyze';
import { type ShardSpec, shardLabel } from '../analysis/shard';
import { writeFileAtomic } from '../util/files-node';
import { lockOutput } from './lock-node';
import type { BlockDetails } from '../analysis/details';
import { FileJournal } from './journal-node';
import { sweepFactor } from '../analysis/journal';
import { type Variant, blockNames, centreValues, defaultBlocks } from '../analysis/readouts';
import { generateStimuli } from '../analysis/stimuli';
import type { RgbImage } from '../image/image';
import { SWEEP_FACTORS } from '../analysis/metrics';
import { type AdapterChoice, adapterLine, createNodeContext } from '../gpu/node';
import type { Architecture } from '../model/architecture';
import { ResNetEngine } from '../model/engine';
import { architectureOf } from '../model/family';
import { decodeImageFile } from '../image/decode-node';
import { normalize, stackBatch, toTensor, torchvisionEvalImage } from '../image/transforms';
import { zoom, zoomIn, zoomOut } from '../image/zoom';
import type { HostTensor } from '../weights/safetensors';
import { RUN_INFO_FILE, thumbnailDataUri, writeAnalysisOutputs } from '../report/report-node';
import { UsageError } from './args';
import { listImages } from './images-node';
import { computableBlocks } from './blocks';
import { loadInto, readWeights } from './checkpoint';

export interface RunAnalysisOptions {
  /** The output folder: analysis.json, analysis-<block>.csv, index.html, run.json, journal.jsonl. */
  out: string;
  /** A folder of JPEG/PNG images (sorted by name), a text file listing paths, or the paths; default: the generated stimuli. */
  images?: string | string[];
  /** A checkpoint, found as --weights finds it ($RESNET_STREAM_WEIGHTS, then the cache). */
  weights?: string;
  /** As --arch: the member of torchvision's ResNet family the checkpoint must be (default: recognised from it). */
  architecture?: string;
  /** Fetch the official weights into the cache when none are found (the CLI does; default false). */
  allowDownload?: boolean;
  /** As --adapter; default 'default'. */
  adapter?: AdapterChoice;
  /**
   * Blocks such as '2.1' (default: every block but layer1.0 in resnet18/34, every block in the Bottleneck
   * networks; ResNet18: 1.1, 2.0, 2.1, 3.0, 3.1, 4.0, 4.1). Blocks the weights cannot run are skipped and reported.
   */
  blocks?: string[];
  /** Probe images per channel (default 9, the paper's k). */
  topK?: number;
  /** Readouts after the ReLU (default) or before it. */
  variant?: Variant;
  /** Also measure SM_B under zoom factors 1.0 .. 1.5 (the follow-up's sweep). */
  sweep?: boolean;
  /** Use the first N images only. */
  limit?: number;
  /** Images per forward (1 .. 64, default 8). */
  batchSize?: number;
  /** Discard the journal and start over (default: resume from it). */
  restart?: boolean;
  /** Progress of each phase (stream, zoomIn, zoomOut, sweep), batch by batch. */
  onProgress?: (progress: AnalysisProgress) => void;
  /** One-line notices: the adapter line, skipped blocks. */
  onNotice?: (line: string) => void;
  /** Stops the run between batches (what was computed stays in the journal; a re-run resumes). */
  signal?: AbortSignal;
  /** Recorded in run.json (the CLI passes its arguments). */
  argv?: string[];
}

export interface RunAnalysisResult {
  analysis: AnalysisJson;
  files: { analysisJson: string; csv: string[]; report: string };
}

/** What a shard of a dataset run (`analyze --shard K/N`) ends with: its journal, and run.json saying so. */
export interface ShardRunResult {
  shard: DatasetShardResult;
  files: { journal: string; runInfo: string };
}

interface ImageItem extends ImageRef {
  /** A file path, or null for a generated stimulus (rendered from its name). */
  path: string | null;
}

/** The image set of --images (a folder, a list, paths) and --limit, or the generated stimuli. */
export function imageItems(imagesArg: string | string[] | undefined, limit: number | undefined): { items: ImageItem[]; stimuli: Map<string, RgbImage> } {
  const stimuli = new Map<string, RgbImage>();
  let items: ImageItem[];
  if (imagesArg !== undefined) {
    const paths = Array.isArray(imagesArg) ? imagesArg.map((p) => resolve(p)) : listImages(imagesArg);
    items = paths.map((path, index) => ({ index, name: basename(path), path }));
  } else {
    for (const s of generateStimuli()) stimuli.set(s.name, s);
    items = [...stimuli.keys()].map((name, index) => ({ index, name, path: null }));
  }
  if (limit !== undefined) {
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer');
    items = items.slice(0, limit);
  }
  return { items, stimuli };
}

/** A probe image as the network saw it, by name (undefined for a name not in the set): the site's thumbnails. */
export function probeImage(items: readonly ImageItem[], stimuli: Map<string, RgbImage>, decoded = new Map<number, RgbImage>()): (name: string) => RgbImage | undefined {
  const byName = new Map(items.map((i) => [i.name, i]));
  return (name) => {
    const item = byName.get(name);
    if (!item) return undefined;
    return item.path === null ? stimuli.get(name) : decoded.get(item.index) ?? torchvisionEvalImage(decodeImageFile(item.path));
  };
}

/** The report's thumbnail of a probe image, by name (undefined for a name not in the set). */
export function thumbnailSource(items: readonly ImageItem[], stimuli: Map<string, RgbImage>, decoded = new Map<number, RgbImage>()): (name: string) => string | undefined {
  const image = probeImage(items, stimuli, decoded);
  return (name) => {
    const rgb = image(name);
    return rgb ? thumbnailDataUri(rgb) : undefined;
  };
}

/** SHA-256 of each image's contents (a file's bytes; a generated stimulus's pixels): part of the run's identity. */
function withContentHashes(items: readonly ImageItem[], stimuli: Map<string, RgbImage>): ImageItem[] {
  return items.map((item) => ({
    ...item,
    sha256: createHash('sha256').update(item.path === null ? (stimuli.get(item.name) as RgbImage).data : readFileSync(item.path)).digest('hex'),
  }));
}

/** The network's view of one image: torchvision's eval transform for photos; stimuli are made at 224. */
function imageTensor(item: ImageItem, stimuli: Map<string, RgbImage>): { tensor: HostTensor; rgb: RgbImage } {
  if (item.path === null) {
    const rgb = stimuli.get(item.name)!;
    return { tensor: normalize(toTensor(rgb)), rgb };
  }
  const rgb = torchvisionEvalImage(decodeImageFile(item.path));
  return { tensor: normalize(toTensor(rgb)), rgb };
}

function applyTransform(x: HostTensor, transform: Transform): HostTensor {
  if (transform === 'none') return x;
  if (transform === 'zoomIn') return zoomIn(x);
  if (transform === 'zoomOut') return zoomOut(x);
  const factor = sweepFactor(transform);
  if (factor === null) throw new Error(`internal: unknown transform '${transform}'`);
  return zoom(x, factor);
}

/**
 * The blocks asked for (default: METHOD.md's for the architecture) as short names, in the order given;
 * a block the architecture does not have is a usage error naming the ones it has.
 */
export function requestedBlocksOf(blocks: readonly string[] | undefined, arch: Architecture): string[] {
  const all = blockNames(arch);
  const requested = (blocks ?? defaultBlocks(arch)).map((b) => b.trim()).filter(Boolean).map((b) => b.replace(/^layer/, ''));
  for (const b of requested) {
    if (!all.includes(b)) throw new UsageError(`unknown block ${b}: ${arch.name} has blocks ${all[0]} .. ${all[all.length - 1]} (${all.join(', ')})`);
  }
  return requested;
}

/**
 * A forward of `tensors` at exactly `batch` images (the last copied to fill a short batch), the
 * centre values of the real ones returned. Every forward of a run then has one shape, so an image's
 * values do not depend on how many others share its batch (on a GPU a convolution's split of its
 * sum follows the batch: sharded and unsharded runs batch the zoom passes differently).
 */
export async function forwardPadded(forward: (x: HostTensor) => Promise<Map<string, HostTensor>>, tensors: HostTensor[], batch: number,
  taps: string[]): Promise<Map<string, Float32Array>> {
  const n = tensors.length;
  const padded = n < batch ? [...tensors, ...Array.from({ length: batch - n }, () => tensors[n - 1])] : tensors;
  const result = await forward(stackBatch(padded));
  return new Map(taps.map((t) => {
    const tap = result.get(t);
    if (!tap) throw new Error(`the forward returned no values for tap ${t}`);
    const centres = centreValues(tap.data, tap.shape);
    return [t, centres.subarray(0, n * tap.shape[1])];
  }));
}

/** The residual-stream analysis (dataset probes) of an image folder, written to `out` and returned. */
export async function runAnalysis(options: RunAnalysisOptions): Promise<RunAnalysisResult> {
  return runDatasetJob({ ...options, shard: undefined }) as Promise<RunAnalysisResult>;
}

/**
 * runAnalysis, or with `shard` one shard of it (`analyze --shard K/N`): its share of the images,
 * journalled in `out` for `resnet-stream merge`. `out` is locked while it runs (lock-node.ts).
 */
export async function runDatasetJob(options: RunAnalysisOptions & { shard?: ShardSpec }): Promise<RunAnalysisResult | ShardRunResult> {
  const out = resolve(options.out);
  mkdirSync(out, { recursive: true });
  const release = lockOutput(out, `analyze${options.shard ? ` --shard ${shardLabel(options.shard)}` : ''}`, options.onNotice);
  try {
    return await datasetJob(options);
  } finally {
    release();
  }
}

async function datasetJob(options: RunAnalysisOptions & { shard?: ShardSpec }): Promise<RunAnalysisResult | ShardRunResult> {
  const out = resolve(options.out);
  const notice = options.onNotice ?? (() => {});
  const variant = options.variant ?? 'post-relu';
  if (variant !== 'post-relu' && variant !== 'pre-relu') throw new UsageError(`--variant must be post-relu or pre-relu, not '${variant}'`);
  const topK = options.topK ?? 9;
  if (!Number.isInteger(topK) || topK < 1) throw new UsageError('--top-k must be a positive integer');
  const batchSize = options.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 64) throw new UsageError('--batch must be an integer from 1 to 64');

  // Images: a folder or list, else the generated stimuli.
  const imagesArg = options.images;
  const { items: listed, stimuli } = imageItems(imagesArg, options.limit);
  if (listed.length < topK) throw new UsageError(`${listed.length} images are fewer than --top-k ${topK}`);
  const shard = options.shard;
  if (shard && listed.length < shard.count) throw new UsageError(`${listed.length} images are fewer than the ${shard.count} shards`);
  // The contents of the images this process streams (a shard: its share) are part of the run's identity.
  const own = new Set(shareOf(listed, shard).map((i) => i.index));
  const hashed = withContentHashes(listed.filter((i) => own.has(i.index)), stimuli);
  const items = listed.map((i) => (own.has(i.index) ? hashed.shift() as ImageItem : i));

  // Weights (their architecture decides the blocks), then the engine.
  const { path: weightsPath, checkpoint } = await readWeights({
    weights: options.weights, arch: options.architecture, allowDownload: options.allowDownload ?? false,
  });
  const arch = architectureOf(checkpoint.architecture);
  const requestedBlocks = requestedBlocksOf(options.blocks, arch);
  const context = await createNodeContext(options.adapter ?? 'default');
  notice(adapterLine(context));
  const engine = await ResNetEngine.create({ context, ownContext: true });
  try {
    loadInto(engine, checkpoint);
    const status = engine.computability();
    const { blocks, skipped } = computableBlocks(requestedBlocks, variant, status, arch);
    for (const s of skipped) notice(`skipping block ${s.block}: ${s.reason}`);
    const params = Object.fromEntries(blocks.map((b) => [b, blockParamsFrom(checkpoint.tensors, b, arch)]));

    const decoded = new Map<number, RgbImage>();
    // Each forward writes into the arrays of the one before (`into`): forwardPadded copies the
    // centres out before the next forward starts, and new memory costs more than the copy.
    let previous: Map<string, HostTensor> | undefined;
    const forwardCentres = async (images: ImageItem[], transform: Transform, taps: string[]) => {
      const tensors = images.map((item) => {
        const { tensor, rgb } = imageTensor(item, stimuli);
        if (item.path !== null && decoded.size < 4096) decoded.set(item.index, rgb);
        return applyTransform(tensor, transform);
      });
      return forwardPadded(async (x) => (previous = await engine.forward(x, { taps, into: previous })), tensors, batchSize, taps);
    };

    if (options.restart) rmSync(join(out, 'journal.jsonl'), { force: true });
    const journal = new FileJournal(join(out, 'journal.jsonl'));
    const invokedAt = new Date();
    let runInfo: AnalysisRunInfo | null = null;
    const imageSource = imagesArg === undefined ? 'generated stimuli'
      : Array.isArray(imagesArg) ? `${imagesArg.length} listed images` : basename(resolve(imagesArg)); // not 'images': that is the count
    const details: BlockDetails[] = [];
    const runOptions = {
      images: items,
      blocks,
      architecture: arch,
      variant,
      topK,
      batchSize,
      forwardCentres,
      zoomFactors: options.sweep ? SWEEP_FACTORS : undefined,
      params,
      skipped,
      journal,
      signal: options.signal,
      meta: {
        weights: basename(weightsPath),
        weightsSha256: checkpoint.sha256 ?? null,
        adapter: engine.adapter.name,
        imageSource,
        imageCount: items.length,
        probes: 'dataset',
      },
      onProgress: options.onProgress,
      onRunInfo: (info: AnalysisRunInfo) => { runInfo = info; },
      onBlockDetails: (d: BlockDetails) => details.push(d),
    };
    const runInfoOf = () => ({
      ...(runInfo as AnalysisRunInfo | null), // startedAt (first start), resumed, replayedBatches, computedBatches
      invokedAt: invokedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      seconds: (Date.now() - invokedAt.getTime()) / 1000,
      adapter: `${context.adapter.name} (${context.adapter.description || context.adapter.vendor})`,
      weightsPath: resolve(weightsPath),
      imagesPath: typeof imagesArg === 'string' ? resolve(imagesArg) : null,
      images: Array.isArray(imagesArg) ? imagesArg.map((p) => resolve(p)) : undefined,
      limit: options.limit ?? null,
      out,
      argv: options.argv ?? [],
      node: process.version,
    });

    if (shard) {
      // A shard's result is its journal; run.json says it finished (and where its images are, for the merge's report).
      const result = await runDatasetShard({ ...runOptions, shard });
      const runJson = join(out, RUN_INFO_FILE);
      await writeFileAtomic(runJson, `${JSON.stringify({ ...runInfoOf(), shard: result }, null, 2)}\n`);
      return { shard: result, files: { journal: journal.path, runInfo: runJson } };
    }
    const analysis = await runDatasetAnalysis(runOptions);
    // What varies between runs goes to run.json, so analysis.json, the CSVs and index.html do not.
    const files = await writeAnalysisOutputs(out, analysis, {
      imageSrc: thumbnailSource(items, stimuli, decoded), runInfo: runInfoOf(), site: { details, image: probeImage(items, stimuli, decoded) },
    });
    return { analysis, files: { analysisJson: files.analysisJson, csv: files.csv, report: files.report } };
  } finally {
    engine.dispose();
  }
}
