// `resnet-stream merge --out DIR SHARD_DIR...`: the shards of one `analyze --shard K/N` run, merged into
// the analysis.json, CSVs and report the unsharded run writes, byte for byte. Dataset shards hold their
// journal (merged by mergeDatasetShards); fv shards their PNGs and measurements (fv-shard.json, merged
// by mergeFvShards). The set must be one run's shards 0..N-1 exactly once, every shard finished and none
// still running; otherwise the merge names what is wrong and writes nothing. Needs no GPU.

import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { type AnalysisJson, type BlockParams, type JournalHeader, ShardSetError, blockParamsFrom, mergeDatasetShards } from '../analysis/analyze';
import { architectureOf } from '../model/family';
import { RUN_INFO_FILE, type SiteInput, writeAnalysisOutputs } from '../report/report-node';
import type { BlockDetails } from '../analysis/details';
import { UsageError, parseArgs, required } from './args';
import { readWeights } from './checkpoint';
import { FV_SHARD_FILE, mergeFvShardDirs } from './fv-shards';
import { FileJournal } from './journal-node';
import { lockHolder, withOutputLock } from './lock-node';
import { imageItems, probeImage, thumbnailSource } from './run-analysis';

const HELP = `resnet-stream merge: the shards of one sharded analysis, merged into the unsharded run's outputs

usage: resnet-stream merge --out DIR [--weights FILE] SHARD_DIR...

  SHARD_DIR...     the --out folders of \`analyze ... --shard K/N\` for K = 0 .. N-1, each exactly once,
                   all finished; dataset or fv probes
  --out DIR        where analysis.json, the CSVs and index.html go (and, for fv probes, the PNGs)
  --weights FILE   dataset probes: the checkpoint the shards ran (its SHA-256 must be theirs), for the
                   |gamma| and mean |W| columns; default: the path in the shards' run.json

Nothing is written unless the shards are one run's complete set; what is missing or different is named.`;

function readJson(path: string): Record<string, unknown> | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/**
 * The blocks' parameters for |gamma| and mean |W|, from --weights or the checkpoint the shards recorded,
 * which must be the one they ran (its SHA-256).
 */
function paramsLoader(weightsFlag: string | undefined) {
  return async (recorded: string | null | undefined, meta: Record<string, unknown>, blocks: string[], architecture: string): Promise<Record<string, BlockParams>> => {
    const path = weightsFlag ?? recorded;
    if (!path) throw new UsageError('--weights is needed: the shards name no weights file');
    const { checkpoint } = await readWeights({ weights: path });
    const want = meta.weightsSha256;
    if (want && checkpoint.sha256 !== want) throw new ShardSetError(`${path} has SHA-256 ${checkpoint.sha256}, the shards ran ${String(want)}`);
    const arch = architectureOf(architecture);
    return Object.fromEntries(blocks.map((b) => [b, blockParamsFrom(checkpoint.tensors, b, arch)]));
  };
}

/** The dataset merge: journals in, the unsharded run's analysis out, with thumbnails from the shards' image set. */
async function mergeDataset(dirs: string[], weightsFlag: string | undefined, notice: (line: string) => void) {
  const runInfos = dirs.map((d) => readJson(join(d, RUN_INFO_FILE)));
  const recorded = runInfos.find((r) => typeof r?.weightsPath === 'string')?.weightsPath as string | undefined;
  const details: BlockDetails[] = [];
  const merged = await mergeDatasetShards({
    onBlockDetails: (d) => details.push(d),
    shards: dirs.map((d) => ({ name: d, journal: new FileJournal(join(d, 'journal.jsonl'), { readOnly: true }) })),
    params: (header: JournalHeader) => paramsLoader(weightsFlag)(recorded, header.config.meta, header.config.blocks, header.architecture as string),
  });
  // The report's thumbnails: the image set the shards read (run.json), if it is here and still the same list.
  const info = runInfos.find((r) => r && ('imagesPath' in r));
  const spec = (info?.images as string[] | undefined) ?? (info?.imagesPath as string | null | undefined) ?? undefined;
  let imageSrc: ((name: string) => string | undefined) | undefined;
  let image: SiteInput['image'];
  try {
    const { items, stimuli } = imageItems(spec ?? undefined, (info?.limit as number | null | undefined) ?? undefined);
    if (items.length === merged.images.length && items.every((it, i) => it.name === merged.images[i].name)) {
      imageSrc = thumbnailSource(items, stimuli);
      image = probeImage(items, stimuli);
    }
    else notice('the report has no thumbnails: the shards\' image set has changed since they ran');
  } catch (e) {
    notice(`the report has no thumbnails: the shards' images are not readable here (${(e as Error).message})`);
  }
  return {
    analysis: merged.analysis, imageSrc, site: { details, image } as SiteInput,
    runInfo: { contentHash: merged.contentHash, shards: merged.shards },
  };
}

export async function mergeCommand(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const args = parseArgs(argv, { values: ['out', 'weights'] });
  const out = resolve(required(args, 'out'));
  const dirs = args.positional.map((d) => resolve(d));
  if (!dirs.length) throw new UsageError('give the shards\' folders: resnet-stream merge --out DIR SHARD_DIR...');
  const notice = (line: string) => process.stderr.write(`${line}\n`);
  for (const d of dirs) {
    if (!existsSync(d)) throw new ShardSetError(`${d}: no such folder`);
    if (d === out) throw new UsageError(`--out ${out} is one of the shards' folders: merge into a folder of its own`);
    const holder = lockHolder(d);
    if (holder) throw new ShardSetError(`${d} is still being written: ${holder}`);
  }
  const fv = dirs.filter((d) => existsSync(join(d, FV_SHARD_FILE)) || existsSync(join(d, 'probes')));
  if (fv.length && fv.length !== dirs.length) throw new ShardSetError(`${fv.map((d) => basename(d)).join(', ')} hold fv probes, the others dataset journals: not one run`);
  const started = new Date();
  const result: { analysis: AnalysisJson; imageSrc?: (name: string) => string | undefined; runInfo: Record<string, unknown>; write?: () => Promise<void>; site?: SiteInput } =
    fv.length ? await mergeFvShardDirs(dirs, out, paramsLoader(args.values.get('weights'))) : await mergeDataset(dirs, args.values.get('weights'), notice);
  await withOutputLock(out, 'merge', notice, async () => {
    await result.write?.();
    const files = await writeAnalysisOutputs(out, result.analysis, {
      imageSrc: result.imageSrc,
      site: result.site ?? { probeFiles: true }, // fv: the pages show the probe PNGs in place
      runInfo: {
        merged: true, invokedAt: started.toISOString(), finishedAt: new Date().toISOString(), out, argv, node: process.version, ...result.runInfo,
      },
    });
    for (const b of result.analysis.blocks) notice(`block ${b.block}: ${JSON.stringify(b.summary.fractions)}`);
    notice(`merged ${dirs.length} shards: wrote ${files.analysisJson}, ${files.csv.length} CSV file(s) and ${files.report}`);
  });
}
