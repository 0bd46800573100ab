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
import { type BlockReadouts, type Variant, centreValues, readoutsFor } from '../analysis/readouts';

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
  signal?: AbortSignal;
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
 * Renders the fv probes the blocks need (those not on disk yet) and returns how many were rendered
 * and reused. Each unique (tap, channel) is optimised once and saved under every (block, readout) it serves.
 */
export async function renderFvProbes(o: FvProbeOptions): Promise<{ rendered: number; reused: number }> {
  const { steps, size, batch, seed } = o.settings;
  const arch = weightsArchitecture(o.weights, o.architecture);
  const blocks = sortBlocks(o.blocks, arch);
  // tap -> the (block, readout) pairs it serves
  const byTap = new Map<string, { block: string; readout: Readout }[]>();
  for (const b of blocks) {
    const r = readoutsFor(b, o.variant ?? 'post-relu', arch);
    for (const x of READOUTS) {
      const list = byTap.get(tapOf(r, x)) ?? [];
      list.push({ block: r.block, readout: x });
      byTap.set(tapOf(r, x), list);
    }
  }
  const abs = (block: string, x: Readout, c: number) => join(o.outDir, probePath(block, x, c));
  let total = 0;
  for (const [tap, users] of byTap) total += users.length * tapShape(tap, 1, 224, 224, arch)[1];
  let done = 0;
  let rendered = 0;
  let reused = 0;
  const todo = new Map<string, number[]>();
  for (const [tap, users] of byTap) {
    const C = tapShape(tap, 1, 224, 224, arch)[1];
    const missing: number[] = [];
    for (let c = 0; c < C; c++) {
      const have = users.find((u) => existsSync(abs(u.block, u.readout, c)));
      if (!have) {
        missing.push(c);
        continue;
      }
      // Present under one (block, readout): copy it to the others that share the tap.
      const bytes = readFileSync(abs(have.block, have.readout, c));
      for (const u of users) if (!existsSync(abs(u.block, u.readout, c))) await writeAtomic(abs(u.block, u.readout, c), bytes);
      done += users.length;
      reused += users.length;
    }
    if (missing.length) todo.set(tap, missing);
  }
  if (!todo.size) return { rendered, reused };

  const weights = uploadNetworkWeights(o.ctx, o.weights, arch);
  try {
    for (const [tap, missing] of todo) {
      const users = byTap.get(tap) as { block: string; readout: Readout }[];
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
 * The centre value of channel n of `tap` for image n of `images` (image n is channel n's probe), for
 * every tap asked, with `transform` applied to the normalised tensor first.
 */
async function measureOwnChannel(forward: ForwardTaps, images: HostTensor[], taps: string[], batch: number,
  transform: (x: HostTensor) => HostTensor = (x) => x): Promise<Map<string, number[]>> {
  const out = new Map(taps.map((t) => [t, [] as number[]]));
  for (let s = 0; s < images.length; s += batch) {
    const chunk = images.slice(s, s + batch).map(transform);
    const result = await forward(stackBatch(chunk), taps);
    for (const tap of taps) {
      const t = result.get(tap);
      if (!t) throw new Error(`the forward returned no values for tap ${tap}`);
      const centres = centreValues(t.data, t.shape);
      const C = t.shape[1];
      chunk.forEach((_, j) => (out.get(tap) as number[]).push(centres[j * C + s + j]));
    }
  }
  return out;
}

/** Re-measures one block's readouts on its saved probes: the responses analyzeBlock takes (one image per set). */
export async function measureBlockOnProbes(forward: ForwardTaps, outDir: string, r: BlockReadouts, measureBatch = 8,
  zoomFactors: readonly number[] = []): Promise<ChannelResponses[]> {
  const load = (x: Readout) => Array.from({ length: r.channels }, (_, c) => probeTensor(decodeImageFile(join(outDir, probePath(r.block, x, c)))));
  const iStar = load('I');
  const bStar = load('B');
  const onI = await measureOwnChannel(forward, iStar, [r.input, r.branch, r.output], measureBatch);
  const onB = await measureOwnChannel(forward, bStar, [r.input, r.branch, r.output], measureBatch);
  const zIn = await measureOwnChannel(forward, iStar, [r.branch], measureBatch, zoomIn);
  const zOut = await measureOwnChannel(forward, bStar, [r.input], measureBatch, zoomOut);
  const sweep: { factor: number; values: number[] }[] = [];
  for (const f of zoomFactors) {
    sweep.push({ factor: f, values: (await measureOwnChannel(forward, iStar, [r.branch], measureBatch, (x) => zoom(x, f))).get(r.branch) as number[] });
  }
  const v = (m: Map<string, number[]>, tap: string, c: number) => [(m.get(tap) as number[])[c]];
  return Array.from({ length: r.channels }, (_, c) => {
    const resp: ChannelResponses = {
      inputOnInput: v(onI, r.input, c),
      inputOnBranch: v(onB, r.input, c),
      inputOnZoomedOutBranch: v(zOut, r.input, c),
      branchOnInput: v(onI, r.branch, c),
      branchOnBranch: v(onB, r.branch, c),
      branchOnZoomedInput: v(zIn, r.branch, c),
      outputOnInput: v(onI, r.output, c),
      outputOnBranch: v(onB, r.output, c),
    };
    if (sweep.length) resp.sweep = sweep.map((s) => ({ factor: s.factor, branchOnZoomedInput: [s.values[c]] }));
    return resp;
  });
}

/** The fv-probe analysis end to end: render what is missing, re-measure the PNGs, analyse. analysis.json's content. */
export async function runFvProbeAnalysis(o: FvProbeOptions): Promise<AnalysisJson> {
  const variant = o.variant ?? 'post-relu';
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

  const results: BlockResult[] = [];
  let imageCount = 0;
  for (const b of blocks) {
    o.signal?.throwIfAborted();
    const r = readoutsFor(b, variant, arch);
    o.onProgress?.({ phase: 'measure', what: r.block, batch: 0, batches: 0, step: 0, steps: 0, elapsedMs: 0, probesDone: 0, probesTotal: 0 });
    const responses = await measureBlockOnProbes(o.forward, o.outDir, r, o.measureBatch ?? 8, o.zoomFactors ?? []);
    const names = (x: Readout) => Array.from({ length: r.channels }, (_, c) => [probePath(r.block, x, c)]);
    imageCount += 3 * r.channels;
    results.push(analyzeBlock({
      readouts: r,
      probes: { input: names('I'), branch: names('B'), output: names('O') },
      responses,
      params: o.params?.[r.block],
    }));
  }
  for (const res of results) res.summary.notes.push(`fv probes: one ${size} x ${size} feature visualisation per readout and channel, ${steps} steps, re-measured from its 8-bit PNG`);
  return {
    version: 1,
    meta: {
      ...(o.meta ?? {}),
      probes: 'fv', variant, topK: 1, images: imageCount, zoomFactors: [...(o.zoomFactors ?? [])], tuningCurves: false,
      fvSteps: steps, fvSize: size, fvBatch: batch, fvSeed: seed,
    },
    skipped: [...(o.skipped ?? [])],
    blocks: results,
  };
}
