// `resnet-stream analyze --probes fv`: the analysis on feature-visualisation probes (the paper's
// default). src/cli/analyze.ts parses the common options and hands over here; the work is in
// src/cli/fv-probes.ts. PNGs go to DIR/probes/<block>/<readout>/<c>.png; a re-run reuses them.
// The checkpoint may hold any torchvision ResNet: blocks are its own (L.B), the default its
// defaultBlocks, and the readouts its own (B: bn2 in a BasicBlock, bn3 in a Bottleneck).

import { basename, join } from 'node:path';
import cliProgress from 'cli-progress';
import { blockParamsFrom } from '../analysis/analyze';
import type { BlockDetails } from '../analysis/details';
import { runFvProbeAnalysis } from './fv-probes';
import { runFvShard } from './fv-shards';
import { lockOutput } from './lock-node';
import type { ShardSpec } from '../analysis/shard';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { SWEEP_FACTORS } from '../analysis/metrics';
import type { Variant } from '../analysis/readouts';
import { decodeImageFile } from '../image/decode-node';
import { openNodeContext } from './adapter';
import { ResNetEngine } from '../model/engine';
import { architectureOf } from '../model/family';
import { thumbnailDataUri, writeAnalysisOutputs } from '../report/report-node';
import { type ParsedArgs, UsageError } from './args';
import { computableBlocks } from './blocks';
import { loadInto, readWeights } from './checkpoint';
import { requestedBlocksOf } from './run-analysis';

function positiveInt(args: ParsedArgs, name: string, fallback: number, min = 1): number {
  const text = args.values.get(name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, not '${text}'`);
  return n;
}

export async function analyzeFvCommand(args: ParsedArgs, out: string, shard?: ShardSpec): Promise<void> {
  mkdirSync(out, { recursive: true });
  const release = lockOutput(out, `analyze --probes fv${shard ? ` --shard ${shard.index}/${shard.count}` : ''}`, (line) => process.stderr.write(`${line}\n`));
  try {
    await analyzeFv(args, out, shard ? { index: shard.index, count: shard.count } : undefined);
  } finally {
    release();
  }
}

async function analyzeFv(args: ParsedArgs, out: string, shard: ShardSpec | undefined): Promise<void> {
  for (const name of ['images', 'limit', 'top-k']) {
    if (args.values.has(name)) throw new UsageError(`--${name} applies to dataset probes; --probes fv renders its own probes`);
  }
  const variant = (args.values.get('variant') ?? 'post-relu') as Variant;
  if (variant !== 'post-relu' && variant !== 'pre-relu') throw new UsageError(`--variant must be post-relu or pre-relu, not '${variant}'`);
  const steps = positiveInt(args, 'fv-steps', 2560);
  const size = positiveInt(args, 'fv-size', 224, 32);
  const fvBatch = positiveInt(args, 'fv-batch', 64);
  const seed = positiveInt(args, 'fv-seed', 0, 0);
  const measureBatch = positiveInt(args, 'batch', 8);
  if (measureBatch > 64) throw new UsageError('--batch must be an integer from 1 to 64');
  const blockList = args.values.get('blocks')?.split(',').map((b) => b.trim()).filter(Boolean);

  const { path: weightsPath, checkpoint } = await readWeights({ weights: args.values.get('weights'), arch: args.values.get('arch'), allowDownload: true });
  // The blocks are the checkpoint's network's: the member the loader validated it against.
  const arch = architectureOf(checkpoint.architecture);
  const requested = requestedBlocksOf(blockList, arch);
  const context = await openNodeContext(args.values.get('adapter'));
  const engine = await ResNetEngine.create({ context });
  try {
    loadInto(engine, checkpoint);
    const { blocks, skipped } = computableBlocks(requested, variant, engine.computability(), arch);
    for (const s of skipped) process.stderr.write(`skipping block ${s.block}: ${s.reason}\n`);
    process.stderr.write(`fv probes: ${steps} steps at ${size} x ${size}, ${fvBatch} channels per batch, seed ${seed}; PNGs in ${join(out, 'probes')}\n`);

    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const bar = new cliProgress.SingleBar({
      format: '{what} batch {batch} |{bar}| {value}/{total} steps | {rate} steps/s | probes {done}/{all} | ETA {eta_formatted}',
      hideCursor: true, stream: process.stderr, noTTYOutput: true, notTTYSchedule: 5000,
    }, cliProgress.Presets.shades_classic);
    let current = '';
    let probeCounts = { rendered: 0, reused: 0 };
    const details: BlockDetails[] = [];
    const fvOptions = {
      onProbeCounts: (c) => { probeCounts = c; },
      ctx: context,
      weights: checkpoint.tensors,
      architecture: arch,
      forward: (input, taps) => engine.forward(input, { taps }),
      blocks, variant, skipped, outDir: out, measureBatch,
      settings: { steps, size, batch: fvBatch, seed },
      zoomFactors: args.flags.has('sweep') ? SWEEP_FACTORS : undefined,
      params: Object.fromEntries(blocks.map((b) => [b, blockParamsFrom(checkpoint.tensors, b, arch)])),
      meta: { architecture: arch.name, weights: basename(weightsPath), weightsSha256: checkpoint.sha256 ?? null, adapter: context.adapter.name, imageSource: 'feature visualisations' },
      signal: abort.signal,
      onBlockDetails: (d: BlockDetails) => details.push(d),
      onProgress: (p) => {
        if (p.phase === 'measure') {
          if (current) bar.stop();
          current = '';
          process.stderr.write(`measuring block ${p.what} on its saved probes\n`);
          return;
        }
        const key = `${p.what} ${p.batch}`;
        const fields = { what: p.what, batch: `${p.batch}/${p.batches}`, done: p.probesDone, all: p.probesTotal };
        if (key !== current) {
          if (current) bar.stop();
          current = key;
          bar.start(p.steps, 0, { ...fields, rate: '-' });
        }
        bar.update(p.step, { ...fields, rate: (p.step / (p.elapsedMs / 1000)).toFixed(3) });
      },
    } satisfies Parameters<typeof runFvProbeAnalysis>[0];
    const stop = () => {
      bar.stop();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
    if (shard) {
      const done = await runFvShard({ ...fvOptions, shard, weightsPath: resolve(weightsPath) }).finally(stop);
      process.stderr.write(`fv probes: ${probeCounts.rendered} rendered, ${probeCounts.reused} reused\n`);
      process.stderr.write(`shard ${shard.index}/${shard.count} done: ${done.probes} probes measured, in ${done.file}; ` +
        `merge the ${shard.count} shards with resnet-stream merge --out DIR SHARD_DIR...\n`);
      return;
    }
    const analysis = await runFvProbeAnalysis(fvOptions).finally(stop);
    const written = await writeAnalysisOutputs(out, analysis, {
      imageSrc: (name: string) => {
        try {
          return thumbnailDataUri(decodeImageFile(join(out, name)));
        } catch {
          return undefined;
        }
      },
      site: { details, probeFiles: true },
    });
    process.stderr.write(`fv probes: ${probeCounts.rendered} rendered, ${probeCounts.reused} reused\n`);
    for (const b of analysis.blocks) process.stderr.write(`block ${b.block}: ${JSON.stringify(b.summary.fractions)}\n`);
    process.stderr.write(`wrote ${written.analysisJson}, ${written.csv.length} CSV file(s) and ${written.report}\n`);
  } finally {
    engine.dispose();
    context.destroy();
  }
}
