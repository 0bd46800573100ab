// The analysis on feature-visualisation probes (METHOD.md, "Probes", fv; the paper's default). Node-only
// (it writes and reads PNG files). For each analysed block, readout X in {I, B, O} and channel c:
//
//   1. render X*_c with renderVis (Lucent's render_vis, the paper's settings, the tap's jitter), many
//      channels of one tap per batch; a tap shared by two blocks (2.0's O is 2.1's I) is rendered once;
//   2. save it as an 8-bit PNG, DIR/probes/<block>/<readout>/<c>.png, atomically (temp + rename); a
//      probe whose PNG exists is not rendered again, so an interrupted run resumes;
//   3. read every PNG back, ToTensor + Normalize (the saved probe, re-normalised), and measure the
//      block's readouts at the centre unit with the forward engine: I, B, O on I* and B*, B on S(I*),
//      I on S^-1(B*) (and B on S_f(I*) for the sweep);
//   4. hand those single-image probe sets to analyzeBlock, the same M / category / SM_B / SM_I /
//      criteria / fractions code the dataset mode uses.
//
// DIR/probes/fv-run.json records the rendering settings; PNGs of other settings are never mixed in.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { GpuContext } from '../gpu/context';
import { writeFileAtomic } from '../util/files-node';
import { decodeImageFile } from '../image/decode-node';
import type { RgbImage } from '../image/image';
import { normalize, stackBatch, toTensor } from '../image/transforms';
import { zoom, zoomIn, zoomOut } from '../image/zoom';
import { type Architecture, blockByName, tapShape } from '../model/architecture';
import { uploadNetworkWeights, weightsArchitecture } from '../featureviz/fv-node';
import { encodePngRgb, toRgb8 } from '../featureviz/png';
import { maxRenderBatch, renderVis, resnetFactory, splitRenderBatch } from '../featureviz/render';
import { jitterForTap } from '../featureviz/transforms';
import type { HostTensor, TensorMap } from '../weights/safetensors';
import {
  type AnalysisJson, type BlockParams, type BlockResult, type ChannelResponses, type SkippedBlock, analyzeBlock, sortBlocks,
} from '../analysis/analyze';
import { type BlockReadouts, type Variant, readoutsFor } from '../analysis/readouts';
import { type BlockDetails, blockDetails } from '../analysis/details';
import { type ShardSpec, shardRange } from '../analysis/shard';
import { forwardPadded } from './run-analysis';

export type Readout = 'I' | 'B' | 'O';
export const READOUTS: readonly Readout[] = ['I', 'B', 'O'];

/** Runs a batch of normalised NCHW images through the network and returns the requested taps (NCHW). */
export type ForwardTaps = (input: HostTensor, taps: string[]) => Promise<Map<string, HostTensor>>;

export interface FvProbeSettings {
  /** Optimisation steps per probe (the paper: 2560). */
  steps: number;
  /** Probe size (the paper: 224). */
  size: number;
  /**
   * Channels rendered together (one image each); split into equal smaller runs where the adapter's
   * storage-binding limit requires it. A probe does not depend on its batch (render.ts).
   */
  batch: number;
  seed: number;
}

export interface FvProbeProgress {
  phase: 'render' | 'measure';
  /** The tap being rendered, or the block being measured. */
  what: string;
  /** Render: the batch of this tap, 1-based, of `batches`; its step of `steps`; its elapsed time. */
  batch: number;
  batches: number;
  step: number;
  steps: number;
  elapsedMs: number;
  /** Probes present so far (rendered or reused) of all the run needs. */
  probesDone: number;
  probesTotal: number;
}

export interface FvProbeOptions {
  /** Told how many probes this invocation rendered and how many it reused from DIR/probes. */
  onProbeCounts?: (counts: { rendered: number; reused: number }) => void;
  ctx: GpuContext;
  /** Host state dict: the rendering builds its own GPU copy for the backward pass. */
  weights: TensorMap;
  /** The member of the family the weights are (block names, readouts); default: recognised from them. */
  architecture?: Architecture;
  /** The forward used to re-measure the saved PNGs (the CLI passes ResNetEngine.forward). */
  forward: ForwardTaps;
  blocks: readonly string[];
  variant?: Variant;
  settings: FvProbeSettings;
  /** The analysis directory; PNGs go to DIR/probes/. */
  outDir: string;
  /** Images per forward call when measuring (default 8). */
  measureBatch?: number;
  zoomFactors?: readonly number[];
  params?: Record<string, BlockParams>;
  skipped?: readonly SkippedBlock[];
  meta?: Record<string, string | number | boolean | null>;
  now?: () => Date;
  onProgress?: (p: FvProbeProgress) => void;
  /** Per block, what its channel pages show beyond analysis.json (the readouts on each probe). */
  onBlockDetails?: (details: BlockDetails) => void;
  signal?: AbortSignal;
  /** Shard K of N: render only its share of the render units (renderUnits) and measure the probes they make. */
  shard?: ShardSpec;
}

/**
 * A unit of fv work: up to `batch` (--fv-batch) channels of one tap, rendered together (in equal
 * sub-batches where the adapter's storage-binding limit needs it) and saved under every (block,
 * readout) the tap serves. A run's units, in order: the taps in forward order of first use, each
 * tap's channels in runs of `batch`; shard K of N takes a contiguous share of them (shard.ts).
 */
export interface RenderUnit {
  tap: string;
  channels: number[];
  users: { block: string; readout: Readout }[];
}

/** The render units of these blocks (sorted, as analysed) at render batch `batch`. */
export function renderUnits(blocks: readonly string[], variant: Variant, arch: Architecture, batch: number): RenderUnit[] {
  // tap -> the (block, readout) pairs it serves
  const byTap = new Map<string, { block: string; readout: Readout }[]>();
  for (const b of blocks) {
    const r = readoutsFor(b, variant, arch);
    for (const x of READOUTS) {
      const list = byTap.get(tapOf(r, x)) ?? [];
      list.push({ block: r.block, readout: x });
      byTap.set(tapOf(r, x), list);
    }
  }
  return [...byTap].flatMap(([tap, users]) => {
    const C = tapShape(tap, 1, 224, 224, arch)[1];
    return Array.from({ length: Math.ceil(C / batch) }, (_, u) => ({
      tap, users, channels: Array.from({ length: Math.min(batch, C - u * batch) }, (_, i) => u * batch + i),
    }));
  });
}

/** The units a shard renders (all without one). */
export function unitsOf(units: RenderUnit[], shard?: ShardSpec): RenderUnit[] {
  if (!shard) return units;
  const { start, end } = shardRange(units.length, shard);
  return units.slice(start, end);
}

/** The probe's file, relative to the analysis directory (what analysis.json names). */
export function probePath(block: string, readout: Readout, channel: number): string {
  return join('probes', block, readout, `${channel}.png`);
}

function tapOf(r: BlockReadouts, x: Readout): string {
  return x === 'I' ? r.input : x === 'B' ? r.branch : r.output;
}

async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  await writeFileAtomic(path, bytes, `${path}.${process.pid}.tmp`);
}

/** The saved probe, as the network sees it: 8-bit RGB -> [0, 1] -> ImageNet normalisation, [1, 3, H, W]. */
export function probeTensor(rgb: RgbImage): HostTensor {
  return normalize(toTensor(rgb));
}

interface RunRecord {
  version: 1;
  /** What a probe depends on (not the batch). */
  settings: Omit<FvProbeSettings, 'batch'>;
  weights: string | number | boolean | null;
  createdAt: string;
}

/** Checks (or starts) DIR/probes/fv-run.json: the PNGs there must come from these settings. */
async function runRecord(outDir: string, settings: Omit<FvProbeSettings, 'batch'>, weights: RunRecord['weights'], now: () => Date): Promise<RunRecord> {
  const path = join(outDir, 'probes', 'fv-run.json');
  if (existsSync(path)) {
    const rec = JSON.parse(readFileSync(path, 'utf8')) as RunRecord;
    const a = JSON.stringify({ settings: rec.settings, weights: rec.weights });
    const b = JSON.stringify({ settings, weights });
    if (a !== b) {
      throw new Error(`${path} holds probes made with ${a}, this run asks for ${b}; delete ${join(outDir, 'probes')} or write to another --out`);
    }
    return rec;
  }
  const rec: RunRecord = { version: 1, settings, weights, createdAt: now().toISOString() };
  await writeAtomic(path, new TextEncoder().encode(`${JSON.stringify(rec, null, 2)}\n`));
  return rec;
}

/**
 * Renders the fv probes the blocks need (those not on disk yet; a shard: of its units) and returns how
 * many were rendered and reused. Each unique (tap, channel) is optimised once and saved under every
 * (block, readout) it serves.
 */
export async function renderFvProbes(o: FvProbeOptions): Promise<{ rendered: number; reused: number }> {
  const { steps, size, batch, seed } = o.settings;
  const arch = weightsArchitecture(o.weights, o.architecture);
  const units = unitsOf(renderUnits(sortBlocks(o.blocks, arch), o.variant ?? 'post-relu', arch, batch), o.shard);
  const abs = (block: string, x: Readout, c: number) => join(o.outDir, probePath(block, x, c));
  const total = units.reduce((a, u) => a + u.users.length * u.channels.length, 0);
  let done = 0;
  let rendered = 0;
  let reused = 0;
  const todo: RenderUnit[] = [];
  for (const unit of units) {
    const missing: number[] = [];
    for (const c of unit.channels) {
      const have = unit.users.find((u) => existsSync(abs(u.block, u.readout, c)));
      if (!have) {
        missing.push(c);
        continue;
      }
      // Present under one (block, readout): copy it to the others that share the tap.
      const bytes = readFileSync(abs(have.block, have.readout, c));
      for (const u of unit.users) if (!existsSync(abs(u.block, u.readout, c))) await writeAtomic(abs(u.block, u.readout, c), bytes);
      done += unit.users.length;
      reused += unit.users.length;
    }
    if (missing.length) todo.push({ ...unit, channels: missing });
  }
  if (!todo.length) return { rendered, reused };

  const weights = uploadNetworkWeights(o.ctx, o.weights, arch);
  try {
    for (const { tap, channels: missing, users } of todo) {
      const { subBatch: tapBatch } = splitRenderBatch(batch, maxRenderBatch(o.ctx.device.limits.maxStorageBufferBindingSize, tap, size, arch));
      const batches = Math.ceil(missing.length / tapBatch);
      for (let bi = 0; bi < batches; bi++) {
        o.signal?.throwIfAborted();
        const chunk = missing.slice(bi * tapBatch, (bi + 1) * tapBatch);
        const result = await renderVis(o.ctx, tap, chunk, resnetFactory(o.ctx, weights, tap), {
          steps, size, seed, signal: o.signal,
          onProgress: (p) => o.onProgress?.({
            phase: 'render', what: `${tap} (j=${jitterForTap(tap)}, ${chunk.length} channels)`, batch: bi + 1, batches, step: p.step, steps: p.steps,
            elapsedMs: p.elapsedMs, probesDone: done, probesTotal: total,
          }),
        });
        for (const [n, c] of chunk.entries()) {
          const png = encodePngRgb(toRgb8(result.images, n, size, size), size, size);
          for (const u of users) await writeAtomic(abs(u.block, u.readout, c), png);
        }
        done += chunk.length * users.length;
        rendered += chunk.length * users.length;
      }
    }
  } finally {
    weights.destroy();
  }
  return { rendered, reused };
}

/**
 * For each probe (image n is channel channels[n]'s), the centre value of its own channel of every tap
 * asked, with `transform` applied to the normalised tensor first. Every forward runs `batch` images
 * (forwardPadded), so a probe's values do not depend on which others share its batch.
 */
async function measureOwnChannel(forward: ForwardTaps, images: HostTensor[], channels: readonly number[], taps: string[], batch: number,
  transform: (x: HostTensor) => HostTensor = (x) => x): Promise<Map<string, number[]>> {
  const out = new Map(taps.map((t) => [t, [] as number[]]));
  for (let s = 0; s < images.length; s += batch) {
    const chunk = images.slice(s, s + batch).map(transform);
    const centres = await forwardPadded((x) => forward(x, taps), chunk, batch, taps);
    for (const tap of taps) {
      const values = centres.get(tap) as Float32Array;
      const C = values.length / chunk.length;
      chunk.forEach((_, j) => (out.get(tap) as number[]).push(values[j * C + channels[s + j]]));
    }
  }
  return out;
}

/**
 * One saved probe measured: I, B and O (its block's readouts) on it, and the zoomed readout the
 * metrics need: B on S(I*) for an I probe (and B on S_f(I*) per sweep factor), I on S^-1(B*) for a B probe.
 */
export interface ProbeMeasurement {
  channel: number;
  input: number;
  branch: number;
  output: number;
  zoomed: number;
  sweep?: number[];
}

/** Measures the saved I or B probes of `channels` of one block. */
export async function measureProbes(forward: ForwardTaps, outDir: string, r: BlockReadouts, readout: 'I' | 'B', channels: readonly number[],
  measureBatch = 8, zoomFactors: readonly number[] = []): Promise<ProbeMeasurement[]> {
  const images = channels.map((c) => probeTensor(decodeImageFile(join(outDir, probePath(r.block, readout, c)))));
  const plain = await measureOwnChannel(forward, images, channels, [r.input, r.branch, r.output], measureBatch);
  const zoomedTap = readout === 'I' ? r.branch : r.input;
  const zoomed = (await measureOwnChannel(forward, images, channels, [zoomedTap], measureBatch, readout === 'I' ? zoomIn : zoomOut)).get(zoomedTap) as number[];
  const sweep: number[][] = [];
  if (readout === 'I') {
    for (const f of zoomFactors) sweep.push((await measureOwnChannel(forward, images, channels, [r.branch], measureBatch, (x) => zoom(x, f))).get(r.branch) as number[]);
  }
  const v = (tap: string, i: number) => (plain.get(tap) as number[])[i];
  return channels.map((channel, i) => ({
    channel, input: v(r.input, i), branch: v(r.branch, i), output: v(r.output, i), zoomed: zoomed[i],
    ...(sweep.length ? { sweep: sweep.map((s) => s[i]) } : {}),
  }));
}

/** A block's channel responses (one image per probe set) from its I and B probes' measurements, by channel. */
export function fvResponses(channels: number, onI: ReadonlyMap<number, ProbeMeasurement>, onB: ReadonlyMap<number, ProbeMeasurement>,
  zoomFactors: readonly number[]): ChannelResponses[] {
  return Array.from({ length: channels }, (_, c) => {
    const i = onI.get(c) as ProbeMeasurement;
    const b = onB.get(c) as ProbeMeasurement;
    const resp: ChannelResponses = {
      inputOnInput: [i.input], inputOnBranch: [b.input], inputOnZoomedOutBranch: [b.zoomed],
      branchOnInput: [i.branch], branchOnBranch: [b.branch], branchOnZoomedInput: [i.zoomed],
      outputOnInput: [i.output], outputOnBranch: [b.output],
    };
    if (zoomFactors.length) resp.sweep = zoomFactors.map((factor, f) => ({ factor, branchOnZoomedInput: [(i.sweep as number[])[f]] }));
    return resp;
  });
}

/** What an fv analysis is, whole or merged from shards: analysis.json's content from each block's responses. */
export function assembleFv(o: {
  blocks: readonly { readouts: BlockReadouts; responses: ChannelResponses[] }[];
  settings: FvProbeSettings; variant: Variant; zoomFactors: readonly number[];
  params?: Record<string, BlockParams>; skipped?: readonly SkippedBlock[]; meta?: FvProbeOptions['meta'];
  onBlockDetails?: FvProbeOptions['onBlockDetails'];
}): AnalysisJson {
  const { steps, size, batch, seed } = o.settings;
  let imageCount = 0;
  const results: BlockResult[] = o.blocks.map(({ readouts: r, responses }) => {
    const names = (x: Readout) => Array.from({ length: r.channels }, (_, c) => [probePath(r.block, x, c)]);
    imageCount += 3 * r.channels;
    const measurements = { readouts: r, probes: { input: names('I'), branch: names('B'), output: names('O') }, responses, params: o.params?.[r.block] };
    o.onBlockDetails?.(blockDetails(measurements));
    return analyzeBlock(measurements);
  });
  for (const res of results) res.summary.notes.push(`fv probes: one ${size} x ${size} feature visualisation per readout and channel, ${steps} steps, re-measured from its 8-bit PNG`);
  return {
    version: 1,
    meta: {
      ...(o.meta ?? {}),
      probes: 'fv', variant: o.variant, topK: 1, images: imageCount, zoomFactors: [...o.zoomFactors], tuningCurves: false,
      fvSteps: steps, fvSize: size, fvBatch: batch, fvSeed: seed,
    },
    skipped: [...(o.skipped ?? [])],
    blocks: results,
  };
}

/** Checks the settings and DIR/probes/fv-run.json, then renders what is missing (a shard: of its units). */
export async function prepareFvProbes(o: FvProbeOptions): Promise<{ arch: Architecture; blocks: string[]; counts: { rendered: number; reused: number } }> {
  const arch = weightsArchitecture(o.weights, o.architecture);
  const skippedBlocks = new Set((o.skipped ?? []).map((s) => blockByName(s.block, arch).short));
  const blocks = sortBlocks(o.blocks, arch).filter((b) => !skippedBlocks.has(b));
  if (!blocks.length) throw new Error('runFvProbeAnalysis: no blocks to analyse');
  const { steps, size, batch, seed } = o.settings;
  for (const [name, n] of [['steps', steps], ['size', size], ['batch', batch]] as const) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`fv probes: ${name} must be a positive integer, got ${n}`);
  }
  if (size < 32) throw new Error(`fv probes: size ${size} is below the network's minimum of 32`);
  await runRecord(o.outDir, { steps, size, seed }, o.meta?.weightsSha256 ?? o.meta?.weights ?? null, o.now ?? (() => new Date()));
  const counts = await renderFvProbes({ ...o, architecture: arch, blocks });
  // How many probes this invocation rendered vs reused varies with interruptions, so it is reported
  // to the caller and kept out of analysis.json (which must be identical for a resumed run).
  o.onProbeCounts?.(counts);
  return { arch, blocks, counts };
}

/** The fv-probe analysis end to end: render what is missing, re-measure the PNGs, analyse. analysis.json's content. */
export async function runFvProbeAnalysis(o: FvProbeOptions): Promise<AnalysisJson> {
  if (o.shard) throw new Error('runFvProbeAnalysis: a shard has no analysis of its own (runFvShard)');
  const variant = o.variant ?? 'post-relu';
  const zoomFactors = o.zoomFactors ?? [];
  const { arch, blocks } = await prepareFvProbes(o);
  const measured = [];
  for (const b of blocks) {
    o.signal?.throwIfAborted();
    const r = readoutsFor(b, variant, arch);
    o.onProgress?.({ phase: 'measure', what: r.block, batch: 0, batches: 0, step: 0, steps: 0, elapsedMs: 0, probesDone: 0, probesTotal: 0 });
    const all = Array.from({ length: r.channels }, (_, c) => c);
    const byChannel = (list: ProbeMeasurement[]) => new Map(list.map((m) => [m.channel, m]));
    const onI = byChannel(await measureProbes(o.forward, o.outDir, r, 'I', all, o.measureBatch ?? 8, zoomFactors));
    const onB = byChannel(await measureProbes(o.forward, o.outDir, r, 'B', all, o.measureBatch ?? 8));
    measured.push({ readouts: r, responses: fvResponses(r.channels, onI, onB, zoomFactors) });
  }
  return assembleFv({ blocks: measured, settings: o.settings, variant, zoomFactors, params: o.params, skipped: o.skipped, meta: o.meta, onBlockDetails: o.onBlockDetails });
}
