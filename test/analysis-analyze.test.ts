// The analysis core and the dataset-mode orchestration against a synthetic engine whose centre values
// are a deterministic function of (image, transform, tap, channel): results must equal a brute-force
// recomputation from that function, and an interrupted run must resume to a byte-identical analysis.json.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tapShape } from '../src/model/architecture';
import {
  type BlockMeasurements, type ChannelResponses, type ForwardCentres, type ImageRef, GAMMA_FOLDED_NOTE, JournalMismatchError,
  analysisToJson, analyzeBlock, blockParamsFrom, runDatasetAnalysis,
} from '../src/analysis/analyze';
import { MemoryJournal, type Transform, decodeFloat32, encodeFloat32 } from '../src/analysis/journal';
import { FileJournal } from '../src/cli/journal-node';
import { category, mixRatio, scaleBranch, scaleInput, scaleInvariant } from '../src/analysis/metrics';
import { topKBruteForce } from './reference/topk';
import { readoutsFor } from '../src/analysis/readouts';
import { mulberry32 } from '../src/util/random';

// ---- a synthetic engine

function hash(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join('|')) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h >>> 0;
}

/** Centre value of (image, transform, tap, channel): float32 in about [-1, 2], quantised so ties occur. */
function fakeValue(image: number, transform: Transform, tap: string, channel: number): number {
  const t = transform === 'zoom@1.50' ? 'zoomIn' : transform; // the sweep's 1.5 is S
  return Math.fround(Math.round((mulberry32(hash(image, t, tap, channel))() * 3 - 1) * 64) / 64);
}

const channelsOf = (tap: string) => tapShape(tap, 1, 224, 224)[1];

function fakeEngine(options: { failAfter?: number } = {}) {
  const calls: { images: number[]; transform: Transform; taps: string[] }[] = [];
  const forward: ForwardCentres = async (images, transform, taps) => {
    if (options.failAfter !== undefined && calls.length >= options.failAfter) throw new Error('simulated crash');
    calls.push({ images: images.map((i) => i.index), transform, taps });
    const out = new Map<string, Float32Array>();
    for (const tap of taps) {
      const C = channelsOf(tap);
      const v = new Float32Array(images.length * C);
      images.forEach((img, j) => {
        for (let c = 0; c < C; c++) v[j * C + c] = fakeValue(img.index, transform, tap, c);
      });
      out.set(tap, v);
    }
    return out;
  };
  return { forward, calls };
}

const N = 37;
const images: ImageRef[] = Array.from({ length: N }, (_, i) => ({ index: i, name: `img_${String(i).padStart(3, '0')}.JPEG` }));
const BLOCKS = ['2.0', '1.1'];
const K = 4;
const base = { images, blocks: BLOCKS, topK: K, batchSize: 6, now: () => new Date('2025-01-02T03:04:05Z'), meta: { weights: 'synthetic' } };

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const meanRelu = (xs: number[]) => mean(xs.map((x) => Math.max(0, x)));

describe('runDatasetAnalysis on a synthetic engine', () => {
  it('equals a brute-force recomputation of every per-channel value', async () => {
    const { forward, calls } = fakeEngine();
    const a = await runDatasetAnalysis({ ...base, forwardCentres: forward });
    expect(a.blocks.map((b) => b.block)).toEqual(['1.1', '2.0']); // forward order
    expect(calls.every((c) => c.images.length <= 6)).toBe(true);
    expect(new Set(calls.map((c) => c.transform))).toEqual(new Set(['none', 'zoomIn', 'zoomOut']));
    let checked = 0;
    for (const b of a.blocks) {
      const ro = readoutsFor(b.block);
      expect(b).toMatchObject({ input: ro.input, branch: ro.branch, output: ro.output });
      expect(b.channels.length).toBe(ro.channels);
      for (const ch of b.channels) {
        const c = ch.channel;
        const col = (tap: string) => images.map((img) => fakeValue(img.index, 'none', tap, c));
        const iStar = topKBruteForce(col(ro.input), K);
        const bStar = topKBruteForce(col(ro.branch), K);
        const oStar = topKBruteForce(col(ro.output), K);
        const v = (imgs: number[], t: Transform, tap: string) => imgs.map((i) => fakeValue(i, t, tap, c));
        const m = mixRatio(mean(v(iStar, 'none', ro.output)), mean(v(bStar, 'none', ro.output)));
        const smB = scaleBranch(meanRelu(v(iStar, 'zoomIn', ro.branch)), meanRelu(v(iStar, 'none', ro.branch)), mean(v(bStar, 'none', ro.branch)));
        const smI = scaleInput(meanRelu(v(bStar, 'zoomOut', ro.input)), meanRelu(v(bStar, 'none', ro.input)), mean(v(iStar, 'none', ro.input)));
        expect(ch.probes.input).toEqual(iStar.map((i) => images[i].name));
        expect(ch.probes.branch).toEqual(bStar.map((i) => images[i].name));
        expect(ch.probes.output).toEqual(oStar.map((i) => images[i].name));
        expect(ch.mix).toBe(m);
        expect(ch.category).toBe(category(m));
        expect(ch.scaleBranch).toBe(smB);
        expect(ch.scaleInput).toBe(smI);
        expect(ch.scaleInvariant).toBe(scaleInvariant(m, smB, smI));
        expect(ch.readouts.branchOnInput).toBe(mean(v(iStar, 'none', ro.branch)));
        expect(ch.tuningRho === null || (ch.tuningRho >= -1 && ch.tuningRho <= 1)).toBe(true);
        checked++;
      }
      const f = b.summary.fractions;
      expect(f.scaleInvariant).toBe(b.channels.filter((c) => c.scaleInvariant).length);
      expect(b.summary.histogram.counts.reduce((x, y) => x + y, 0) + b.summary.histogram.undefined).toBe(b.channels.length);
    }
    expect(checked).toBe(64 + 128);
    // The synthetic data exercises the special cases, so they are tested end to end too.
    const all = a.blocks.flatMap((b) => b.channels);
    expect(all.some((c) => c.mixCase === 'ratio')).toBe(true);
    expect(all.some((c) => c.mixCase !== 'ratio')).toBe(true);
    expect(a.meta).toMatchObject({ probes: 'dataset', topK: K, images: N, weights: 'synthetic' });
    expect(a.meta.date).toBeUndefined(); // the start date is in run.json: analysis.json must not vary between runs
    expect(JSON.parse(analysisToJson(a))).toEqual(JSON.parse(JSON.stringify(a)));
  });

  it('needs no tuning curves for the metrics (an extra pass over the probe images replaces them)', async () => {
    const full = await runDatasetAnalysis({ ...base, forwardCentres: fakeEngine().forward });
    const lean = await runDatasetAnalysis({ ...base, keepTuningCurves: false, forwardCentres: fakeEngine().forward });
    for (let b = 0; b < full.blocks.length; b++) {
      const strip = (x: typeof full) => x.blocks[b].channels.map((c) => ({ ...c, tuningRho: null, tuningP: null, tuningImages: null }));
      expect(strip(lean)).toEqual(strip(full));
      expect(lean.blocks[b].summary.secondary.tuningVsMix).toBeNull();
    }
  });

  it('resumes an interrupted run from its journal to a byte-identical analysis.json, redoing no batch', async () => {
    const clean = analysisToJson(await runDatasetAnalysis({ ...base, forwardCentres: fakeEngine().forward, journal: new MemoryJournal() }));
    const total = fakeEngine();
    await runDatasetAnalysis({ ...base, forwardCentres: total.forward });
    const journal = new MemoryJournal();
    const crashing = fakeEngine({ failAfter: 9 }); // 7 stream batches done, crashes in the zoomIn phase's 3rd
    await expect(runDatasetAnalysis({ ...base, forwardCentres: crashing.forward, journal })).rejects.toThrow('simulated crash');
    // The journal survives as JSON (the run's state) and resumes from there, with a later clock.
    const restored = MemoryJournal.fromJSON(JSON.stringify(journal.state));
    const resumed = fakeEngine();
    const again = await runDatasetAnalysis({ ...base, now: () => new Date(), forwardCentres: resumed.forward, journal: restored });
    expect(analysisToJson(again)).toBe(clean);
    expect(resumed.calls.length).toBe(total.calls.length - 9);
    // A finished run replays entirely from its journal.
    const none = fakeEngine();
    expect(analysisToJson(await runDatasetAnalysis({ ...base, forwardCentres: none.forward, journal: restored }))).toBe(clean);
    expect(none.calls.length).toBe(0);
  });

  it('stops between batches when aborted, and resumes', async () => {
    const journal = new MemoryJournal();
    const controller = new AbortController();
    const engine = fakeEngine();
    const run = runDatasetAnalysis({
      ...base, forwardCentres: engine.forward, journal, signal: controller.signal,
      onProgress: (p) => { if (p.phase === 'stream' && p.batch === 3) controller.abort(); },
    });
    await expect(run).rejects.toThrow(/abort/i);
    expect(engine.calls.length).toBe(3);
    const clean = analysisToJson(await runDatasetAnalysis({ ...base, forwardCentres: fakeEngine().forward }));
    expect(analysisToJson(await runDatasetAnalysis({ ...base, forwardCentres: fakeEngine().forward, journal }))).toBe(clean);
  });

  it('refuses a journal of a different run', async () => {
    const journal = new MemoryJournal();
    await runDatasetAnalysis({ ...base, forwardCentres: fakeEngine().forward, journal });
    await expect(runDatasetAnalysis({ ...base, topK: 5, forwardCentres: fakeEngine().forward, journal })).rejects.toThrow(JournalMismatchError);
    await expect(runDatasetAnalysis({ ...base, topK: 5, forwardCentres: fakeEngine().forward, journal })).rejects.toThrow(/topK: journal 4, now 5/);
  });

  it('runs the zoom sweep; its factor 1.5 is S, so SM_B there equals SM_B', async () => {
    const a = await runDatasetAnalysis({ ...base, blocks: ['1.1'], zoomFactors: [1, 1.5], forwardCentres: fakeEngine().forward });
    const b = a.blocks[0];
    for (const ch of b.channels) {
      expect(ch.sweep?.map((p) => p.factor)).toEqual([1, 1.5]);
      expect(ch.sweep?.[1].scaleBranch).toBe(ch.scaleBranch);
    }
    expect(b.summary.sweep?.length).toBe(2);
  });

  it('checks what the engine returns', async () => {
    const bad: ForwardCentres = async (imgs, _t, taps) => new Map(taps.map((t) => [t, new Float32Array(imgs.length)]));
    await expect(runDatasetAnalysis({ ...base, forwardCentres: bad })).rejects.toThrow(/expected/);
    await expect(runDatasetAnalysis({ ...base, images: [{ index: 1, name: 'x' }], forwardCentres: bad })).rejects.toThrow(/index/);
  });

  it('reports skipped blocks and passes metadata through', async () => {
    const a = await runDatasetAnalysis({
      ...base, blocks: ['1.1'], forwardCentres: fakeEngine().forward,
      skipped: [{ block: '4.0', reason: 'checkpoint lacks layer4.0.conv1.weight' }],
    });
    expect(a.skipped).toEqual([{ block: '4.0', reason: 'checkpoint lacks layer4.0.conv1.weight' }]);
    // A requested block that is also skipped is not analysed.
    const b = await runDatasetAnalysis({ ...base, blocks: ['1.1', '2.0'], skipped: [{ block: '2.0', reason: 'x' }], forwardCentres: fakeEngine().forward });
    expect(b.blocks.map((x) => x.block)).toEqual(['1.1']);
  });
});

describe('file journal', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('stores JSON lines and drops a line cut short by a crash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'resnet-stream-journal-'));
    dirs.push(dir);
    const path = join(dir, 'journal.jsonl');
    const opts = { ...base, blocks: ['1.1'] };
    const clean = analysisToJson(await runDatasetAnalysis({ ...opts, forwardCentres: fakeEngine().forward }));
    await expect(runDatasetAnalysis({ ...opts, forwardCentres: fakeEngine({ failAfter: 5 }).forward, journal: new FileJournal(path) })).rejects.toThrow('simulated crash');
    const text = await readFile(path, 'utf8');
    expect(text.trim().split('\n').length).toBe(6); // header + 5 batches
    await writeFile(path, `${text}{"type":"batch","key":"stream/5","transfo`); // a write cut short
    const resumed = fakeEngine();
    const again = await runDatasetAnalysis({ ...opts, forwardCentres: resumed.forward, journal: new FileJournal(path) });
    expect(analysisToJson(again)).toBe(clean);
    expect(resumed.calls[0].images[0]).toBe(30); // batch 5 of the stream, redone
  });
});

describe('journal encoding', () => {
  it('round-trips float32 exactly, NaN and signed zero included', () => {
    const v = new Float32Array([1.5, -0, NaN, 3.4028234663852886e38, 1e-45, -7.25]);
    const back = decodeFloat32(encodeFloat32(v));
    expect(new Uint8Array(back.buffer)).toEqual(new Uint8Array(v.buffer));
    expect(decodeFloat32(encodeFloat32(new Float32Array(0))).length).toBe(0);
  });
});

// ---- the core on hand-built measurements

function responses(over: Partial<ChannelResponses>): ChannelResponses {
  return {
    inputOnInput: [2], inputOnBranch: [1], inputOnZoomedOutBranch: [1.5],
    branchOnInput: [1], branchOnBranch: [2], branchOnZoomedInput: [2],
    outputOnInput: [2], outputOnBranch: [2],
    ...over,
  };
}

function measurements(list: ChannelResponses[], extra: Partial<BlockMeasurements> = {}): BlockMeasurements {
  const channels = list.length;
  const names = list.map((_, c) => [`p${c}.png`]);
  return {
    readouts: { ...readoutsFor('1.1'), channels },
    probes: { input: names, branch: names, output: names },
    responses: list,
    ...extra,
  };
}

describe('analyzeBlock on hand-built activations', () => {
  it('handles every special case of METHOD.md', () => {
    const r = analyzeBlock(measurements([
      responses({}), // M = 1, SM_B = (2 - 1) / 2, SM_I = (1.5 - 1) / 2: scale invariant
      responses({ outputOnBranch: [0] }), // M = 10
      responses({ outputOnInput: [-1] }), // M = 0
      responses({ outputOnInput: [0], outputOnBranch: [-1] }), // M undefined
      responses({ branchOnBranch: [0] }), // SM_B undefined
      responses({ inputOnInput: [-2] }), // SM_I undefined
      responses({ outputOnInput: [3], outputOnBranch: [2] }), // M = 1.5 exactly: skip, not invariant
      responses({ outputOnInput: [2], outputOnBranch: [3] }), // M = 2/3 exactly: overwrite, not invariant
      // relu per image before the mean: B on S(I*) = [3, -3] -> relu mean 1.5, B on I* = [1, -1] -> 0.5
      responses({ branchOnZoomedInput: [3, -3], branchOnInput: [1, -1], branchOnBranch: [2, 2] }),
    ]));
    const ch = r.channels;
    expect(ch[0]).toMatchObject({ mix: 1, category: 'mixture', scaleBranch: 0.5, scaleInput: 0.25, scaleInvariant: true, noMix: true, mixCase: 'ratio', side: 'skip' });
    expect(ch[1]).toMatchObject({ mix: 10, category: 'skip', mixCase: 'pure-skip', scaleInvariant: false, noMix: true });
    expect(ch[2]).toMatchObject({ mix: 0, category: 'overwrite', mixCase: 'pure-overwrite', side: 'overwrite' });
    expect(ch[3]).toMatchObject({ mix: null, category: null, side: null, mixCase: 'undefined', scaleInvariant: false });
    expect(ch[4]).toMatchObject({ scaleBranch: null, scaleInvariant: false, noMix: false });
    expect(ch[5]).toMatchObject({ scaleInput: null, scaleInvariant: false });
    expect(ch[6]).toMatchObject({ mix: 1.5, category: 'skip', scaleInvariant: false, noMix: true });
    expect(ch[7]).toMatchObject({ mix: 2 / 3, category: 'overwrite', scaleInvariant: false });
    expect(ch[8].scaleBranch).toBe((1.5 - 0.5) / 2);
    expect(ch[8].readouts.branchOnInput).toBe(0); // the plain mean keeps the sign
    expect(r.summary.undefinedMix).toEqual([3]);
    expect(r.summary.notes.some((n) => n.includes('M undefined') && n.includes('3'))).toBe(true);
    expect(r.summary.topScaleInvariant).toEqual([0, 8]); // both SI; ch 0 sum 0.75, ch 8 sum 0.5 + 0.25
    expect(r.summary.fractions.scaleInvariant).toBe(2);
    expect(JSON.parse(JSON.stringify(r)).channels[3].mix).toBeNull();
  });

  it('computes the secondary statistics and flags folded BatchNorm', () => {
    const list = Array.from({ length: 6 }, (_, c) => responses({ outputOnInput: [c + 1], outputOnBranch: [3], branchOnInput: [c] }));
    const gamma = new Float32Array(6).fill(1);
    const weight = Float32Array.from({ length: 6 * 4 }, (_, i) => (i % 2 ? -1 : 1) * Math.floor(i / 4));
    const r = analyzeBlock(measurements(list, { params: { bn2Gamma: gamma, conv2Weight: weight } }));
    expect(r.channels.map((c) => c.conv2MeanAbsWeight)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(r.summary.secondary.gammaVsMix?.note).toBe(GAMMA_FOLDED_NOTE);
    expect(r.summary.secondary.gammaVsMix?.spearman.rho).toBeNull(); // constant
    expect(r.summary.secondary.weightVsMix?.spearman.rho).toBe(1); // mean |W| rises with M
    const anova = r.summary.secondary.branchOnInputVsMix;
    expect(anova.groups.map((g) => g.n)).toEqual([4, 2]); // M = 1, 4/3, 5/3, 2 vs 1/3, 2/3
    expect(anova.F).not.toBeNull();
    expect(r.summary.secondary.tuningVsMix).toBeNull();
    const real = analyzeBlock(measurements(list, { params: { bn2Gamma: Float32Array.from([1, 2, 3, 4, 5, 6]) } }));
    expect(real.summary.secondary.gammaVsMix).toMatchObject({ note: null, spearman: { rho: 1 } });
  });

  it('takes parameters from a state dict', () => {
    const tensors = new Map([['layer1.1.bn2.weight', { data: new Float32Array([1, 2]) }]]);
    const p = blockParamsFrom(tensors, '1.1');
    expect(Array.from(p.bn2Gamma ?? [])).toEqual([1, 2]);
    expect(p.conv2Weight).toBeUndefined();
  });
});
