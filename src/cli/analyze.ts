// `resnet-stream analyze`: the paper's residual-stream analysis end to end (runAnalysis in
// ./run-analysis.ts), with a progress bar on stderr and Ctrl-C stopping between batches; a re-run
// of the same command resumes from the journal. `--probes fv` is ./analyze-fv.ts.

import { resolve } from 'node:path';
import type { Variant } from '../analysis/readouts';
import type { AdapterChoice } from '../gpu/node';
import { checkAdapterOption } from './adapter';
import { UsageError, parseArgs, required } from './args';
import { checkArchOption } from './checkpoint';
import { phaseProgress } from './progress';
import { runAnalysis } from './run-analysis';

const HELP = `resnet-stream analyze: the residual-stream analysis of Longon (2024), ending in a report

usage: resnet-stream analyze --out DIR [--weights FILE] [--arch NAME] [--images DIR|LIST] [--probes dataset|fv]
                             [--top-k 9] [--blocks 1.1,2.0,...] [--variant post-relu|pre-relu]
                             [--sweep] [--limit N] [--batch 8] [--adapter NAME] [--restart]

  --images DIR|LIST   a folder of JPEG/PNG images (sorted by name) or a text file listing paths;
                      default: the project's generated stimuli (gratings, curves, blobs, textures)
  --probes            dataset (top-k images per channel; default) or fv (feature visualisations)
  --blocks            default: every block but 1.0 in resnet18/34 (ResNet18: 1.1,2.0,2.1,3.0,3.1,4.0,4.1),
                      every block in the Bottleneck networks; blocks the weights cannot run are skipped
                      and reported
  --arch NAME         insist on one of torchvision's ResNets (default: recognised from the checkpoint)
  --sweep             also measure SM_B under zoom factors 1.0..1.5 (the follow-up's sweep)
  --limit N           use the first N images only
  --restart           discard DIR/journal.jsonl and start over (default: resume from it)
  --fv-steps 2560     fv probes: optimisation steps (the paper's 2560); also --fv-size 224, --fv-batch 64
                      (channels rendered together), --fv-seed 0; PNGs in DIR/probes/, reused on a re-run`;

export async function analyzeCommand(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const args = parseArgs(argv, {
    values: ['weights', 'arch', 'probes', 'images', 'top-k', 'blocks', 'variant', 'out', 'limit', 'batch', 'adapter', 'fv-steps', 'fv-size', 'fv-batch', 'fv-seed'],
    flags: ['sweep', 'restart'],
  });
  const out = resolve(required(args, 'out'));
  const adapter = args.values.get('adapter');
  checkAdapterOption(adapter);
  checkArchOption(args.values.get('arch'));
  const probes = args.values.get('probes') ?? 'dataset';
  if (probes === 'fv') return (await import('./analyze-fv')).analyzeFvCommand(args, out);
  if (probes !== 'dataset') throw new UsageError(`--probes must be dataset or fv, not '${probes}'`);
  const limit = args.values.get('limit');
  const blocks = args.values.get('blocks');

  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = phaseProgress({ unit: 'images' });
  const { analysis, files } = await runAnalysis({
    out,
    images: args.values.get('images'),
    weights: args.values.get('weights'),
    architecture: args.values.get('arch'),
    allowDownload: true,
    adapter: adapter as AdapterChoice | undefined,
    blocks: blocks === undefined ? undefined : blocks.split(','),
    topK: Number(args.values.get('top-k') ?? 9),
    variant: (args.values.get('variant') ?? 'post-relu') as Variant,
    sweep: args.flags.has('sweep'),
    limit: limit === undefined ? undefined : Number(limit),
    batchSize: Number(args.values.get('batch') ?? 8),
    restart: args.flags.has('restart'),
    signal: abort.signal,
    argv,
    onNotice: (line) => process.stderr.write(`${line}\n`),
    onProgress: (p) => progress.update(p.phase === 'sweep' ? `sweep ${p.transform}` : p.phase, p.images, p.total, p.replayedImages),
  }).finally(() => {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });
  for (const b of analysis.blocks) process.stderr.write(`block ${b.block}: ${JSON.stringify(b.summary.fractions)}\n`);
  process.stderr.write(`wrote ${files.analysisJson}, ${files.csv.length} CSV file(s) and ${files.report}\n`);
}
