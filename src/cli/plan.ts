// `resnet-stream analyze ... --plan`: the work before anything runs (no GPU is opened): its units (dataset
// probes: images; fv probes: render units), their count, the share of each shard, and the projected time
// on every adapter the benchmark has measured, read from its committed results (bench/results/*.json of
// kind 'fv-bench': the dataset forward's images/s and the fv step times). Nothing is projected for an
// adapter without a measurement, and the figures are the measured machine's.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Variant, readoutsFor } from '../analysis/readouts';
import { type ShardSpec, shardRange } from '../analysis/shard';
import { stepSecondsModel } from '../featureviz/projection';
import { computability } from '../model/planner';
import { architectureOf } from '../model/family';
import type { ParsedArgs } from './args';
import { UsageError } from './args';
import { computableBlocks } from './blocks';
import { readWeights } from './checkpoint';
import { renderUnits } from './fv-probes';
import { imageItems, requestedBlocksOf } from './run-analysis';

/** One adapter's measured rates (a 'fv-bench' result file). */
interface Measured {
  file: string;
  adapter: string;
  date: string;
  cpus: number | null;
  imagesPerSecond: number | null;
  /** tap -> seconds per step of a `batch`-channel batch at `size`. */
  stepSeconds: Record<string, number>;
  batch: number;
  size: number;
}

/** The benchmark's results folder: beside the program (dist/ or src/cli/ under the project), or $RESNET_STREAM_BENCH_RESULTS. */
function resultsFolder(): string | null {
  if (process.env.RESNET_STREAM_BENCH_RESULTS) return resolve(process.env.RESNET_STREAM_BENCH_RESULTS);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'bench', 'results'))) return join(dir, 'bench', 'results');
    dir = dirname(dir);
  }
  return null;
}

/** Every 'fv-bench' result, newest first per adapter. */
export function measuredRates(folder = resultsFolder()): Measured[] {
  if (!folder || !existsSync(folder)) return [];
  const found: Measured[] = [];
  for (const name of readdirSync(folder).filter((f) => f.endsWith('.json')).sort()) {
    let d: Record<string, any>;
    try {
      d = JSON.parse(readFileSync(join(folder, name), 'utf8'));
    } catch {
      continue;
    }
    if (d?.kind !== 'fv-bench') continue;
    found.push({
      file: name,
      adapter: d.adapter?.name ?? d.adapterChoice ?? 'unknown',
      date: String(d.startedAt ?? '').slice(0, 10),
      cpus: d.machine?.cpus ?? null,
      imagesPerSecond: d.dataset?.imagesPerSecond ?? null,
      stepSeconds: Object.fromEntries((d.taps ?? []).filter((t: any) => t.medianStepSeconds > 0).map((t: any) => [t.tap, t.medianStepSeconds])),
      batch: d.batch ?? 64,
      size: d.size ?? 224,
    });
  }
  // The newest measurement of each adapter.
  const byAdapter = new Map<string, Measured>();
  for (const m of found) if (!byAdapter.has(m.adapter) || byAdapter.get(m.adapter)!.date <= m.date) byAdapter.set(m.adapter, m);
  return [...byAdapter.values()];
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const m = Math.round(seconds / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${(seconds / 86400).toFixed(1)} days`;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => `  ${r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('   ')}`.trimEnd()).join('\n');
}

const shards = (count: number) => Array.from({ length: count }, (_, index) => ({ index, count }));

export async function planCommand(args: ParsedArgs, shard: ShardSpec | undefined, print: (text: string) => void = (t) => process.stdout.write(t)): Promise<void> {
  const probes = args.values.get('probes') ?? 'dataset';
  if (probes !== 'dataset' && probes !== 'fv') throw new UsageError(`--probes must be dataset or fv, not '${probes}'`);
  const variant = (args.values.get('variant') ?? 'post-relu') as Variant;
  const { path: weightsPath, checkpoint } = await readWeights({ weights: args.values.get('weights'), arch: args.values.get('arch') });
  const arch = architectureOf(checkpoint.architecture);
  const requested = requestedBlocksOf(args.values.get('blocks')?.split(','), arch);
  const { blocks, skipped } = computableBlocks(requested, variant, computability(new Set(checkpoint.missing), arch), arch);
  const count = shard?.count ?? 1;
  const rates = measuredRates();
  const lines: string[] = [];
  lines.push(`plan: ${probes} probes, ${arch.name} (${weightsPath}), blocks ${blocks.join(', ')}${skipped.length ? `; skipped ${skipped.map((s) => s.block).join(', ')} (${skipped[0].reason})` : ''}`);

  if (probes === 'dataset') {
    const limit = args.values.get('limit');
    const { items } = imageItems(args.values.get('images'), limit === undefined ? undefined : Number(limit));
    const n = items.length;
    const k = Number(args.values.get('top-k') ?? 9);
    const sweep = args.flags.has('sweep') ? 11 : 0;
    const inputChannels = blocks.reduce((a, b) => a + readoutsFor(b, variant, arch).channels, 0);
    const zoomBound = (images: number) => 2 * Math.min(images, k * inputChannels) + sweep * Math.min(images, k * inputChannels);
    lines.push(`units: images, ${n} (${args.values.get('images') ?? 'the generated stimuli'}${limit ? `, --limit ${limit}` : ''}); ` +
      `each streamed once through every readout tap, then S and S^-1${sweep ? ` and ${sweep} sweep zooms` : ''} of the top-${k} candidates: at most ${zoomBound(n)} more forwards`);
    if (count > 1) {
      const share = (s: ShardSpec) => shardRange(n, s);
      lines.push(`shards: ${count}, contiguous: ${shards(count).map((s) => `${s.index}: ${share(s).start}..${share(s).end - 1}`).join(', ')}` +
        `${shard ? ` (this is shard ${shard.index}: ${share(shard).end - share(shard).start} images)` : ''}; each zooms its own top-${k} candidates`);
    }
    const largest = Math.max(...shards(count).map((s) => shardRange(n, s).end - shardRange(n, s).start));
    lines.push('projected time, from the dataset forward measured by the benchmark (ResNet18 at 224, batch 8, every readout tap; the stream pass, then at most the zoom passes):');
    const measured = rates.filter((r) => r.imagesPerSecond);
    if (!measured.length) lines.push('  no measured rates found (bench/results/ is not beside this program; set RESNET_STREAM_BENCH_RESULTS)');
    else {
      lines.push(table([
        ['adapter', 'measured', 'images/s', 'whole run', count > 1 ? `largest of ${count} shards` : ''],
        ...measured.map((r) => {
          const t = (images: number) => `${formatDuration(images / (r.imagesPerSecond as number))} + at most ${formatDuration(zoomBound(images) / (r.imagesPerSecond as number))}`;
          return [r.adapter, `${r.date}${r.cpus ? `, ${r.cpus} CPUs` : ''} (${r.file})`, (r.imagesPerSecond as number).toFixed(2), t(n), count > 1 ? t(largest) : ''];
        }),
      ]));
    }
  } else {
    const steps = Number(args.values.get('fv-steps') ?? 2560);
    const size = Number(args.values.get('fv-size') ?? 224);
    const batch = Number(args.values.get('fv-batch') ?? 64);
    const units = renderUnits(blocks, variant, arch, batch);
    const distinct = units.reduce((a, u) => a + u.channels.length, 0);
    const readouts = units.reduce((a, u) => a + u.channels.length * u.users.length, 0);
    lines.push(`units: render units (up to ${batch} channels of one tap, ${steps} steps at ${size} x ${size}), ${units.length}; ` +
      `${distinct} distinct probes serving ${readouts} block readouts`);
    const ranges = shards(count).map((s) => shardRange(units.length, s));
    if (count > 1) {
      lines.push(`shards: ${count}, contiguous: ${ranges.map((r, i) => `${i}: ${r.start}..${r.end - 1}`).join(', ')}${shard ? ` (this is shard ${shard.index}: ` +
        `${ranges[shard.index].end - ranges[shard.index].start} units, ${units.slice(ranges[shard.index].start, ranges[shard.index].end).map((u) => `${u.tap} ${u.channels[0]}-${u.channels[u.channels.length - 1]}`).join(', ')})` : ''}`);
    }
    lines.push('projected time, from the optimisation steps measured by the benchmark (a batch of channels at 224; other taps on the line through the measured ones by multiply-adds, ' +
      'scaled by channels per batch and by (size/224)^2; measuring the probes afterwards is not counted):');
    const measured = rates.filter((r) => Object.keys(r.stepSeconds).length);
    if (!measured.length) lines.push('  no measured rates found (bench/results/ is not beside this program; set RESNET_STREAM_BENCH_RESULTS)');
    else {
      lines.push(table([
        ['adapter', 'measured', 'whole run', count > 1 ? `largest of ${count} shards` : ''],
        ...measured.map((r) => {
          const model = stepSecondsModel(r.stepSeconds, r.size);
          const unitSeconds = units.map((u) => steps * model(u.tap) * (u.channels.length / r.batch) * (size / r.size) ** 2);
          const sum = (a: number, b: number) => a + b;
          const largest = Math.max(...ranges.map((g) => unitSeconds.slice(g.start, g.end).reduce(sum, 0)));
          return [r.adapter, `${r.date}${r.cpus ? `, ${r.cpus} CPUs` : ''} (${r.file})`, formatDuration(unitSeconds.reduce(sum, 0)), count > 1 ? formatDuration(largest) : ''];
        }),
      ]));
    }
  }
  print(`${lines.join('\n')}\n`);
}
