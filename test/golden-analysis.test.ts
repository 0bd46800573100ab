// The dataset-probe analysis against PyTorch (issue 5): runDatasetAnalysis over shared ImageNet samples,
// with forwardCentres built on OUR image path (preprocessFiles, zoomIn / zoomOut of src/image/zoom) and
// OUR engine on the partial real weights, compared channel by channel with an independent Python
// implementation of METHOD.md run once on PyTorch (scripts/goldens/make_analysis_goldens.py ->
// test/fixtures/goldens/analysis-<N>.json; its header states every convention).
//
// Agreement, per channel of blocks 1.1, 2.0, 2.1, 3.0, 3.1:
// - probe sets I*, B*, O*: the same images (as sets; order within a set does not enter any formula);
// - M, SM_B, SM_I: both null, or |ours - theirs| <= 1e-3 x max(|ours|, |theirs|);
// - category and scaleInvariant: equal.
// Target 100%. A disagreement is accepted only when explained by one of:
// - a top-k near-tie: a probe set that differs has its k-th and (k+1)-th centre values within 1e-5
//   (relative) of each other, in PyTorch's values or ours (then every metric built on that set may
//   differ too);
// - a value within 1e-4 (relative) of a threshold of the quantity that differs:
//   M: O(I*) or O(B*) within 1e-4 x max_images |O_c| of 0 (the special cases);
//   category: those, or M within 1e-4 x t of t = 2/3 or 1.5;
//   SM_B: B(B*) within 1e-4 x max_images |B_c| of 0 (undefined), or SM_B within 1e-4 of its
//     threshold 0: |relu(B(S(I*))) - relu(B(I*))| <= 1e-4 x max_images |B_c|;
//   SM_I: likewise with I(I*), relu(I(S^-1(B*))), relu(I(B*)) and max_images |I_c|;
//   scaleInvariant: any reason for category, SM_B or SM_I.
// "Relative" is always relative to the scale the error lives on: a readout's error is a fraction of
// the channel's largest centre magnitude over the image set (float32 rounding, ~1e-7 .. 1e-6 of it,
// DESIGN.md's bar being 1e-4), so a near-zero quantity (O(I*), B(B*), SM's numerator) is compared
// with that scale, and M's band edges with t. SM's numerator is a difference of two means: where it
// cancels to ~1e-4 of the channel's scale, float32 rounding alone moves SM by more than 1e-3 of itself
// (measured: |SM_B| 1.5e-4 .. 5.6e-4 with relative differences 1e-3 .. 2e-3, absolute 2e-7 .. 1e-6).
// Anything else fails the test, with the channel and its values printed.
//
// 40 images, k = 9 (the paper's k): the stream pass and the two zoom passes are 120 forwards at 224,
// about 1.5 minutes on lavapipe (2 cores).
//
// GOLDEN_ANALYSIS_CENTRES=FILE (made by the script's --dump) replaces the engine with PyTorch's own
// centre values: it checks src/analysis alone against the Python implementation (must agree exactly).

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type BlockResult, type ForwardCentres, type ImageRef, runDatasetAnalysis } from '../src/analysis/analyze';
import type { Transform } from '../src/analysis/journal';
import { centreValues } from '../src/analysis/readouts';
import { preprocessFiles } from '../src/image/preprocess-node';
import { zoomIn, zoomOut } from '../src/image/zoom';
import { tapShape } from '../src/model/architecture';
import type { ResNetEngine } from '../src/model/engine';
import { loadCheckpoint } from '../src/weights/load';
import { type HostTensor, readSafetensors } from '../src/weights/safetensors';
import { testContext } from './helpers/gpu';
import { PARTIAL_WEIGHTS, SAMPLES, sharedMissing } from './helpers/shared';

const FIXTURE = resolve(__dirname, 'fixtures/goldens/analysis-40.json');
const BLOCKS = ['1.1', '2.0', '2.1', '3.0', '3.1'];
const BATCH = 10;
const REL_VALUE = 1e-3;
const REL_THRESHOLD = 1e-4;
const REL_TIE = 1e-5;

type Role = 'input' | 'branch' | 'output';
const ROLES: Role[] = ['input', 'branch', 'output'];
type Num = number | null;

interface GoldenBlock {
  block: string;
  input: string;
  branch: string;
  output: string;
  channels: number;
  probes: Record<Role, number[][]>;
  mix: Num[];
  category: (string | null)[];
  scaleBranch: Num[];
  scaleInput: Num[];
  scaleInvariant: boolean[];
  noMix: boolean[];
  readouts: Record<string, Num[]>;
  ties: Record<Role, { kth: number[]; next: number[]; absmax: number[] }>;
}

interface Golden {
  topK: number;
  images: string[];
  blocks: GoldenBlock[];
}

interface ImageFile extends ImageRef {
  path: string;
}

/** Which readout each probe-set readout measures (its scale for error reports). */
const READOUT_ROLE: Record<string, Role> = {
  outputOnInput: 'output', outputOnBranch: 'output',
  branchOnInput: 'branch', branchOnBranch: 'branch', reluBranchOnInput: 'branch', reluBranchOnZoomedInput: 'branch',
  inputOnInput: 'input', inputOnBranch: 'input', reluInputOnBranch: 'input', reluInputOnZoomedOutBranch: 'input',
};

const dumpFile = process.env.GOLDEN_ANALYSIS_CENTRES;
const missing = dumpFile ? sharedMissing(dumpFile) : sharedMissing(PARTIAL_WEIGHTS, SAMPLES);

const relDiff = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)));
const valuesAgree = (a: Num, b: Num) => (a === null || b === null ? a === b : relDiff(a, b) <= REL_VALUE);
const nearTie = (kth: number, next: number) => relDiff(kth, next) <= REL_TIE;
const nearZero = (v: Num, scale: number) => v !== null && Math.abs(v) <= REL_THRESHOLD * scale;
/** A difference of two means within 1e-4 of 0, relative to the channel's scale. */
const cancels = (a: Num, b: Num, scale: number) => a !== null && b !== null && Math.abs(a - b) <= REL_THRESHOLD * scale;
const nearBandEdge = (m: Num) => m !== null && [2 / 3, 1.5].some((t) => Math.abs(m - t) <= REL_THRESHOLD * t);
const fmt = (v: Num | undefined) => (v === null || v === undefined ? 'null' : Number(v.toPrecision(7)).toString());

/** The k-th and (k+1)-th highest values of a channel over the image set (our centre values). */
function kthAndNext(values: Float32Array, N: number, C: number, c: number, k: number): [number, number] {
  const col = Array.from({ length: N }, (_, i) => values[i * C + c]).sort((a, b) => b - a);
  return [col[k - 1], col[k]];
}

interface BlockReport {
  line: string;
  unexplained: string[];
  explained: string[];
  worst: Record<string, number>;
}

/** Compare our block with PyTorch's; `stream` holds our untransformed centre values per tap, [image][channel]. */
function compareBlock(g: GoldenBlock, ours: BlockResult, stream: Map<string, Float32Array>, images: string[], k: number): BlockReport {
  const C = g.channels;
  expect(ours.channels.length).toBe(C);
  expect([ours.input, ours.branch, ours.output]).toEqual([g.input, g.branch, g.output]);
  const N = images.length;
  const agree = { probes: 0, mix: 0, scaleBranch: 0, scaleInput: 0, category: 0, scaleInvariant: 0, noMix: 0 };
  const worst: Record<string, number> = { mix: 0, scaleBranch: 0, scaleInput: 0, readouts: 0 };
  const unexplained: string[] = [];
  const explained: string[] = [];
  for (let c = 0; c < C; c++) {
    const o = ours.channels[c];
    const gr = (key: string) => g.readouts[key][c];
    const or = o.readouts as unknown as Record<string, Num>;
    // ---- probe sets and near-ties
    const differs = {} as Record<Role, boolean>;
    const tie = {} as Record<Role, boolean>;
    for (const role of ROLES) {
      const theirs = g.probes[role][c].map((i) => images[i]).sort();
      const mine = [...o.probes[role]].sort();
      differs[role] = theirs.join('|') !== mine.join('|');
      const [kth, next] = kthAndNext(stream.get(g[role]) as Float32Array, N, C, c, k);
      tie[role] = nearTie(g.ties[role].kth[c], g.ties[role].next[c]) || nearTie(kth, next);
    }
    if (!ROLES.some((r) => differs[r])) agree.probes++;
    const probeTie = (['input', 'branch'] as Role[]).some((r) => differs[r] && tie[r]);
    // ---- thresholds (PyTorch's values or ours)
    const either = (f: (src: (key: string) => Num) => boolean) => f(gr) || f((key) => or[key]);
    const oAbs = g.ties.output.absmax[c];
    const mSpecial = either((r) => nearZero(r('outputOnInput'), oAbs) || nearZero(r('outputOnBranch'), oAbs));
    const mBand = nearBandEdge(g.mix[c]) || nearBandEdge(o.mix);
    const smBDen = either((r) => nearZero(r('branchOnBranch'), g.ties.branch.absmax[c]));
    const smBCancel = either((r) => cancels(r('reluBranchOnZoomedInput'), r('reluBranchOnInput'), g.ties.branch.absmax[c]));
    const smIDen = either((r) => nearZero(r('inputOnInput'), g.ties.input.absmax[c]));
    const smICancel = either((r) => cancels(r('reluInputOnZoomedOutBranch'), r('reluInputOnBranch'), g.ties.input.absmax[c]));
    const reasons = (parts: [boolean, string][]) => parts.filter(([b]) => b).map(([, s]) => s);
    const mReasons = reasons([[probeTie, 'top-k near-tie'], [mSpecial, 'O(I*) or O(B*) near 0']]);
    const catReasons = [...mReasons, ...reasons([[mBand, 'M near 2/3 or 1.5']])];
    const smBReasons = reasons([[probeTie, 'top-k near-tie'], [smBDen, 'B(B*) near 0'], [smBCancel, 'SM_B near 0 (numerator cancels)']]);
    const smIReasons = reasons([[probeTie, 'top-k near-tie'], [smIDen, 'I(I*) near 0'], [smICancel, 'SM_I near 0 (numerator cancels)']]);
    const invReasons = [...new Set([...catReasons, ...smBReasons, ...smIReasons])];
    const describe = `${g.block} channel ${c}`;
    const note = (what: string, why: string[], detail: string) => {
      const line = `${describe}: ${what} differs (${detail})${why.length ? `; explained: ${why.join(', ')}` : '; UNEXPLAINED'}`;
      (why.length ? explained : unexplained).push(line);
    };
    for (const role of ROLES) {
      if (!differs[role]) continue;
      const [kth, next] = kthAndNext(stream.get(g[role]) as Float32Array, N, C, c, k);
      note(`${role} probe set`, tie[role] ? ['top-k near-tie'] : [],
        `k-th/(k+1)-th: PyTorch ${fmt(g.ties[role].kth[c])}/${fmt(g.ties[role].next[c])}, ours ${fmt(kth)}/${fmt(next)}`);
    }
    /** SM's numerator relative to the channel's scale, as PyTorch computed it. */
    const numerator = (zoomed: string, original: string, role: Role) => {
      const a = gr(zoomed);
      const b = gr(original);
      return a === null || b === null ? '' : `; numerator ${fmt(a - b)} = ${((a - b) / g.ties[role].absmax[c]).toExponential(1)} of max|${role[0].toUpperCase()}_c|`;
    };
    const values: [keyof typeof agree & ('mix' | 'scaleBranch' | 'scaleInput'), Num, Num, string[], string][] = [
      ['mix', g.mix[c], o.mix, mReasons, `; O(I*) ${fmt(gr('outputOnInput'))}, O(B*) ${fmt(gr('outputOnBranch'))}`],
      ['scaleBranch', g.scaleBranch[c], o.scaleBranch, smBReasons, numerator('reluBranchOnZoomedInput', 'reluBranchOnInput', 'branch')],
      ['scaleInput', g.scaleInput[c], o.scaleInput, smIReasons, numerator('reluInputOnZoomedOutBranch', 'reluInputOnBranch', 'input')],
    ];
    for (const [key, theirs, mine, why, extra] of values) {
      if (valuesAgree(theirs, mine)) {
        agree[key]++;
        if (theirs !== null && mine !== null) worst[key] = Math.max(worst[key], relDiff(theirs, mine));
      } else {
        const rel = theirs !== null && mine !== null ? ` (relative ${relDiff(theirs, mine).toExponential(1)}, absolute ${Math.abs(theirs - mine).toExponential(1)})` : '';
        note(key, why, `PyTorch ${fmt(theirs)}, ours ${fmt(mine)}${rel}${extra}`);
      }
    }
    if (g.category[c] === o.category) agree.category++;
    else note('category', catReasons, `PyTorch ${g.category[c]}, ours ${o.category}; M ${fmt(g.mix[c])} / ${fmt(o.mix)}`);
    if (g.scaleInvariant[c] === o.scaleInvariant) agree.scaleInvariant++;
    else note('scaleInvariant', invReasons, `PyTorch ${g.scaleInvariant[c]}, ours ${o.scaleInvariant}`);
    if (g.noMix[c] === o.noMix) agree.noMix++;
    else note('noMix', [...new Set([...smBReasons, ...smIReasons])], `PyTorch ${g.noMix[c]}, ours ${o.noMix}`);
    // ---- raw readouts, where the probe sets they are built on are the same
    if (!differs.input && !differs.branch) {
      for (const key of Object.keys(g.readouts)) {
        const theirs = gr(key);
        const mine = or[key];
        if (theirs === null || mine === null) continue;
        // relative to the channel's scale on that tap (a mean near 0 would make a plain ratio meaningless)
        const role = READOUT_ROLE[key];
        worst.readouts = Math.max(worst.readouts, Math.abs(theirs - mine) / Math.max(g.ties[role].absmax[c], 1e-30));
      }
    }
  }
  const pct = (n: number) => `${((100 * n) / C).toFixed(1)}%`;
  const line =
    `  ${g.block.padEnd(4)} ${String(C).padStart(3)} ch | probes ${pct(agree.probes)} | M ${pct(agree.mix)} SM_B ${pct(agree.scaleBranch)} SM_I ${pct(agree.scaleInput)}` +
    ` | category ${pct(agree.category)} scaleInvariant ${pct(agree.scaleInvariant)} noMix ${pct(agree.noMix)}` +
    ` | worst rel M ${worst.mix.toExponential(1)} SM_B ${worst.scaleBranch.toExponential(1)} SM_I ${worst.scaleInput.toExponential(1)}` +
    ` readouts ${worst.readouts.toExponential(1)} of max|X_c|` +
    ` | invariant ${ours.channels.filter((ch) => ch.scaleInvariant).length} (PyTorch ${g.scaleInvariant.filter(Boolean).length})`;
  return { line, unexplained, explained, worst };
}

describe.skipIf(missing)(`dataset-probe analysis vs PyTorch (${dumpFile ? 'PyTorch centre values from GOLDEN_ANALYSIS_CENTRES' : 'our engine'}, blocks 1.1-3.1)`, () => {
  it('probe sets, M, SM_B, SM_I and the criteria agree channel by channel', { timeout: 400_000 } /* ~1.5 min alone; leave room for a loaded machine */, async () => {
    const started = performance.now();
    const golden = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Golden;
    const N = golden.images.length;
    const images: ImageFile[] = golden.images.map((name, index) => ({ index, name, path: join(SAMPLES, name) }));
    const channelsOf = (tap: string) => tapShape(tap, 1, 224, 224)[1];
    const stream = new Map<string, Float32Array>();
    const record = (transform: Transform, tap: string, values: Float32Array, batch: ImageFile[]) => {
      if (transform !== 'none') return;
      const C = channelsOf(tap);
      let all = stream.get(tap);
      if (!all) stream.set(tap, (all = new Float32Array(N * C).fill(NaN)));
      batch.forEach((img, j) => all.set(values.subarray(j * C, (j + 1) * C), img.index * C));
    };

    let forwardCentres: ForwardCentres<ImageFile>;
    let engine: ResNetEngine | null = null;
    let gpuMs = 0;
    let forwards = 0;
    if (dumpFile) {
      const dump = readSafetensors(new Uint8Array(readFileSync(dumpFile)), dumpFile);
      expect(JSON.parse(dump.metadata.images)).toEqual(golden.images);
      forwardCentres = async (batch, transform, taps) => {
        const out = new Map<string, Float32Array>();
        for (const tap of taps) {
          const t = dump.tensors.get(`${transform}/${tap}`);
          if (!t) throw new Error(`dump has no ${transform}/${tap}`);
          const C = t.shape[1];
          const v = new Float32Array(batch.length * C);
          batch.forEach((img, j) => v.set(t.data.subarray(img.index * C, (img.index + 1) * C), j * C));
          record(transform, tap, v, batch);
          out.set(tap, v);
        }
        return out;
      };
    } else {
      // Imported here so that the GOLDEN_ANALYSIS_CENTRES mode needs no GPU code at all.
      const { ResNetEngine } = await import('../src/model/engine');
      const e = await ResNetEngine.create({ context: await testContext() });
      engine = e;
      e.loadWeights(loadCheckpoint(new Uint8Array(readFileSync(PARTIAL_WEIGHTS)), 'partial').tensors);
      // Every image preprocessed once (36 MB for 60), sliced per batch.
      const all = preprocessFiles(images.map((i) => i.path));
      expect(all.failed).toEqual([]);
      const plane = 3 * 224 * 224;
      forwardCentres = async (batch, transform, taps) => {
        const data = new Float32Array(batch.length * plane);
        batch.forEach((img, j) => data.set(all.tensor.data.subarray(img.index * plane, (img.index + 1) * plane), j * plane));
        let input: HostTensor = { shape: [batch.length, 3, 224, 224], data };
        if (transform === 'zoomIn') input = zoomIn(input);
        else if (transform === 'zoomOut') input = zoomOut(input);
        else if (transform !== 'none') throw new Error(`unexpected transform ${transform}`);
        const t0 = performance.now();
        const got = await e.forward(input, { taps });
        gpuMs += performance.now() - t0;
        forwards += batch.length;
        const out = new Map<string, Float32Array>();
        for (const tap of taps) {
          const t = got.get(tap);
          if (!t) throw new Error(`engine returned no ${tap}`);
          const v = centreValues(t.data, t.shape);
          record(transform, tap, v, batch);
          out.set(tap, v);
        }
        return out;
      };
    }

    const analysis = await runDatasetAnalysis({
      images, blocks: BLOCKS, topK: golden.topK, batchSize: BATCH, forwardCentres, keepTuningCurves: true,
    });
    engine?.dispose();
    expect(analysis.blocks.map((b) => b.block)).toEqual(golden.blocks.map((b) => b.block));

    const reports = golden.blocks.map((g, i) => compareBlock(g, analysis.blocks[i], stream, golden.images, golden.topK));
    const explained = reports.flatMap((r) => r.explained);
    const unexplained = reports.flatMap((r) => r.unexplained);
    console.log(
      `analysis vs PyTorch: ${N} images, k = ${golden.topK}, ${dumpFile ? 'PyTorch centre values (analysis code only)' : `engine on ${engine?.adapter.name}`}\n` +
        `${reports.map((r) => r.line).join('\n')}\n` +
        (explained.length ? `explained disagreements:\n  ${explained.join('\n  ')}\n` : 'no disagreements\n') +
        (unexplained.length ? `UNEXPLAINED:\n  ${unexplained.join('\n  ')}\n` : '') +
        (engine ? `  forwards: ${forwards} images in ${(gpuMs / 1000).toFixed(1)} s; ` : '  ') +
        `whole test ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    expect(unexplained).toEqual([]);
    if (dumpFile) {
      // Same float32 centre values in: the two implementations must agree exactly (up to the fixture's 7 digits).
      expect(explained).toEqual([]);
      for (const r of reports) for (const key of ['mix', 'scaleBranch', 'scaleInput']) expect(r.worst[key]).toBeLessThan(1e-6);
    }
  });
});
