// `resnet-stream robustness`: the follow-up paper's ablation experiment. Top-1 accuracy of the full
// network under the zoom s (Resize(256), CenterCrop(int(224 (2 - s))), Resize(224), on the image as
// the follow-up's code did) with no ablation, with a block's scale-invariant channels (from
// analysis.json) ablated in the block's output readout, and with as many random channels of that
// readout ablated (seeded trials). The experiment itself is src/analysis/robustness.ts.

import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { type LabelSource, parseLabelMap, resolveLabels } from '../analysis/labels';
import {
  type AblationMode, type RobustnessBlockSpec, ABLATION_MODES, DEFAULT_TRIALS, DEFAULT_ZOOMS,
  formatRobustnessTable, robustnessToJson, runRobustness, scaleInvariantChannels,
} from '../analysis/robustness';
import { type Architecture, MIN_INPUT_SIZE, allTapNames, blockByName, tapShape } from '../model/architecture';
import { ResNetEngine } from '../model/engine';
import { FAMILY_NAMES, architectureOf } from '../model/family';
import { computability } from '../model/planner';
import { checkAdapterOption, openNodeContext } from './adapter';
import { decodeImageFile } from '../image/decode-node';
import { normalize, resizeShorter, stackBatch, toTensor, torchvisionZoomEvalImage } from '../image/transforms';
import type { HostTensor } from '../weights/safetensors';
import { writeFileAtomic } from '../util/files-node';
import { UsageError, parseArgs, required } from './args';
import { ARCH_HELP, checkArchOption, loadInto, readWeights } from './checkpoint';
import { listLabelledImages } from './images-node';
import { phaseProgress } from './progress';

const HELP = `resnet-stream robustness: top-1 accuracy under zoom with the scale-invariant channels ablated
(the 2025 follow-up's experiment), against the same number of random channels

usage: resnet-stream robustness --weights FILE --analysis DIR/analysis.json --images DIR|LIST --block 3.1[,2.1]
                                --out FILE.json [--labels FILE] [--mode zero|mean] [--zooms 1.1,1.2,1.3,1.4,1.5]
                                [--trials 10] [--seed 0] [--limit N] [--batch 8] [--adapter NAME] [--arch NAME]
                                [--resize 256] [--crop 224] [--predictions]

  --weights FILE      the full checkpoint (for ResNet18, resnet18-f37072fd.pth); the classifier is needed,
                      and it must be the architecture the analysis was run on
  ${ARCH_HELP}
  --analysis FILE     analysis.json of 'resnet-stream analyze' (or its folder): which channels of each
                      block are scale invariant, and which readout is the block's output O
  --images DIR|LIST   labelled images: a folder (sorted by name), a folder of class folders
                      (ImageFolder: DIR/n01440764/*.JPEG), or a text file of paths, where a line may
                      be 'path<TAB>label' (label: class index 0..999, or a key of --labels)
  --labels FILE       JSON or CSV mapping WordNet id or file name to ImageNet class index, e.g.
                      {"n01440764": 0, ...}, Keras' imagenet_class_index.json, or a CSV 'key,index';
                      an image is looked up by file name, then by its class folder or the WordNet id
                      its name starts with. Without it, class folders or WordNet ids covering all
                      1000 classes are labelled by their rank (torchvision's ImageFolder order)
  --block             blocks whose scale-invariant channels are ablated, one experiment each
  --mode              mean (default): each ablated channel is set to its mean of relu(O) over the
                      image set (unzoomed, all positions); zero: set to 0
  --zooms             zoom factors s in [1, 2) (default 1.1,1.2,1.3,1.4,1.5)
  --trials, --seed    random-channel trials (default 10) and their seed (default 0); each trial draws
                      as many distinct channels from all of O's channels (scale-invariant included)
  --limit N           use the first N images only
  --predictions       also write every image's top-1 per configuration and zoom
  --resize, --crop    the eval transform's Resize and CenterCrop (default 256, 224; --crop alone
                      scales the resize by 256/224); other sizes only for quick checks`;

interface ImageItem {
  index: number;
  name: string;
  path: string;
}

interface AnalysisBlockEntry {
  block: string;
  output: string;
  variant?: string;
  channels: { channel: number; scaleInvariant: boolean }[];
}

function positiveInteger(args: ReturnType<typeof parseArgs>, name: string, fallback: number, min = 1): number {
  const text = args.values.get(name);
  const n = text === undefined ? fallback : Number(text);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, not '${text}'`);
  return n;
}

function parseZooms(text: string): number[] {
  const zooms = text.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const z = Number(s);
    if (!Number.isFinite(z) || !(z >= 1 && z < 2)) throw new UsageError(`--zooms: '${s}' is not a zoom factor in [1, 2)`);
    return z;
  });
  if (!zooms.length) throw new UsageError('--zooms is empty');
  return [...new Set(zooms)];
}

/** The blocks of analysis.json, checked for the fields the experiment reads. */
function readAnalysis(spec: string): { file: string; blocks: AnalysisBlockEntry[]; skipped: { block: string; reason: string }[]; meta: Record<string, unknown> } {
  let file = resolve(spec);
  try {
    if (statSync(file).isDirectory()) file = join(file, 'analysis.json');
  } catch {
    throw new Error(`--analysis ${spec}: no such file or folder`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`--analysis ${spec}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no analysis.json there' : `not valid JSON (${(e as Error).message})`}`);
  }
  const root = json as { blocks?: unknown; skipped?: unknown; meta?: unknown };
  if (!root || typeof root !== 'object' || !Array.isArray(root.blocks)) throw new Error(`${file}: not an analysis.json (no 'blocks' list)`);
  const blocks = root.blocks.map((b, i) => {
    const e = b as Partial<AnalysisBlockEntry>;
    if (typeof e?.block !== 'string' || typeof e.output !== 'string' || !Array.isArray(e.channels)) {
      throw new Error(`${file}: blocks[${i}] lacks 'block', 'output' or 'channels'`);
    }
    for (const c of e.channels) {
      if (!Number.isInteger(c?.channel) || typeof c.scaleInvariant !== 'boolean') {
        throw new Error(`${file}: block ${e.block} has a channel entry without an integer 'channel' and a boolean 'scaleInvariant'`);
      }
    }
    return e as AnalysisBlockEntry;
  });
  const skipped = Array.isArray(root.skipped) ? (root.skipped as { block: string; reason: string }[]) : [];
  const meta = root.meta && typeof root.meta === 'object' ? root.meta as Record<string, unknown> : {};
  return { file, blocks, skipped, meta };
}

/** The network an analysis.json was computed on (files from before the family: resnet18). */
function analysisArchitecture(analysis: ReturnType<typeof readAnalysis>): Architecture {
  const name = analysis.meta.architecture ?? 'resnet18';
  if (typeof name !== 'string' || !FAMILY_NAMES.includes(name)) {
    throw new Error(`${basename(analysis.file)}: meta.architecture '${String(name)}' is none of torchvision's ResNets`);
  }
  return architectureOf(name);
}

/** The experiment's spec of one block: its output readout and scale-invariant channels. */
function blockSpec(analysis: ReturnType<typeof readAnalysis>, name: string, crop: number, arch: Architecture): RobustnessBlockSpec {
  let short: string;
  try {
    short = blockByName(name, arch).short;
  } catch {
    throw new UsageError(`--block: unknown block '${name}'`);
  }
  const entry = analysis.blocks.find((b) => b.block === short);
  if (!entry) {
    const skipped = analysis.skipped.find((s) => s.block === short);
    throw new Error(`${basename(analysis.file)} has no results for block ${short}` +
      (skipped ? ` (the analysis skipped it: ${skipped.reason})` : ` (it has ${analysis.blocks.map((b) => b.block).join(', ') || 'none'})`));
  }
  const readout = entry.output;
  if (!allTapNames(arch).includes(readout) || ['input', 'avgpool', 'fc'].includes(readout) || readout.endsWith('.skip')) {
    throw new Error(`${basename(analysis.file)}: block ${short}'s output readout '${readout}' is not a tap that can be ablated`);
  }
  const width = tapShape(readout, 1, crop, crop, arch)[1];
  const scaleInvariant = scaleInvariantChannels(entry);
  const bad = scaleInvariant.find((c) => c < 0 || c >= width);
  if (bad !== undefined) throw new Error(`${basename(analysis.file)}: block ${short} marks channel ${bad}, but ${readout} has ${width} channels`);
  return { block: short, readout, width, scaleInvariant, variant: entry.variant ?? null };
}

export async function robustnessCommand(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const args = parseArgs(argv, {
    values: ['weights', 'analysis', 'images', 'labels', 'block', 'mode', 'zooms', 'trials', 'seed', 'limit', 'batch',
      'adapter', 'arch', 'resize', 'crop', 'out'],
    flags: ['predictions'],
  });
  const out = resolve(required(args, 'out'));
  const analysisArg = required(args, 'analysis');
  const imagesArg = required(args, 'images');
  const blockNames = required(args, 'block').split(',').map((b) => b.trim()).filter(Boolean);
  if (!blockNames.length) throw new UsageError('--block is empty');
  const mode = (args.values.get('mode') ?? 'mean') as AblationMode;
  if (!ABLATION_MODES.includes(mode)) throw new UsageError(`--mode must be zero or mean, not '${mode}'`);
  const zooms = parseZooms(args.values.get('zooms') ?? DEFAULT_ZOOMS.join(','));
  const trials = positiveInteger(args, 'trials', DEFAULT_TRIALS);
  const seed = positiveInteger(args, 'seed', 0, 0);
  const batchSize = positiveInteger(args, 'batch', 8);
  if (batchSize > 64) throw new UsageError('--batch must be an integer from 1 to 64');
  const crop = positiveInteger(args, 'crop', 224, MIN_INPUT_SIZE);
  const resize = positiveInteger(args, 'resize', Math.round((crop * 256) / 224));
  const adapter = args.values.get('adapter');
  checkAdapterOption(adapter);
  checkArchOption(args.values.get('arch'));

  // The analysis: each block's readout O and its scale-invariant channels.
  const analysis = readAnalysis(analysisArg);
  const arch = analysisArchitecture(analysis);
  const specs = blockNames.map((b) => blockSpec(analysis, b, crop, arch))
    .filter((s, i, all) => all.findIndex((t) => t.block === s.block) === i);

  // The images and their labels (on the whole list, so ranks over 1000 WordNet ids survive --limit).
  const entries = listLabelledImages(imagesArg);
  const labelsArg = args.values.get('labels');
  const labelMap = labelsArg ? parseLabelMap(readFileSync(resolve(labelsArg), 'utf8'), basename(labelsArg)) : null;
  const sources: LabelSource[] = entries.map((e) => ({
    name: basename(e.path), ...(e.label !== undefined ? { label: e.label } : {}), ...(e.folder !== undefined ? { folder: e.folder } : {}),
  }));
  const resolved = resolveLabels(sources, labelMap);
  let items: ImageItem[] = entries.map((e, index) => ({ index, name: basename(e.path), path: e.path }));
  let labels = resolved.labels;
  const limit = args.values.get('limit');
  if (limit !== undefined) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1) throw new UsageError('--limit must be a positive integer');
    items = items.slice(0, n);
    labels = labels.slice(0, n);
  }

  // The weights: the whole network, through the classifier.
  const { path: weightsPath, checkpoint } = await readWeights({ weights: args.values.get('weights'), arch: args.values.get('arch'), allowDownload: true });
  if (checkpoint.architecture !== arch.name) {
    throw new Error(`${basename(analysis.file)} was computed on a ${arch.name}, but ${basename(weightsPath)} is a ${checkpoint.architecture}`);
  }
  const status = computability(new Set(checkpoint.missing), arch);
  if (status.notComputable.includes('fc')) {
    const full = arch.name === 'resnet18' ? 'the full checkpoint resnet18-f37072fd.pth' : `a complete ${arch.name} checkpoint`;
    throw new Error(`the robustness experiment needs the whole network (top-1 of the classifier), so ${full}; ` +
      `${basename(weightsPath)} lacks ${checkpoint.missing.join(', ')} (it computes only through ${status.lastComputable})`);
  }
  if (typeof analysis.meta.weightsSha256 === 'string' && checkpoint.sha256 && analysis.meta.weightsSha256 !== checkpoint.sha256) {
    process.stderr.write(`note: ${basename(analysis.file)} was computed with ${String(analysis.meta.weights ?? 'other weights')}, not ${basename(weightsPath)}\n`);
  }

  const context = await openNodeContext(adapter);
  const engine = await ResNetEngine.create({ context });
  loadInto(engine, checkpoint);
  process.stderr.write(`${items.length} images (labels: ${resolved.how}); ` +
    specs.map((s) => `block ${s.block}: ${s.scaleInvariant.length} of ${s.width} channels of ${s.readout}`).join('; ') + '\n');
  for (const s of specs) if (!s.scaleInvariant.length) process.stderr.write(`note: block ${s.block} has no scale-invariant channels; its ablations equal the baseline\n`);

  // Decode once per batch; Resize(resize) once per image; then each zoom's crop and resize.
  const prepare = (batch: ImageItem[], factors: readonly number[]): HostTensor[] => {
    const resized = batch.map((item) => resizeShorter(decodeImageFile(item.path), resize));
    return factors.map((s) => stackBatch(resized.map((img) => normalize(toTensor(torchvisionZoomEvalImage(img, s, { resize, crop }))))));
  };

  const progress = phaseProgress({ unit: 'image passes' });
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const result = await runRobustness({
    images: items,
    labels,
    blocks: specs,
    mode,
    zooms,
    trials,
    seed,
    batchSize,
    prepare,
    forward: (input, taps, ablations) => engine.forward(input, { taps, ablations }),
    signal: abort.signal,
    keepPredictions: args.flags.has('predictions'),
    meta: {
      weights: basename(weightsPath),
      weightsSha256: checkpoint.sha256 ?? null,
      analysis: basename(analysis.file),
      analysisWeights: analysis.meta.weights ?? null,
      imagesSource: basename(resolve(imagesArg)),
      labels: resolved.how,
      labelsFile: labelsArg ? basename(labelsArg) : null,
      adapter: engine.adapter.name,
      preprocess: `RGB; Resize(${resize}) bilinear antialias; CenterCrop(int(${crop} (2 - s))); Resize(${crop}); ToTensor; Normalize(ImageNet)`,
      resize,
      crop,
      imageNames: args.flags.has('predictions') ? items.map((i) => i.name) : undefined,
      imageLabels: args.flags.has('predictions') ? labels : undefined,
    },
    onProgress: (p) => progress.update(p.phase, p.done, p.total),
  }).finally(() => {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    engine.dispose();
  });

  mkdirSync(dirname(out), { recursive: true });
  await writeFileAtomic(out, robustnessToJson(result)); // a kill mid-write leaves no truncated JSON
  process.stdout.write(`${formatRobustnessTable(result)}\n`);
  process.stderr.write(`wrote ${out}\n`);
}
