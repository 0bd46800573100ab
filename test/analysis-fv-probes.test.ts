// `resnet-stream analyze --probes fv` end to end at a tiny size (block 1.1, random weights, 40 x 40
// probes, 4 steps): dist/cli.js in a child process writes one 8-bit PNG per (readout, channel) and an
// analysis.json in fv mode; a re-run renders nothing and reuses the PNGs; and the M of every channel is
// what one computes by hand from the saved PNGs re-measured through the engine and through the float64
// CPU reference. Needs `npm run build` (npm test does it).

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisJson } from '../src/analysis/analyze';
import { probePath, probeTensor } from '../src/cli/fv-probes';
import { mixRatio } from '../src/analysis/metrics';
import { centreValues, readoutsFor } from '../src/analysis/readouts';
import { maxRenderBatch, splitRenderBatch } from '../src/featureviz/render';
import { jitterForTap, lucentTransformConfig, possibleInputSizes } from '../src/featureviz/transforms';
import { decodeImageFile } from '../src/image/decode-node';
import { stackBatch } from '../src/image/transforms';
import { savedTaps } from '../src/model/backward';
import { ResNetEngine } from '../src/model/engine';
import { architectureOf } from '../src/model/family';
import { planForward, scheduleMemory } from '../src/model/planner';
import { writePth } from '../src/weights/pth-writer';
import { randomWeights } from '../src/weights/random';
import { testContext } from './helpers/gpu';
import { referenceForward } from './reference/resnet';

const run = promisify(execFile);
const CLI = resolve(__dirname, '../dist/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'resnet-stream-fv-probes-'));
const weights = randomWeights(11);
const pth = join(dir, 'synthetic.pth');
const out = join(dir, 'analysis');
const SIZE = 32; // the network's minimum input (scale < 1 is padded back to the probe size)
const STEPS = 4;
const args = ['analyze', '--probes', 'fv', '--weights', pth, '--blocks', '1.1', '--fv-steps', String(STEPS), '--fv-size', String(SIZE),
  '--fv-batch', '64', '--batch', '16', '--out', out];

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', [CLI, ...argv], { timeout: 900_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

let first: { code: number; stderr: string };

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does)');
  writeFileSync(pth, writePth(weights));
  first = await cli(args);
}, 900_000);

describe('analyze --probes fv', () => {
  const r = readoutsFor('1.1');

  it('renders one PNG per readout and channel and writes analysis.json in fv mode', () => {
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/steps\/s/);
    expect(first.stderr).toMatch(/fv probes: 192 rendered, 0 reused/);
    for (const x of ['I', 'B', 'O'] as const) {
      for (let c = 0; c < r.channels; c++) {
        const img = decodeImageFile(join(out, probePath('1.1', x, c)));
        expect([img.width, img.height]).toEqual([SIZE, SIZE]);
      }
    }
    const a = JSON.parse(readFileSync(join(out, 'analysis.json'), 'utf8')) as AnalysisJson;
    expect(a.meta.probes).toBe('fv');
    expect(a.meta).toMatchObject({ fvSteps: STEPS, fvSize: SIZE, topK: 1 });
    expect(a.blocks.map((b) => b.block)).toEqual(['1.1']);
    expect(a.blocks[0].channels).toHaveLength(64);
    expect(a.blocks[0].channels[5].probes).toEqual({ input: ['probes/1.1/I/5.png'], branch: ['probes/1.1/B/5.png'], output: ['probes/1.1/O/5.png'] });
    // The block summary is the dataset mode's, over these channels.
    const { fractions } = a.blocks[0].summary;
    const count = (k: string | null) => a.blocks[0].channels.filter((ch) => ch.category === k).length;
    expect(fractions.channels).toBe(64);
    expect(fractions.categories).toEqual({ skip: count('skip'), mixture: count('mixture'), overwrite: count('overwrite'), undefined: count(null) });
    expect(fractions.scaleInvariant).toBe(a.blocks[0].channels.filter((ch) => ch.scaleInvariant).length);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toMatch(/Probes: fv/);
    // The channel site shows the PNGs themselves, referenced from the pages (not copied).
    const page = readFileSync(join(out, 'site', 'block-1.1', 'channel-5.html'), 'utf8');
    for (const x of ['I', 'B', 'O']) expect(page).toContain(`src="../../probes/1.1/${x}/5.png"`);
    expect(existsSync(join(out, 'site', 'img'))).toBe(false);
  });

  it('a re-run reuses every PNG and gives the same analysis', async () => {
    const png = join(out, probePath('1.1', 'B', 7));
    const before = statSync(png).mtimeMs;
    const a1 = JSON.parse(readFileSync(join(out, 'analysis.json'), 'utf8')) as AnalysisJson;
    const again = await cli(args);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/fv probes: 0 rendered, 192 reused/);
    expect(statSync(png).mtimeMs).toBe(before);
    const a2 = JSON.parse(readFileSync(join(out, 'analysis.json'), 'utf8')) as AnalysisJson;
    expect(a2.blocks).toEqual(a1.blocks);
    expect(a2.meta.date).toBe(a1.meta.date);
    // Other rendering settings never mix with these PNGs.
    const other = await cli(args.map((v) => (v === String(STEPS) ? '5' : v)));
    expect(other.code).not.toBe(0);
    expect(other.stderr.trim().split('\n').filter((l) => !l.startsWith('Warning: maxDynamic')).at(-1)).toMatch(/fv-run\.json holds probes made with/);
  }, 900_000);

  it('M from fv probes is O(I*) / O(B*) of the saved PNGs, re-measured by the engine and by the float64 reference', async () => {
    const a = JSON.parse(readFileSync(join(out, 'analysis.json'), 'utf8')) as AnalysisJson;
    const load = (x: 'I' | 'B') => Array.from({ length: r.channels }, (_, c) => probeTensor(decodeImageFile(join(out, probePath('1.1', x, c)))));
    const iStar = stackBatch(load('I'));
    const bStar = stackBatch(load('B'));
    const own = (centres: Float32Array | Float64Array, C: number) => Array.from({ length: C }, (_, c) => centres[c * C + c]);

    // The engine, in one batch of 64 (the CLI measured in batches of 16: per-image results do not depend on it).
    const engine = await ResNetEngine.create({ context: await testContext() });
    engine.loadWeights(weights);
    const oI = (await engine.forward(iStar, { taps: [r.output] })).get(r.output)!;
    const oB = (await engine.forward(bStar, { taps: [r.output] })).get(r.output)!;
    engine.dispose();
    const gpuOI = own(centreValues(oI.data, oI.shape), r.channels);
    const gpuOB = own(centreValues(oB.data, oB.shape), r.channels);

    // The float64 reference on the same tensors (the first REF channels' probes: it is slow on 2 cores).
    const REF = 24;
    const refOf = (x: typeof iStar) => {
      const t = referenceForward(weights, x, r.output).get(r.output)!;
      const [n, C, h, w] = t.shape;
      return Array.from({ length: n }, (_, i) => t.data[((i * C + i) * h + (h >> 1)) * w + (w >> 1)]);
    };
    const refOI = refOf(stackBatch(load('I').slice(0, REF)));
    const refOB = refOf(stackBatch(load('B').slice(0, REF)));

    let ratios = 0;
    a.blocks[0].channels.forEach((ch, c) => {
      // Same engine, same PNG bytes: the same float32 values (exact), hence the same M.
      expect(ch.readouts.outputOnInput).toBe(gpuOI[c]);
      expect(ch.readouts.outputOnBranch).toBe(gpuOB[c]);
      expect(ch.mix).toBe(mixRatio(gpuOI[c], gpuOB[c]));
      // By hand from METHOD.md: O(B*) <= 0 -> 10; else O(I*) <= 0 -> 0; else the ratio (both <= 0: undefined).
      const [x, y] = [gpuOI[c], gpuOB[c]];
      const byHand = x <= 0 && y <= 0 ? null : y <= 0 ? 10 : x <= 0 ? 0 : x / y;
      expect(ch.mix).toBe(byHand);
      // Float64 reference: the engine's float32 convolutions agree to ~1e-5 of the activations' scale
      // (kernel tests); 1e-3 absolute + 1e-3 relative leaves room for the accumulation order at 32 x 32.
      if (c >= REF) return;
      expect(Math.abs(gpuOI[c] - refOI[c])).toBeLessThanOrEqual(1e-3 + 1e-3 * Math.abs(refOI[c]));
      expect(Math.abs(gpuOB[c] - refOB[c])).toBeLessThanOrEqual(1e-3 + 1e-3 * Math.abs(refOB[c]));
      if (refOI[c] > 1e-2 && refOB[c] > 1e-2) {
        ratios++;
        expect(Math.abs((ch.mix as number) - refOI[c] / refOB[c])).toBeLessThanOrEqual(1e-2 * (refOI[c] / refOB[c]));
      }
    });
    // The check must not pass vacuously: most channels of a real run have both outputs positive.
    expect(ratios).toBeGreaterThan(4);
  }, 300_000);
});

describe('fv batch limits', () => {
  it('the batch maxRenderBatch allows fits every planned buffer of the forward, Winograd scratch included; one more does not', () => {
    // The forward part of the backward plan at the largest input the transforms produce, with the
    // kernels whose scratch is largest (F(2x2, 3x3): 4x a 3x3 layer's map, lavapipe's default).
    const limit = 128 * 2 ** 20;
    for (const [tap, size] of [['layer1.1.bn2', 224], ['layer4.1', 224], ['layer2.1', 97]] as const) {
      const input = Math.max(...possibleInputSizes(lucentTransformConfig(jitterForTap(tap), size)));
      const largest = (batch: number) => scheduleMemory(planForward({
        batch, height: input, width: input, taps: savedTaps(tap), kernels: { conv2d: 'winograd' },
      })).largest.bytes;
      const batch = maxRenderBatch(limit, tap, size);
      expect(largest(batch), `${tap} at ${size}: batch ${batch}`).toBeLessThanOrEqual(limit);
      expect(largest(batch + 1), `${tap} at ${size}: batch ${batch + 1}`).toBeGreaterThan(limit);
    }
  });

  it("splits a 64-channel batch to fit lavapipe's 128 MiB storage bindings", () => {
    // 224 with j = 0: the largest network input is 1.05 x 224 = 235 (rounded): stem 118 x 118 x 64
    // floats, layer1 at 59 x 59, whose Winograd F(2x2, 3x3) scratch (30 x 30 tiles x 16 x 64 floats)
    // is larger still.
    const perImage = 16 * 64 * 30 * 30 * 4;
    expect(perImage).toBeGreaterThan(64 * 118 * 118 * 4);
    expect(maxRenderBatch(128 * 2 ** 20, 'layer1.1.bn2', 224)).toBe(Math.floor(128 * 2 ** 20 / perImage));
    expect(maxRenderBatch(128 * 2 ** 20, 'layer1.1.bn2', 224)).toBe(36);
    // j = 16: the network always sees 224: stem 112 x 112, and layer1's scratch (28 x 28 tiles) as large.
    expect(maxRenderBatch(128 * 2 ** 20, 'layer4.1', 224)).toBe(Math.floor(128 * 2 ** 20 / (64 * 112 * 112 * 4)));
    // A Bottleneck network: layer1's 256-channel maps at a quarter of the input are as large as the
    // stem's at a half (224). At 33 (stem 17 x 17, layer1 at 9 x 9) the Winograd scratch of layer1's
    // 64-channel 3x3s (5 x 5 tiles) is the largest in both: 16 x 64 x 25 > 256 x 9 x 9 > 64 x 17 x 17.
    const r50 = architectureOf('resnet50');
    expect(maxRenderBatch(128 * 2 ** 20, 'layer4.1', 224, r50)).toBe(maxRenderBatch(128 * 2 ** 20, 'layer4.1', 224));
    expect(maxRenderBatch(2 ** 20, 'layer4.0', 33)).toBe(Math.floor(2 ** 20 / (16 * 64 * 25 * 4)));
    expect(maxRenderBatch(2 ** 20, 'layer4.0', 33, r50)).toBe(Math.floor(2 ** 20 / (16 * 64 * 25 * 4)));
    expect(splitRenderBatch(64, 36)).toEqual({ subBatch: 32, runs: 2 });
    expect(splitRenderBatch(64, 64)).toEqual({ subBatch: 64, runs: 1 });
    expect(splitRenderBatch(64, 1000)).toEqual({ subBatch: 64, runs: 1 });
  });
});
