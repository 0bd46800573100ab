// `resnet-stream analyze`: the paper's residual-stream analysis end to end. Streams an image set
// (or the project's generated stimuli) through the engine, keeps the centre activations the
// analysis needs, and writes analysis.json, a CSV per block and a self-contained index.html.
// Every batch is journalled as it is computed; re-running the same command resumes.

import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { type AnalysisRunInfo, type ImageRef, type Transform, runDatasetAnalysis, blockParamsFrom } from '../analysis/analyze';
import { FileJournal } from '../analysis/journal-node';
import { sweepFactor } from '../analysis/journal';
import { DEFAULT_BLOCKS, ALL_BLOCKS, type Variant, centreValues } from '../analysis/readouts';
import { type RgbImage, generateStimuli } from '../analysis/stimuli';
import { SWEEP_FACTORS } from '../analysis/metrics';
import { blockByName } from '../model/architecture';
import { ResNetEngine } from '../model/engine';
import { checkAdapterOption, openNodeContext } from './adapter';
import { decodeImageFile } from '../image/decode-node';
import { normalize, stackBatch, toTensor, torchvisionEvalImage } from '../image/transforms';
import { zoom, zoomIn, zoomOut } from '../image/zoom';
import type { HostTensor } from '../weights/safetensors';
import { loadCheckpoint } from '../weights/load';
import { resolveWeightsPath } from '../weights/resolve-node';
import { thumbnailDataUri, writeAnalysisOutputs } from '../report/report-node';
import { UsageError, parseArgs, required } from './args';
import { listImages } from './images-node';
import { phaseProgress } from './progress';
import { computableBlocks } from './blocks';

const HELP = `resnet-stream analyze: the residual-stream analysis of Longon (2024), ending in a report

usage: resnet-stream analyze --out DIR [--weights FILE] [--images DIR|LIST] [--probes dataset|fv]
                             [--top-k 9] [--blocks 1.1,2.0,...] [--variant post-relu|pre-relu]
                             [--sweep] [--limit N] [--batch 8] [--adapter NAME] [--restart]

  --images DIR|LIST   a folder of JPEG/PNG images (sorted by name) or a text file listing paths;
                      default: the project's generated stimuli (gratings, curves, blobs, textures)
  --probes            dataset (top-k images per channel; default) or fv (feature visualisations)
  --blocks            default 1.1,2.0,2.1,3.0,3.1,4.0,4.1; blocks the weights cannot run are skipped
                      and reported
  --sweep             also measure SM_B under zoom factors 1.0..1.5 (the follow-up's sweep)
  --limit N           use the first N images only
  --restart           discard DIR/journal.jsonl and start over (default: resume from it)
  --fv-steps 2560     fv probes: optimisation steps (the paper's 2560); also --fv-size 224, --fv-batch 64
                      (channels rendered together), --fv-seed 0; PNGs in DIR/probes/, reused on a re-run`;

interface ImageItem extends ImageRef {
  /** A file path, or null for a generated stimulus (rendered from its name). */
  path: string | null;
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

export async function analyzeCommand(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const args = parseArgs(argv, {
    values: ['weights', 'probes', 'images', 'top-k', 'blocks', 'variant', 'out', 'limit', 'batch', 'adapter', 'fv-steps', 'fv-size', 'fv-batch', 'fv-seed'],
    flags: ['sweep', 'restart'],
  });
  const out = resolve(required(args, 'out'));
  checkAdapterOption(args.values.get('adapter'));
  const probes = args.values.get('probes') ?? 'dataset';
  if (probes === 'fv') return (await import('./analyze-fv')).analyzeFvCommand(args, out);
  if (probes !== 'dataset') throw new UsageError(`--probes must be dataset or fv, not '${probes}'`);
  const variant = (args.values.get('variant') ?? 'post-relu') as Variant;
  if (variant !== 'post-relu' && variant !== 'pre-relu') throw new UsageError(`--variant must be post-relu or pre-relu, not '${variant}'`);
  const topK = Number(args.values.get('top-k') ?? 9);
  if (!Number.isInteger(topK) || topK < 1) throw new UsageError('--top-k must be a positive integer');
  const batchSize = Number(args.values.get('batch') ?? 8);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 64) throw new UsageError('--batch must be an integer from 1 to 64');
  const requestedBlocks = (args.values.get('blocks') ?? DEFAULT_BLOCKS.join(',')).split(',').map((b) => b.trim()).filter(Boolean)
    .map((b) => blockByName(b).short);
  for (const b of requestedBlocks) if (!ALL_BLOCKS.includes(b)) throw new UsageError(`unknown block ${b}`);

  // Images: a folder or list, else the generated stimuli.
  const imagesArg = args.values.get('images');
  const stimuli = new Map<string, RgbImage>();
  let items: ImageItem[];
  if (imagesArg) {
    items = listImages(imagesArg).map((path, index) => ({ index, name: basename(path), path }));
  } else {
    for (const s of generateStimuli()) stimuli.set(s.name, s);
    items = [...stimuli.keys()].map((name, index) => ({ index, name, path: null }));
  }
  const limit = args.values.get('limit');
  if (limit !== undefined) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1) throw new UsageError('--limit must be a positive integer');
    items = items.slice(0, n);
  }
  if (items.length < topK) throw new UsageError(`${items.length} images are fewer than --top-k ${topK}`);

  // Weights and engine.
  const weightsPath = await resolveWeightsPath({ flag: args.values.get('weights'), allowDownload: true });
  const checkpoint = loadCheckpoint(new Uint8Array(readFileSync(weightsPath)), basename(weightsPath));
  const context = await openNodeContext(args.values.get('adapter'));
  const engine = await ResNetEngine.create({ context });
  engine.loadWeights(checkpoint.tensors);
  const status = engine.computability();
  const { blocks, skipped } = computableBlocks(requestedBlocks, variant, status);
  const params = Object.fromEntries(blocks.map((b) => [b, blockParamsFrom(checkpoint.tensors, b)]));

  const decoded = new Map<number, RgbImage>();
  const forwardCentres = async (images: ImageItem[], transform: Transform, taps: string[]) => {
    const tensors = images.map((item) => {
      const { tensor, rgb } = imageTensor(item, stimuli);
      if (item.path !== null && decoded.size < 4096) decoded.set(item.index, rgb);
      return applyTransform(tensor, transform);
    });
    const batch = stackBatch(tensors);
    const result = await engine.forward(batch, { taps });
    return new Map(taps.map((t) => {
      const tap = result.get(t)!;
      return [t, centreValues(tap.data, tap.shape)];
    }));
  };

  if (args.flags.has('restart')) {
    const { rmSync } = await import('node:fs');
    rmSync(join(out, 'journal.jsonl'), { force: true });
  }
  const { mkdirSync } = await import('node:fs');
  mkdirSync(out, { recursive: true });
  const journal = new FileJournal(join(out, 'journal.jsonl'));
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const progress = phaseProgress({ unit: 'images' });
  const invokedAt = new Date();
  let runInfo: AnalysisRunInfo | null = null;
  const analysis = await runDatasetAnalysis({
    images: items,
    blocks,
    variant,
    topK,
    batchSize,
    forwardCentres,
    zoomFactors: args.flags.has('sweep') ? SWEEP_FACTORS : undefined,
    params,
    skipped,
    journal,
    signal: abort.signal,
    meta: {
      weights: basename(weightsPath),
      weightsSha256: checkpoint.sha256 ?? null,
      adapter: engine.adapter.name,
      imageSource: imagesArg ? basename(resolve(imagesArg)) : 'generated stimuli', // not 'images': that is the count
      imageCount: items.length,
      probes,
    },
    onProgress: (p) => progress.update(p.phase === 'sweep' ? `sweep ${p.transform}` : p.phase, p.images, p.total, p.replayedImages),
    onRunInfo: (info) => { runInfo = info; },
  }).finally(() => {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });

  // Thumbnails of every probe image the report shows.
  const imageSrc = (name: string): string | undefined => {
    const item = items.find((i) => i.name === name);
    if (!item) return undefined;
    const rgb = item.path === null ? stimuli.get(name) : decoded.get(item.index) ?? torchvisionEvalImage(decodeImageFile(item.path));
    return rgb ? thumbnailDataUri(rgb) : undefined;
  };
  // What varies between runs goes to run.json, so analysis.json, the CSVs and index.html do not.
  const written = await writeAnalysisOutputs(out, analysis, {
    imageSrc,
    runInfo: {
      ...(runInfo as AnalysisRunInfo | null), // startedAt (first start), resumed, replayedBatches, computedBatches
      invokedAt: invokedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      seconds: (Date.now() - invokedAt.getTime()) / 1000,
      adapter: `${context.adapter.name} (${context.adapter.description || context.adapter.vendor})`,
      weightsPath: resolve(weightsPath),
      imagesPath: imagesArg ? resolve(imagesArg) : null,
      out,
      argv,
      node: process.version,
    },
  });
  engine.dispose();
  for (const b of analysis.blocks) {
    const s = b.summary;
    process.stderr.write(`block ${b.block}: ${JSON.stringify(s.fractions)}\n`);
  }
  process.stderr.write(`wrote ${written.analysisJson}, ${written.csv.length} CSV file(s) and ${written.report}\n`);
}
