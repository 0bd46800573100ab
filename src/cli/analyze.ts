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
import { type ShardSpec, checkShard } from '../analysis/shard';
import { type ShardRunResult, runDatasetJob } from './run-analysis';

const HELP = `resnet-stream analyze: the residual-stream analysis of Longon (2024), ending in a report

usage: resnet-stream analyze --out DIR [--weights FILE] [--arch NAME] [--images DIR|LIST] [--probes dataset|fv]
                             [--top-k 9] [--blocks 1.1,2.0,...] [--variant post-relu|pre-relu]
                             [--sweep] [--limit N] [--batch 8] [--adapter NAME] [--restart] [--shard K/N] [--plan]

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
  --shard K/N         do shard K (0 .. N-1) of N into DIR: dataset probes, images floor(K n/N) .. floor((K+1) n/N) - 1
                      of the n listed; fv probes, that share of the render units; \`resnet-stream merge\` joins
                      the N folders. K may be 'auto': $JOB_COMPLETION_INDEX (Kubernetes Indexed Job), else
                      $SLURM_ARRAY_TASK_ID minus $SLURM_ARRAY_TASK_MIN (SLURM array)
  --plan              print the work (units, their count, the share of --shard) and its projected time per
                      adapter from the benchmark's measured rates, then exit; runs nothing
  --fv-steps 2560     fv probes: optimisation steps (the paper's 2560); also --fv-size 224, --fv-batch 64
                      (channels rendered together), --fv-seed 0; PNGs in DIR/probes/, reused on a re-run`;

/**
 * --shard K/N; K 'auto' takes the scheduler's index: Kubernetes' JOB_COMPLETION_INDEX, else SLURM's
 * SLURM_ARRAY_TASK_ID less SLURM_ARRAY_TASK_MIN (an array numbered from 1 is shard 0 at its first task).
 */
export function parseShardOption(text: string | undefined, env: NodeJS.ProcessEnv = process.env): (ShardSpec & { from?: string }) | undefined {
  if (text === undefined) return undefined;
  const m = /^\s*(\d+|auto)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new UsageError(`--shard must be K/N (0 <= K < N) or auto/N, not '${text}'`);
  const count = Number(m[2]);
  let index: number;
  let from: string | undefined;
  if (m[1] !== 'auto') index = Number(m[1]);
  else if (env.JOB_COMPLETION_INDEX !== undefined) {
    index = Number(env.JOB_COMPLETION_INDEX);
    from = `$JOB_COMPLETION_INDEX=${env.JOB_COMPLETION_INDEX}`;
  } else if (env.SLURM_ARRAY_TASK_ID !== undefined) {
    index = Number(env.SLURM_ARRAY_TASK_ID) - Number(env.SLURM_ARRAY_TASK_MIN ?? 0);
    from = `$SLURM_ARRAY_TASK_ID=${env.SLURM_ARRAY_TASK_ID}${env.SLURM_ARRAY_TASK_MIN ? ` - $SLURM_ARRAY_TASK_MIN=${env.SLURM_ARRAY_TASK_MIN}` : ''}`;
  } else {
    throw new UsageError('--shard auto/N needs $JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or $SLURM_ARRAY_TASK_ID (SLURM array) in the environment');
  }
  try {
    checkShard({ index, count });
  } catch (e) {
    throw new UsageError(`--shard ${text}${from ? ` (${from})` : ''}: ${(e as Error).message}`);
  }
  return { index, count, ...(from ? { from } : {}) };
}

export async function analyzeCommand(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const args = parseArgs(argv, {
    values: ['weights', 'arch', 'probes', 'images', 'top-k', 'blocks', 'variant', 'out', 'limit', 'batch', 'adapter', 'fv-steps', 'fv-size', 'fv-batch', 'fv-seed', 'shard'],
    flags: ['sweep', 'restart', 'plan'],
  });
  const shard = parseShardOption(args.values.get('shard'));
  if (args.flags.has('plan')) return (await import('./plan')).planCommand(args, shard);
  const out = resolve(required(args, 'out'));
  const adapter = args.values.get('adapter');
  checkAdapterOption(adapter);
  checkArchOption(args.values.get('arch'));
  const probes = args.values.get('probes') ?? 'dataset';
  if (shard) process.stderr.write(`shard ${shard.index}/${shard.count}${shard.from ? ` (from ${shard.from})` : ''} into ${out}\n`);
  if (probes === 'fv') return (await import('./analyze-fv')).analyzeFvCommand(args, out, shard);
  if (probes !== 'dataset') throw new UsageError(`--probes must be dataset or fv, not '${probes}'`);
  const limit = args.values.get('limit');
  const blocks = args.values.get('blocks');

  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = phaseProgress({ unit: 'images' });
  const result = await runDatasetJob({
    shard: shard ? { index: shard.index, count: shard.count } : undefined,
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
  if ('shard' in result) {
    const { shard: done, files } = result as ShardRunResult;
    process.stderr.write(`shard ${done.shard.index}/${done.shard.count} done: images ${done.start} .. ${done.end - 1} in ${files.journal}; ` +
      `merge the ${done.shard.count} shards with resnet-stream merge --out DIR SHARD_DIR...\n`);
    return;
  }
  const { analysis, files } = result;
  for (const b of analysis.blocks) process.stderr.write(`block ${b.block}: ${JSON.stringify(b.summary.fractions)}\n`);
  process.stderr.write(`wrote ${files.analysisJson}, ${files.csv.length} CSV file(s) and ${files.report}\n`);
}
