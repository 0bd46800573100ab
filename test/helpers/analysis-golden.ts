// The channel-by-channel comparison of a dataset-probe analysis with an independent PyTorch
// implementation's golden (scripts/goldens/make_analysis_goldens.py, make_family_analysis_goldens.py):
// the agreement rules and their accepted explanations are stated in test/golden-analysis.test.ts's
// header. Shared by that test (ResNet18 on real weights) and test/analysis-family.test.ts (resnet50).

import { expect } from 'vitest';
import type { BlockResult } from '../../src/analysis/analyze';

const REL_VALUE = 1e-3;
const REL_THRESHOLD = 1e-4;
const REL_TIE = 1e-5;

export type Role = 'input' | 'branch' | 'output';
const ROLES: Role[] = ['input', 'branch', 'output'];
type Num = number | null;

export interface GoldenBlock {
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

export interface Golden {
  topK: number;
  images: string[];
  blocks: GoldenBlock[];
}

/** Which readout each probe-set readout measures (its scale for error reports). */
const READOUT_ROLE: Record<string, Role> = {
  outputOnInput: 'output', outputOnBranch: 'output',
  branchOnInput: 'branch', branchOnBranch: 'branch', reluBranchOnInput: 'branch', reluBranchOnZoomedInput: 'branch',
  inputOnInput: 'input', inputOnBranch: 'input', reluInputOnBranch: 'input', reluInputOnZoomedOutBranch: 'input',
};

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

export interface BlockReport {
  line: string;
  unexplained: string[];
  explained: string[];
  worst: Record<string, number>;
}

/** Compare our block with PyTorch's; `stream` holds our untransformed centre values per tap, [image][channel]. */
export function compareBlock(g: GoldenBlock, ours: BlockResult, stream: Map<string, Float32Array>, images: string[], k: number): BlockReport {
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
        // relative to the channel's scale on that tap (a mean near 0 would make a plain ratio meaningless),
        // PyTorch's or ours, whichever is larger (a channel PyTorch finds dead everywhere has scale 0)
        const role = READOUT_ROLE[key];
        const values = stream.get(g[role]) as Float32Array;
        let ourScale = 0;
        for (let i = 0; i < N; i++) ourScale = Math.max(ourScale, Math.abs(values[i * C + c]));
        const scale = Math.max(g.ties[role].absmax[c], ourScale);
        if (scale > 0) worst.readouts = Math.max(worst.readouts, Math.abs(theirs - mine) / scale);
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
