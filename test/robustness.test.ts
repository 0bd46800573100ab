// The robustness experiment (the follow-up's ablation under zoom): its pure parts on hand-built
// data, then `resnet-stream robustness` (dist/cli.js) on a full synthetic checkpoint with a few
// tiny generated PNGs and a hand-made analysis.json, its numbers recomputed independently with the
// engine (exactly) and the float64 reference (top-1 where the logits are not near a tie), and its
// refusal of partial checkpoints.

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseLabelMap, resolveLabels, wnidOf } from '../src/analysis/labels';
import {
  ChannelMeans, type RobustnessJson, accuracyCount, countCorrect, formatRobustnessTable, meanSd,
  randomChannelSets, runRobustness, sampleWithoutReplacement, scaleInvariantChannels, top1, trialSeed,
} from '../src/analysis/robustness';
import type { Ablation } from '../src/model/planner';
import { ResNetEngine } from '../src/model/engine';
import { type AdapterChoice, defaultCpuAdapter } from '../src/gpu/node';
import { decodeImageFile } from '../src/image/decode-node';
import { stackBatch, torchvisionZoomEval } from '../src/image/transforms';
import { encodePng } from '../src/image/png';
import { listImages, listLabelledImages } from '../src/cli/images-node';
import { writePth } from '../src/weights/pth-writer';
import { randomWeights } from '../src/weights/random';
import { mulberry32, normalSource } from '../src/util/random';
import type { HostTensor } from '../src/weights/safetensors';
import { makeRng, testContext } from './helpers/gpu';
import { PARTIAL_WEIGHTS, sharedMissing } from './helpers/shared';
import { referenceForward } from './reference/resnet';
import { type CliResult, runCliCommand } from './helpers/cli';

// =============================================================================================
// Pure parts

describe('labels', () => {
  it('reads WordNet ids from file names', () => {
    expect(wnidOf('n01440764_tench.JPEG')).toBe('n01440764');
    expect(wnidOf('n01440764.png')).toBe('n01440764');
    expect(wnidOf('n014407641_x.png')).toBeNull();
    expect(wnidOf('tench.png')).toBeNull();
    expect(wnidOf('x_n01440764.png')).toBeNull();
  });

  it('parses every --labels form', () => {
    const expected = new Map([['n01440764', 0], ['n01443537', 1]]);
    expect(parseLabelMap('{"n01440764": 0, "n01443537": "1"}', 'a.json')).toEqual(expected);
    expect(parseLabelMap('{"0": ["n01440764", "tench"], "1": ["n01443537", "goldfish"]}', 'keras.json')).toEqual(expected);
    expect(parseLabelMap('["n01440764", "n01443537"]', 'list.json')).toEqual(expected);
    expect(parseLabelMap('[{"index": 0, "wnid": "n01440764", "file": "n01440764_tench.JPEG"}, {"index": 1, "wnid": "n01443537"}]', 'c.json'))
      .toEqual(new Map([['n01440764', 0], ['n01440764_tench.JPEG', 0], ['n01443537', 1]]));
    expect(parseLabelMap('# comment\nn01440764,0\n\nn01443537\t1\n', 'a.csv')).toEqual(expected);
    expect(parseLabelMap('index,wnid,name\n0,n01440764,tench\n1,n01443537,goldfish\n', 'h.csv')).toEqual(expected);
    expect(parseLabelMap('file,index\nphoto.jpg,999\n', 'f.csv')).toEqual(new Map([['photo.jpg', 999]]));
  });

  it('refuses bad label files with one line naming the place', () => {
    expect(() => parseLabelMap('{"n01440764": 1000}', 'a.json')).toThrow(/a\.json "n01440764": 1000 is not a class index 0\.\.999/);
    expect(() => parseLabelMap('{"n01440764": 0', 'a.json')).toThrow(/a\.json: not valid JSON/);
    expect(() => parseLabelMap('n01440764,zero', 'a.csv')).toThrow(/a\.csv:1: "zero" is not a class index/);
    expect(() => parseLabelMap('n01440764', 'a.csv')).toThrow(/a\.csv:1: expected 'key,index'/);
    expect(() => parseLabelMap('n01440764,0\nn01440764,1', 'a.csv')).toThrow(/'n01440764' maps to both 0 and 1/);
    expect(() => parseLabelMap('index,name\n0,tench', 'h.csv')).toThrow(/neither 'wnid' nor 'file'/);
    expect(() => parseLabelMap('   ', 'e.csv')).toThrow(/no labels/);
  });

  it('labels images from the list, the file name, the WordNet id, or ranks over 1000 classes', () => {
    const map = new Map([['n01440764', 0], ['special.png', 42], ['goldfish', 1]]);
    const r = resolveLabels([
      { name: 'n01440764_a.png' }, { name: 'special.png' }, { name: 'x.png', label: '7' }, { name: 'y.png', label: 'goldfish' },
    ], map);
    expect(r.labels).toEqual([0, 42, 7, 1]);
    expect(r.how).toBe('2 from the image list, 2 from --labels');
    expect(() => resolveLabels([{ name: 'n09999999_z.png' }], map)).toThrow(/no label for n09999999_z\.png \(neither its file name nor its WordNet id is in --labels\)/);
    expect(() => resolveLabels([{ name: 'x.png', label: 'carp' }], map)).toThrow(/label 'carp' of x\.png is not a class index nor a key of --labels/);
    expect(() => resolveLabels([{ name: 'x.png', label: '1000' }], null)).toThrow(/not a class index/);
    expect(() => resolveLabels([{ name: 'tench.png' }], null)).toThrow(/does not start with a WordNet id.*--labels FILE/);
    expect(() => resolveLabels([{ name: 'n01440764_a.png' }], null)).toThrow(/only when the set covers all 1000 classes/);
    // 1000 distinct ids (in any order): the rank is torchvision's class index.
    const ids = Array.from({ length: 1000 }, (_, i) => `n${String(10000000 + 37 * i).padStart(8, '0')}`);
    const shuffled = [...ids].reverse().map((id) => ({ name: `${id}_img.JPEG` }));
    const ranked = resolveLabels([...shuffled, { name: `${ids[5]}_second.JPEG` }], null);
    expect(ranked.labels.slice(0, 3)).toEqual([999, 998, 997]);
    expect(ranked.labels[1000]).toBe(5);
    expect(ranked.how).toBe('1001 from WordNet ids ranked over 1000 classes');
    // ImageFolder: the class folder is the key (looked up in the map, or ranked over 1000 folders).
    expect(resolveLabels([{ name: 'ILSVRC2012_val_1.JPEG', folder: 'n01440764' }], map).labels).toEqual([0]);
    const folders = resolveLabels(ids.map((id, i) => ({ name: `val_${i}.JPEG`, folder: id })), null);
    expect(folders.labels.slice(0, 3)).toEqual([0, 1, 2]);
    expect(folders.how).toBe('1000 from class folders ranked over 1000 classes');
    expect(() => resolveLabels([{ name: 'val_1.JPEG', folder: 'cats' }], null)).toThrow(/a class folder alone gives the class index only when/);
  });

  it('reads an image list with labels and the ImageFolder layout', () => {
    const root = mkdtempSync(join(tmpdir(), 'resnet-stream-folders-'));
    for (const [d, f] of [['n02', 'b.png'], ['n01', 'z.jpg'], ['n01', 'a.JPEG'], ['n01', 'notes.txt']]) {
      mkdirSync(join(root, 'set', d), { recursive: true });
      writeFileSync(join(root, 'set', d, f), '');
    }
    expect(listLabelledImages(join(root, 'set'))).toEqual([
      { path: join(root, 'set', 'n01', 'a.JPEG'), folder: 'n01' },
      { path: join(root, 'set', 'n01', 'z.jpg'), folder: 'n01' },
      { path: join(root, 'set', 'n02', 'b.png'), folder: 'n02' },
    ]);
    // A flat folder is read as before; a list may carry labels after a TAB.
    expect(listLabelledImages(join(root, 'set', 'n01'))).toEqual([{ path: join(root, 'set', 'n01', 'a.JPEG') }, { path: join(root, 'set', 'n01', 'z.jpg') }]);
    writeFileSync(join(root, 'list.txt'), '# images\nset/n01/a.JPEG\t7\n\nset/n02/b.png\n/abs/c.png\tn01440764 \n');
    expect(listLabelledImages(join(root, 'list.txt'))).toEqual([
      { path: join(root, 'set', 'n01', 'a.JPEG'), label: '7' }, { path: join(root, 'set', 'n02', 'b.png') }, { path: '/abs/c.png', label: 'n01440764' },
    ]);
    // analyze's reading of the same list is unchanged: the whole line is the path.
    expect(listImages(join(root, 'list.txt'))[0]).toBe(join(root, 'set', 'n01', 'a.JPEG\t7'));
  });
});

describe('channel choice', () => {
  it('takes the scale-invariant channels from an analysis block', () => {
    expect(scaleInvariantChannels({ channels: [
      { channel: 3, scaleInvariant: true }, { channel: 0, scaleInvariant: false }, { channel: 1, scaleInvariant: true },
    ] })).toEqual([1, 3]);
  });

  it('draws distinct channels uniformly, without excluding any', () => {
    const rng = mulberry32(123);
    expect(sampleWithoutReplacement(rng, 10, 0)).toEqual([]);
    expect(sampleWithoutReplacement(rng, 10, 10)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(() => sampleWithoutReplacement(rng, 10, 11)).toThrow(/cannot draw 11 of 10/);
    expect(() => sampleWithoutReplacement(rng, 10, -1)).toThrow(/cannot draw/);
    const total = 16;
    const k = 5;
    const draws = 4000;
    const seen = new Array<number>(total).fill(0);
    for (let t = 0; t < draws; t++) {
      const s = sampleWithoutReplacement(rng, total, k);
      expect(s.length).toBe(k);
      expect(new Set(s).size).toBe(k);
      expect(s).toEqual([...s].sort((a, b) => a - b));
      for (const c of s) {
        expect(c >= 0 && c < total).toBe(true);
        seen[c]++;
      }
    }
    // Each channel is in a draw with probability k / total (binomial sd about 31 here): within 5 sd.
    const expected = (draws * k) / total;
    const sd = Math.sqrt(draws * (k / total) * (1 - k / total));
    for (const n of seen) expect(Math.abs(n - expected)).toBeLessThan(5 * sd);
  });

  it('gives each block its own reproducible trials, depending on the seed and block only', () => {
    const a = randomChannelSets(7, '3.1', 256, 46, 10);
    expect(a.length).toBe(10);
    expect(randomChannelSets(7, '3.1', 256, 46, 10)).toEqual(a);
    expect(randomChannelSets(7, '3.1', 256, 46, 3)).toEqual(a.slice(0, 3));
    expect(randomChannelSets(8, '3.1', 256, 46, 10)).not.toEqual(a);
    expect(randomChannelSets(7, '2.1', 256, 46, 10)).not.toEqual(a);
    expect(trialSeed(7, '3.1')).not.toBe(trialSeed(7, '2.1'));
    for (const s of a) expect(new Set(s).size).toBe(46);
    // Nothing is excluded: over enough trials every channel turns up (the SI ones included).
    const union = new Set(randomChannelSets(1, '2.1', 128, 23, 200).flat());
    expect(union.size).toBe(128);
  });
});

describe('means and accuracy bookkeeping', () => {
  it('averages relu(x) per channel over images and positions', () => {
    const m = new ChannelMeans(2);
    // [1, 2, 2, 2]: channel 0 = [1, -3, 2, 5], channel 1 = [-1, -1, -1, -1]
    m.add({ shape: [1, 2, 2, 2], data: Float32Array.from([1, -3, 2, 5, -1, -1, -1, -1]) });
    // [2, 2, 1, 2]
    m.add({ shape: [2, 2, 1, 2], data: Float32Array.from([0, 4, 2, 0, 0.5, 0.5, -2, 6]) });
    // channel 0: (1 + 0 + 2 + 5 + 0 + 4 + 0.5 + 0.5) / 8; channel 1: (0 * 4 + 2 + 0 + 0 + 6) / 8
    expect(m.means()).toEqual([Math.fround(13 / 8), Math.fround(8 / 8)]);
    expect(() => m.add({ shape: [1, 3, 1, 1], data: new Float32Array(3) })).toThrow(/expected \[N, 2, H, W\]/);
    expect(() => new ChannelMeans(2).means()).toThrow(/no activations/);
  });

  it('counts top-1 hits, first index on ties; mean and sample sd', () => {
    expect(top1(Float32Array.from([0, 3, 3, 1, /* */ -5, -4, -9, -4]), 2)).toEqual([1, 1]);
    expect(() => top1(new Float32Array(7), 2)).toThrow(/do not split/);
    expect(countCorrect([1, 2, 3], [1, 0, 3])).toBe(2);
    expect(() => countCorrect([1], [1, 2])).toThrow();
    expect(accuracyCount(3, 4)).toEqual({ correct: 3, total: 4, accuracy: 0.75 });
    expect(meanSd([0.5])).toEqual({ mean: 0.5, sd: null });
    const { mean, sd } = meanSd([0.5, 0.7, 0.6]);
    expect(mean).toBeCloseTo(0.6, 15);
    expect(sd).toBeCloseTo(0.1, 15);
  });

  it('runRobustness: configurations, counts, means passed as values, empty ablations reuse the baseline', async () => {
    // A fake network: 'image' i is a batch row holding [i]; its prediction is i, minus 1 per ablated
    // channel below 4, plus 100 * zoom index; labels make the baseline right at zoom index 0 only.
    const images = [0, 1, 2, 3, 4];
    const labels = images;
    const prepared: { images: number[]; zooms: number[] }[] = [];
    const calls: { ablations: Ablation[]; taps: string[] }[] = [];
    const zooms = [1.1, 1.5];
    const result = await runRobustness({
      images,
      labels,
      blocks: [
        { block: '3.1', readout: 'layer3.1', width: 8, scaleInvariant: [1, 2] },
        { block: '2.1', readout: 'layer2.1.sum', width: 8, scaleInvariant: [] },
      ],
      mode: 'mean',
      zooms,
      trials: 4,
      seed: 3,
      batchSize: 2,
      prepare: (batch, zs) => {
        prepared.push({ images: [...batch], zooms: [...zs] });
        return zs.map((z) => ({ shape: [batch.length, 1, 1, 2], data: Float32Array.from(batch.flatMap((i) => [i, zooms.indexOf(z)])) }));
      },
      forward: async (input, taps, ablations) => {
        calls.push({ ablations, taps });
        const n = input.shape[0];
        const out = new Map<string, HostTensor>();
        for (const t of taps) {
          if (t === 'fc') {
            const logits = new Float32Array(n * 1000);
            for (let b = 0; b < n; b++) {
              const [i, z] = [input.data[2 * b], input.data[2 * b + 1]];
              const drop = ablations.flatMap((a) => a.channels).filter((c) => c < 4).length;
              logits[b * 1000 + ((i - drop + 1000) % 1000) + (z === -1 ? 0 : 100 * z)] = 1;
            }
            out.set(t, { shape: [n, 1000], data: logits });
          } else {
            // Readout: channel c of image i holds i - c at both positions (relu'd by the means).
            const data = new Float32Array(n * 8 * 2);
            for (let b = 0; b < n; b++) for (let c = 0; c < 8; c++) data.fill(input.data[2 * b] - c, (b * 8 + c) * 2, (b * 8 + c + 1) * 2);
            out.set(t, { shape: [n, 8, 1, 2], data });
          }
        }
        return out;
      },
      keepPredictions: true,
      now: () => new Date('2025-01-01T00:00:00Z'),
    });
    // Means pass: unzoomed, once per batch, both readouts in one forward, no ablation.
    expect(prepared.slice(0, 3)).toEqual([{ images: [0, 1], zooms: [1] }, { images: [2, 3], zooms: [1] }, { images: [4], zooms: [1] }]);
    expect(calls.slice(0, 3).every((c) => c.taps.join() === 'layer3.1,layer2.1.sum' && !c.ablations.length)).toBe(true);
    // Then every zoom prepared once per batch.
    expect(prepared.slice(3)).toEqual([{ images: [0, 1], zooms }, { images: [2, 3], zooms }, { images: [4], zooms }]);
    // mean of relu(i - c) over i = 0..4: c = 0 -> 2, c = 1 -> 1.2, c = 2 -> 0.6
    const b31 = result.blocks[0];
    expect(b31.means!.slice(0, 3)).toEqual([2, 1.2, 0.6].map(Math.fround));
    // The SI configuration ablates [1, 2] with their means.
    const siCall = calls.find((c) => c.ablations[0]?.channels.join() === '1,2')!;
    expect(siCall.ablations).toEqual([{ tap: 'layer3.1', channels: [1, 2], values: [Math.fround(1.2), Math.fround(0.6)] }]);
    // Runs: baseline + SI + 4 trials of block 3.1; block 2.1's empty ablations reuse the baseline.
    const fcCalls = calls.filter((c) => c.taps.join() === 'fc');
    expect(fcCalls.length).toBe(3 * 2 * 6);
    // Baseline: predictions right at zoom 1.1 (index 0), all wrong at 1.5 (+100).
    expect(result.baseline).toEqual([{ zoom: 1.1, correct: 5, total: 5, accuracy: 1 }, { zoom: 1.5, correct: 0, total: 5, accuracy: 0 }]);
    expect(b31.zooms[0].scaleInvariant).toEqual({ correct: 0, total: 5, accuracy: 0 });
    expect(b31.randomChannels).toEqual(randomChannelSets(3, '3.1', 8, 2, 4));
    expect(b31.zooms[0].predictions!.baseline).toEqual([0, 1, 2, 3, 4]);
    expect(b31.zooms[1].predictions!.baseline).toEqual([100, 101, 102, 103, 104]);
    expect(b31.zooms[0].predictions!.scaleInvariant).toEqual([998, 999, 0, 1, 2]);
    expect(b31.zooms[1].predictions!.random.length).toBe(4);
    const expectedRandom = b31.randomChannels.map((chs) => (chs.some((c) => c < 4) ? 0 : 5));
    expect(b31.zooms[0].random.correct).toEqual(expectedRandom);
    expect(b31.zooms[0].random.mean).toBeCloseTo(meanSd(expectedRandom.map((c) => c / 5)).mean, 15);
    const b21 = result.blocks[1];
    expect(b21.count).toBe(0);
    expect(b21.zooms.map((z) => z.scaleInvariant.correct)).toEqual([5, 0]);
    expect(b21.zooms[0].random).toEqual({ mean: 1, sd: 0, accuracies: [1, 1, 1, 1], correct: [5, 5, 5, 5] });
    expect(result.meta).toMatchObject({ mode: 'mean', zooms, trials: 4, seed: 3, images: 5, batchSize: 2, date: '2025-01-01T00:00:00.000Z' });
    const table = formatRobustnessTable(result);
    expect(table).toMatch(/block 3\.1: 2 of 8 channels of layer3\.1 scale-invariant; mean-ablation; 5 images/);
    expect(table).toMatch(/1\.10\s+100\.00%\s+0\.00%/);
  });

  it('runRobustness refuses inconsistent options', async () => {
    const base = {
      images: [0], labels: [0], blocks: [{ block: '3.1', readout: 'layer3.1', width: 4, scaleInvariant: [1] }],
      mode: 'zero' as const, zooms: [1.2], trials: 2, seed: 0, batchSize: 1,
      prepare: () => [], forward: async () => new Map(),
    };
    await expect(runRobustness({ ...base, labels: [] })).rejects.toThrow(/1 images but 0 labels/);
    await expect(runRobustness({ ...base, zooms: [2] })).rejects.toThrow(/outside \[1, 2\)/);
    await expect(runRobustness({ ...base, trials: 0 })).rejects.toThrow(/trials must be a positive integer/);
    await expect(runRobustness({ ...base, blocks: [{ ...base.blocks[0], scaleInvariant: [4] }] })).rejects.toThrow(/channel 4 is outside layer3\.1's 0\.\.3/);
  });
});

// =============================================================================================
// The command line on a full synthetic checkpoint

const exec = promisify(execFile);
const CLI = resolve(__dirname, '../dist/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'resnet-stream-robustness-'));

/** The CLI runs on the adapter the test's own engine uses, so their float32 results are the same bits. */
const ADAPTER = (process.env.RESNET_STREAM_ADAPTER as AdapterChoice | undefined) ?? defaultCpuAdapter();

function cli(args: string[]): Promise<CliResult> {
  return runCliCommand([...args, '--adapter', ADAPTER], 120_000);
}

/** stderr without Dawn's driver warnings and the adapter line. */
function ownLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l && !l.startsWith('Warning: maxDynamic') && !l.startsWith('adapter: '));
}

const SEED = 21;
const CROP = 48;
const RESIZE = 55; // round(48 * 256 / 224), what --crop 48 implies
const WNIDS = ['n01440764', 'n01443537', 'n01484850', 'n01491361'];
const SI_31 = [3, 17, 64, 100, 101, 180, 255];
const SI_21 = [0, 9, 77];
const images = WNIDS.map((w, i) => join(dir, 'images', `${w}_img${i}.png`));
/** randomWeights(SEED) with the classifier replaced in beforeAll (see there). */
const weights = randomWeights(SEED);
const pth = join(dir, 'full.pth');
const analysisDir = join(dir, 'analysis');

/** A smooth 70 x 60 picture: gradients and a few sinusoids with random parameters. */
function picture(seed: number): Uint8Array {
  const rng = makeRng(seed);
  const [w, h] = [70, 60];
  const data = new Uint8Array(w * h * 3);
  const p = Array.from({ length: 12 }, () => rng());
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        const v = 128 + 90 * Math.sin((x * p[c] + y * p[c + 3]) * 0.4 + p[c + 6] * 6) + 30 * (x / w - p[c + 9]);
        data[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return encodePng({ width: w, height: h, data });
}

function analysisJson(): unknown {
  const channels = (n: number, si: number[]) => Array.from({ length: n }, (_, c) => ({
    channel: c, mix: 1, category: 'mixture', scaleBranch: 0.1, scaleInput: 0.1, scaleInvariant: si.includes(c), probes: { input: [], branch: [], output: [] },
  }));
  return {
    version: 1,
    meta: { weights: 'elsewhere.pth', variant: 'mixed' },
    skipped: [{ block: '4.0', reason: 'checkpoint lacks layer4.0.conv1.weight' }],
    blocks: [
      { block: '2.1', input: 'layer2.0.sum', branch: 'layer2.1.bn2', output: 'layer2.1.sum', variant: 'pre-relu', channels: channels(128, SI_21) },
      { block: '3.1', input: 'layer3.0', branch: 'layer3.1.bn2', output: 'layer3.1', variant: 'post-relu', channels: channels(256, SI_31) },
    ],
  };
}

/** The network input of every image at zoom s, straight from torchvision's transform. */
function zoomed(s: number): HostTensor {
  return stackBatch(images.map((p) => torchvisionZoomEval(decodeImageFile(p), s, { resize: RESIZE, crop: CROP })));
}

/** Rows [start, end) of a batch. */
function rows(x: HostTensor, start: number, end: number): HostTensor {
  const per = x.data.length / x.shape[0];
  return { shape: [end - start, ...x.shape.slice(1)], data: x.data.slice(start * per, end * per) };
}

/** Top-1 of every image, run in the CLI's batches of 2 (so the arithmetic is the same). */
async function engineTop1(engine: ResNetEngine, x: HostTensor, ablations: Ablation[] = []): Promise<number[]> {
  const out: number[] = [];
  for (let s = 0; s < x.shape[0]; s += 2) {
    const part = rows(x, s, Math.min(s + 2, x.shape[0]));
    out.push(...top1((await engine.forward(part, { taps: ['fc'], ablations })).get('fc')!.data, part.shape[0]));
  }
  return out;
}

let labels: number[] = [];

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does)');
  mkdirSync(join(dir, 'images'), { recursive: true });
  mkdirSync(analysisDir, { recursive: true });
  images.forEach((p, i) => writeFileSync(p, picture(100 + i)));
  writeFileSync(join(analysisDir, 'analysis.json'), JSON.stringify(analysisJson()));
  // A random network's layer4 features share a large common part, so its classifier gives every
  // image the same class whatever is ablated, and accuracies could not tell configurations apart.
  // The classifier here reads the deviation from the images' mean feature instead:
  // fc.weight ~ N(0, 1), fc.bias = -fc.weight . mean(avgpool over the unzoomed images); then the top-1
  // changes with the image, the zoom and the ablations.
  const engine = await ResNetEngine.create({ context: await testContext() });
  engine.loadWeights(weights);
  const features = (await engine.forward(zoomed(1), { taps: ['avgpool'] })).get('avgpool')!.data;
  const centre = new Float64Array(512);
  for (let n = 0; n < images.length; n++) for (let k = 0; k < 512; k++) centre[k] += features[n * 512 + k] / images.length;
  const normal = normalSource(mulberry32(SEED + 1));
  const fcWeight = Float32Array.from({ length: 1000 * 512 }, () => normal());
  const fcBias = Float32Array.from({ length: 1000 }, (_, o) => {
    let b = 0;
    for (let k = 0; k < 512; k++) b -= fcWeight[o * 512 + k] * centre[k];
    return b;
  });
  weights.set('fc.weight', { shape: [1000, 512], data: fcWeight });
  weights.set('fc.bias', { shape: [1000], data: fcBias });
  writeFileSync(pth, writePth(weights));
  // Labels: images 0-1 get the network's own top-1 at zoom 1.5, images 2-3 their top-1 at zoom 1.2,
  // so accuracies are neither all 0 nor all 1 and differ between zooms.
  engine.loadWeights(weights);
  const at15 = await engineTop1(engine, zoomed(1.5));
  const at12 = await engineTop1(engine, zoomed(1.2));
  engine.dispose();
  labels = at15.map((p, i) => (i < 2 ? p : at12[i]));
  writeFileSync(join(dir, 'labels.json'), JSON.stringify(Object.fromEntries(WNIDS.map((w, i) => [w, labels[i]]))));
});

describe('resnet-stream robustness on a full synthetic checkpoint', () => {
  it('mean-ablation: accuracies and means equal an independent computation with the engine and the reference', async () => {
    const out = join(dir, 'out', 'mean.json');
    const r = await cli(['robustness', '--weights', pth, '--analysis', analysisDir, '--images', join(dir, 'images'),
      '--labels', join(dir, 'labels.json'), '--block', '3.1,2.1', '--mode', 'mean', '--zooms', '1.2,1.5',
      '--trials', '2', '--seed', '7', '--crop', String(CROP), '--batch', '2', '--predictions', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^adapter: /m);
    expect(r.stderr).toMatch(/4 images \(labels: 4 from --labels\); block 3\.1: 7 of 256 channels of layer3\.1; block 2\.1: 3 of 128 channels of layer2\.1\.sum/);
    expect(r.stdout).toMatch(/block 3\.1: 7 of 256 channels of layer3\.1 scale-invariant; mean-ablation; 4 images; random control: 2 trial\(s\), seed 7/);
    const result = JSON.parse(readFileSync(out, 'utf8')) as RobustnessJson;
    expect(result.meta).toMatchObject({ mode: 'mean', zooms: [1.2, 1.5], trials: 2, seed: 7, images: 4, batchSize: 2, resize: RESIZE, crop: CROP, weights: 'full.pth' });
    const [b31, b21] = result.blocks;
    expect([b31.block, b31.readout, b31.width, b31.count, b31.variant]).toEqual(['3.1', 'layer3.1', 256, 7, 'post-relu']);
    expect([b21.block, b21.readout, b21.width, b21.count, b21.variant]).toEqual(['2.1', 'layer2.1.sum', 128, 3, 'pre-relu']);
    expect(b31.scaleInvariantChannels).toEqual(SI_31);
    expect(b31.randomChannels).toEqual(randomChannelSets(7, '3.1', 256, 7, 2));
    expect(b21.randomChannels).toEqual(randomChannelSets(7, '2.1', 128, 3, 2));
    expect(result.baseline.map((b) => b.zoom)).toEqual([1.2, 1.5]);
    expect(result.baseline[1].correct).toBeGreaterThanOrEqual(2); // images 0-1 are labelled with their zoom-1.5 top-1
    expect(result.baseline[0].correct).toBeGreaterThanOrEqual(2); // images 2-3 with their zoom-1.2 top-1
    // The experiment can tell configurations apart here: the counts are not all equal.
    const counts = result.blocks.flatMap((b) => b.zooms.flatMap((z) => [z.baseline.correct, z.scaleInvariant.correct, ...z.random.correct]));
    expect(new Set(counts).size, JSON.stringify(counts)).toBeGreaterThanOrEqual(2);
    console.log(formatRobustnessTable(result));

    // Independently: the means of relu(readout) on the unzoomed images, from the engine.
    const engine = await ResNetEngine.create({ context: await testContext() });
    engine.loadWeights(weights);
    const unzoomed = zoomed(1);
    const readouts = await engine.forward(unzoomed, { taps: ['layer3.1', 'layer2.1.sum'] });
    const relMeans = (t: HostTensor) => {
      const [n, c, h, w] = t.shape;
      return Array.from({ length: c }, (_, ch) => {
        let s = 0;
        for (let b = 0; b < n; b++) for (let i = 0; i < h * w; i++) s += Math.max(0, t.data[(b * c + ch) * h * w + i]);
        return s / (n * h * w);
      });
    };
    const m31 = relMeans(readouts.get('layer3.1')!);
    const m21 = relMeans(readouts.get('layer2.1.sum')!);
    for (const [got, want] of [[b31.means!, m31], [b21.means!, m21]]) {
      expect(got.length).toBe(want.length);
      for (let c = 0; c < want.length; c++) expect(Math.abs(got[c] - want[c])).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want[c])));
    }
    expect(m21.some((v) => v > 0)).toBe(true);

    // Independently: every image's top-1 in every configuration at every zoom (inputs made by
    // torchvision's zoom transform directly), and the counts and accuracies made from them.
    const correct = (pred: number[]) => countCorrect(pred, labels);
    const meanAblation = (tap: string, chs: number[], means: number[]): Ablation[] => [{ tap, channels: chs, values: chs.map((c) => means[c]) }];
    const inputs = new Map([1.2, 1.5].map((s) => [s, zoomed(s)]));
    for (const b of result.blocks) {
      for (const z of b.zooms) {
        const x = inputs.get(z.zoom)!;
        const p = z.predictions!;
        expect(p.baseline, `baseline ${z.zoom}`).toEqual(await engineTop1(engine, x));
        expect(p.scaleInvariant, `${b.block} SI ${z.zoom}`).toEqual(await engineTop1(engine, x, meanAblation(b.readout, b.scaleInvariantChannels, b.means!)));
        for (let t = 0; t < 2; t++) {
          expect(p.random[t], `${b.block} trial ${t} ${z.zoom}`).toEqual(await engineTop1(engine, x, meanAblation(b.readout, b.randomChannels[t], b.means!)));
        }
        expect(z.baseline).toEqual({ correct: correct(p.baseline), total: 4, accuracy: correct(p.baseline) / 4 });
        expect(z.scaleInvariant).toEqual({ correct: correct(p.scaleInvariant), total: 4, accuracy: correct(p.scaleInvariant) / 4 });
        expect(z.random.correct).toEqual(p.random.map(correct));
        expect(z.random.accuracies).toEqual(z.random.correct.map((c) => c / 4));
        const { mean, sd } = meanSd(z.random.accuracies);
        expect(z.random.mean).toBeCloseTo(mean, 15);
        expect(z.random.sd).toBeCloseTo(sd!, 15);
      }
    }
    expect(result.baseline.map((b) => b.correct)).toEqual(b31.zooms.map((z) => z.baseline.correct));
    // The predictions differ between zooms and between ablations (else the comparison proves little).
    expect(b31.zooms[0].predictions!.baseline).not.toEqual(b31.zooms[1].predictions!.baseline);
    expect(b31.zooms[1].predictions!.scaleInvariant).not.toEqual(b31.zooms[1].predictions!.baseline);
    const x12 = inputs.get(1.2)!;
    const x15 = inputs.get(1.5)!;
    const siPred = b31.zooms[1].predictions!.scaleInvariant;
    // Ablating the pre-ReLU sum with means of relu(sum) is the same as ablating the block output.
    expect(await engineTop1(engine, x12, meanAblation('layer2.1', SI_21, b21.means!)))
      .toEqual(await engineTop1(engine, x12, meanAblation('layer2.1.sum', SI_21, b21.means!)));
    engine.dispose();

    // The float64 reference agrees on the top-1 of every image whose two best logits are not near a tie.
    const refTop1 = (x: HostTensor, ablations: Ablation[]) => {
      const edit = (tap: string, data: Float64Array, shape: number[]) => {
        for (const a of ablations.filter((q) => q.tap === tap)) {
          const [n, c, h, w] = shape;
          a.channels.forEach((ch, i) => {
            for (let b = 0; b < n; b++) data.fill(Math.fround(a.values![i]), (b * c + ch) * h * w, (b * c + ch + 1) * h * w);
          });
        }
      };
      const logits = referenceForward(weights, x, 'fc', edit).get('fc')!.data;
      return Array.from({ length: x.shape[0] }, (_, n) => {
        const row = Array.from(logits.subarray(n * 1000, (n + 1) * 1000));
        const order = row.map((_, k) => k).sort((a, b) => row[b] - row[a]);
        const scale = Math.max(...row.map(Math.abs));
        return { best: order[0], clear: row[order[0]] - row[order[1]] > 1e-4 * scale };
      });
    };
    const ref = refTop1(x15, meanAblation('layer3.1', SI_31, b31.means!));
    const clear = ref.filter((r) => r.clear).length;
    expect(clear).toBeGreaterThanOrEqual(2);
    ref.forEach((r, i) => { if (r.clear) expect(siPred[i], `image ${i}`).toBe(r.best); });
  });

  it('zero-ablation with labels from a list file; the table and the JSON agree', async () => {
    const list = join(dir, 'list.txt');
    writeFileSync(list, `# path<TAB>label\n${images.map((p, i) => `images/${p.split('/').pop()}\t${labels[i]}`).join('\n')}\n`);
    const out = join(dir, 'zero.json');
    const r = await cli(['robustness', '--weights', pth, '--analysis', join(analysisDir, 'analysis.json'), '--images', list,
      '--block', '2.1', '--mode', 'zero', '--zooms', '1.3', '--trials', '2', '--crop', String(CROP), '--limit', '3', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/3 images \(labels: 4 from the image list\)/);
    const result = JSON.parse(readFileSync(out, 'utf8')) as RobustnessJson;
    expect(result.meta).toMatchObject({ mode: 'zero', images: 3, seed: 0, batchSize: 8 });
    const [b21] = result.blocks;
    expect(b21.means).toBeNull();
    expect(b21.randomChannels).toEqual(randomChannelSets(0, '2.1', 128, 3, 2));
    // Zero-ablation of `sum` equals zero-ablation of the block output; check against the engine.
    const engine = await ResNetEngine.create({ context: await testContext() });
    engine.loadWeights(weights);
    const x = rows(zoomed(1.3), 0, 3);
    const pred = top1((await engine.forward(x, { taps: ['fc'], ablations: [{ tap: 'layer2.1', channels: SI_21 }] })).get('fc')!.data, 3);
    engine.dispose();
    expect(b21.zooms[0].scaleInvariant.correct).toBe(countCorrect(pred, labels.slice(0, 3)));
    const z = b21.zooms[0];
    const line = r.stdout.split('\n').find((l) => l.trim().startsWith('1.30'))!;
    expect(line.trim().split(/\s+/)).toEqual([
      '1.30', `${(z.baseline.accuracy * 100).toFixed(2)}%`, `${(z.scaleInvariant.accuracy * 100).toFixed(2)}%`,
      `${(z.random.mean * 100).toFixed(2)}%`, `${(z.random.sd! * 100).toFixed(2)}%`,
    ]);
  });

  it('refuses a checkpoint without the whole network, and other bad input, in one line', async () => {
    const partial = randomWeights(SEED);
    for (const n of ['layer4.0.conv1.weight', 'layer4.0.conv2.weight', 'layer4.1.conv1.weight', 'layer4.1.conv2.weight']) partial.delete(n);
    const partialPth = join(dir, 'partial.pth');
    writeFileSync(partialPth, writePth(partial));
    const common = ['--analysis', analysisDir, '--images', join(dir, 'images'), '--labels', join(dir, 'labels.json'), '--out', join(dir, 'x.json')];
    const cases: [string[], RegExp][] = [
      [['--weights', partialPth, '--block', '3.1', ...common],
        /needs the whole network .*full checkpoint resnet18-f37072fd\.pth; partial\.pth lacks layer4\.0\.conv1\.weight, layer4\.0\.conv2\.weight, layer4\.1\.conv1\.weight, layer4\.1\.conv2\.weight \(it computes only through layer3\.1\)/],
      [['--weights', pth, '--block', '4.0', ...common], /analysis\.json has no results for block 4\.0 \(the analysis skipped it: checkpoint lacks/],
      [['--weights', pth, '--block', '1.1', ...common], /has no results for block 1\.1 \(it has 2\.1, 3\.1\)/],
      [['--weights', pth, '--block', '9.9', ...common], /--block: unknown block '9\.9'/],
      [['--weights', pth, '--block', '3.1', '--mode', 'half', ...common], /--mode must be zero or mean/],
      [['--weights', pth, '--block', '3.1', '--zooms', '1.2,2', ...common], /--zooms: '2' is not a zoom factor in \[1, 2\)/],
      [['--weights', pth, '--block', '3.1', '--analysis', analysisDir, '--images', join(dir, 'images'), '--out', join(dir, 'x.json')],
        /no label for n01440764_img0\.png .*--labels FILE/],
    ];
    for (const [args, pattern] of cases) {
      const r = await cli(['robustness', ...args]);
      expect(r.code, args.join(' ')).not.toBe(0);
      const lines = ownLines(r.stderr);
      expect(lines.length, r.stderr).toBe(1);
      expect(lines[0]).toMatch(pattern);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  const noShared = sharedMissing(PARTIAL_WEIGHTS);
  it.skipIf(noShared)('on the shared partial checkpoint, says the experiment needs resnet18-f37072fd.pth and what is missing', async () => {
    const r = await cli(['robustness', '--weights', PARTIAL_WEIGHTS, '--analysis', analysisDir, '--images', join(dir, 'images'),
      '--labels', join(dir, 'labels.json'), '--block', '3.1', '--out', join(dir, 'y.json')]);
    expect(r.code).toBe(1);
    const lines = ownLines(r.stderr);
    expect(lines, r.stderr).toEqual([expect.stringMatching(/^error: the robustness experiment needs the whole network/)]);
    expect(lines[0]).toMatch(/full checkpoint resnet18-f37072fd\.pth; resnet18-imagenet1k-v1-partial\.pth lacks layer4\.0\.conv1\.weight, layer4\.0\.conv2\.weight, layer4\.1\.conv1\.weight, layer4\.1\.conv2\.weight/);
    expect(existsSync(join(dir, 'y.json'))).toBe(false);
  });
});
