// fv probes in shards (`analyze --probes fv --shard K/N`) and their merge. The work is the run's render
// units (fv-probes.ts: up to --fv-batch channels of one tap), shard K of N taking a contiguous share of
// them (shard.ts). A shard renders its units' PNGs (resumable: a PNG on disk is not rendered again),
// measures the I and B probes among them exactly as the whole run does (float32 centre values, every
// forward at --batch images), and writes DIR/fv-shard.json, atomically, when done. The merge gathers the
// measurements into each block's responses, runs the same assembly (assembleFv) and copies the PNGs, so
// its analysis.json is the unsharded run's, byte for byte. Node only.

import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type AnalysisJson, type BlockParams } from '../analysis/analyze';
import { type Variant, readoutsFor } from '../analysis/readouts';
import { type ShardSpec, ShardSetError, checkCoverage, shardLabel } from '../analysis/shard';
import { architectureOf } from '../model/family';
import { decodeImageFile } from '../image/decode-node';
import { thumbnailDataUri } from '../report/report-node';
import { writeFileAtomic } from '../util/files-node';
import {
  type FvProbeOptions, type FvProbeSettings, type ProbeMeasurement, assembleFv, fvResponses, measureProbes, prepareFvProbes, probePath,
  renderUnits, unitsOf,
} from './fv-probes';

export const FV_SHARD_FILE = 'fv-shard.json';

/** Everything two shards of one fv run share; a merge refuses shards whose identities differ, naming the field. */
interface FvShardIdentity {
  settings: FvProbeSettings;
  blocks: string[];
  variant: Variant;
  zoomFactors: number[];
  measureBatch: number;
  architecture: string;
  units: number;
  skipped: { block: string; reason: string }[];
  meta: Record<string, string | number | boolean | null>;
}

interface FvShardFile {
  version: 1;
  shard: ShardSpec;
  identity: FvShardIdentity;
  /** The checkpoint it ran (for the merge's |gamma| and mean |W|). */
  weightsPath: string | null;
  /** Per block, the I and B probes of its units, measured. */
  measurements: { block: string; I: ProbeMeasurement[]; B: ProbeMeasurement[] }[];
}

/** One shard: render its units, measure its probes, write DIR/fv-shard.json. */
export async function runFvShard(o: FvProbeOptions & { shard: ShardSpec; weightsPath?: string }): Promise<{ file: string; probes: number }> {
  const variant = o.variant ?? 'post-relu';
  const zoomFactors = [...(o.zoomFactors ?? [])];
  const measureBatch = o.measureBatch ?? 8;
  const { arch, blocks } = await prepareFvProbes(o);
  const all = renderUnits(blocks, variant, arch, o.settings.batch);
  const own = unitsOf(all, o.shard);
  const measurements: FvShardFile['measurements'] = [];
  let probes = 0;
  for (const b of blocks) {
    o.signal?.throwIfAborted();
    const r = readoutsFor(b, variant, arch);
    const channelsOf = (tap: string) => own.filter((u) => u.tap === tap).flatMap((u) => u.channels);
    const onI = channelsOf(r.input);
    const onB = channelsOf(r.branch);
    if (!onI.length && !onB.length) continue;
    o.onProgress?.({ phase: 'measure', what: r.block, batch: 0, batches: 0, step: 0, steps: 0, elapsedMs: 0, probesDone: 0, probesTotal: 0 });
    measurements.push({
      block: r.block,
      I: await measureProbes(o.forward, o.outDir, r, 'I', onI, measureBatch, zoomFactors),
      B: await measureProbes(o.forward, o.outDir, r, 'B', onB, measureBatch),
    });
    probes += onI.length + onB.length;
  }
  const file: FvShardFile = {
    version: 1,
    shard: { index: o.shard.index, count: o.shard.count },
    identity: {
      settings: { ...o.settings }, blocks, variant, zoomFactors, measureBatch, architecture: arch.name, units: all.length,
      skipped: [...(o.skipped ?? [])], meta: { ...(o.meta ?? {}) },
    },
    weightsPath: o.weightsPath ?? null,
    measurements,
  };
  const path = join(o.outDir, FV_SHARD_FILE);
  await writeFileAtomic(path, `${JSON.stringify(file)}\n`);
  return { file: path, probes };
}

/** Merge fv shards: their measurements into the unsharded analysis, and a `write` that copies their PNGs into `out`. */
export async function mergeFvShardDirs(dirs: string[], out: string, params: (weightsPath: string | null, meta: FvShardIdentity['meta'], blocks: string[], architecture: string) => Promise<Record<string, BlockParams> | undefined>): Promise<{
  analysis: AnalysisJson; imageSrc: (name: string) => string | undefined; runInfo: Record<string, unknown>; write: () => Promise<void>;
}> {
  const unfinished = dirs.filter((d) => !existsSync(join(d, FV_SHARD_FILE)));
  if (unfinished.length) throw new ShardSetError(`not finished (no ${FV_SHARD_FILE}): ${unfinished.join(', ')}; run those shards' commands again to finish them`);
  const files = dirs.map((d) => JSON.parse(readFileSync(join(d, FV_SHARD_FILE), 'utf8')) as FvShardFile);
  const first = files[0].identity;
  const differing = files.flatMap((f, j) => {
    const keys = Object.keys(first) as (keyof FvShardIdentity)[];
    const d = keys.filter((k) => JSON.stringify(f.identity[k]) !== JSON.stringify(first[k]))
      .map((k) => `${k}: ${dirs[0]} ${JSON.stringify(first[k])}, ${dirs[j]} ${JSON.stringify(f.identity[k])}`);
    if (f.shard.count !== files[0].shard.count) d.push(`shard count: ${dirs[0]} ${files[0].shard.count}, ${dirs[j]} ${f.shard.count}`);
    return d.length ? [`${dirs[j]} differs from ${dirs[0]} (${d.join('; ')})`] : [];
  });
  if (differing.length) throw new ShardSetError(`the shards are not of one run: ${differing.join('; ')}`);
  const count = files[0].shard.count;
  checkCoverage(files.map((f) => f.shard.index), count, (k) => dirs.filter((_d, j) => files[j].shard.index === k).join(', '));
  const arch = architectureOf(first.architecture);
  const blocks = first.blocks.map((b) => {
    const r = readoutsFor(b, first.variant, arch);
    const gather = (x: 'I' | 'B') => new Map(files.flatMap((f) => f.measurements.filter((m) => m.block === r.block).flatMap((m) => m[x])).map((m) => [m.channel, m]));
    const onI = gather('I');
    const onB = gather('B');
    const absent = Array.from({ length: r.channels }, (_, c) => c).filter((c) => !onI.has(c) || !onB.has(c));
    if (absent.length) throw new ShardSetError(`block ${r.block}: no measurement of channel(s) ${absent.slice(0, 8).join(', ')} in any shard`);
    return { readouts: r, responses: fvResponses(r.channels, onI, onB, first.zoomFactors) };
  });
  const analysis = assembleFv({
    blocks, settings: first.settings, variant: first.variant, zoomFactors: first.zoomFactors, skipped: first.skipped, meta: first.meta,
    params: await params(files.find((f) => f.weightsPath)?.weightsPath ?? null, first.meta, first.blocks, first.architecture),
  });

  // Each probe's PNG comes from the shard that rendered its unit.
  const units = renderUnits(first.blocks, first.variant, arch, first.settings.batch);
  const write = async () => {
    for (const [j, f] of files.entries()) {
      for (const unit of unitsOf(units, f.shard)) {
        for (const c of unit.channels) {
          for (const u of unit.users) {
            const target = join(out, probePath(u.block, u.readout, c));
            mkdirSync(dirname(target), { recursive: true });
            copyFileSync(join(dirs[j], probePath(u.block, u.readout, c)), target);
          }
        }
      }
    }
    const record = join(dirs[0], 'probes', 'fv-run.json');
    if (existsSync(record)) await writeFileAtomic(join(out, 'probes', 'fv-run.json'), readFileSync(record));
  };
  return {
    analysis,
    imageSrc: (name) => {
      try {
        return thumbnailDataUri(decodeImageFile(join(out, name)));
      } catch {
        return undefined;
      }
    },
    runInfo: { shards: files.map((f, j) => ({ name: dirs[j], shard: shardLabel(f.shard) })) },
    write,
  };
}
