// Feature visualisation on the rest of the family from the command line: `fv` and
// `analyze --probes fv` on a resnet50 checkpoint (torch.save of seeded hash weights with
// non-trivial BatchNorm, test/reference/family-weights.ts), tiny (32 x 32 probes, 1-3 steps);
// outputs exist and every number is finite. And a resnet18 run is what it was: the CLI's PNGs and
// first-step activations equal those of visualiseChannels on the same weights and seed (the same
// loop; bit-identity with the code before the family is scripts/tap-hashes.mjs's check).
// Needs `npm run build` (npm test does it). Fresh seed per run, printed (TEST_SEED=n replays one).

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisJson } from '../src/analysis/analyze';
import { visualiseChannels } from '../src/browser/featureviz';
import type { FvReport } from '../src/featureviz/fv-node';
import { decodeImageFile } from '../src/image/decode-node';
import { ResNetEngine } from '../src/model/engine';
import { writePth } from '../src/weights/pth-writer';
import { randomWeights } from '../src/weights/random';
import { freshSeed, testContext } from './helpers/gpu';
import { familyWeights } from './reference/family-weights';

const run = promisify(execFile);
const CLI = resolve(__dirname, '../dist/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'resnet-stream-fv-family-'));
const seed = freshSeed();
const r50 = join(dir, 'resnet50.pth');
const r18 = join(dir, 'resnet18.pth');
const r18Weights = randomWeights(seed);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...argv], { timeout: 600_000, maxBuffer: 64 * 2 ** 20 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does)');
  console.log(`fv on the family: seed ${seed}`);
  writeFileSync(r50, writePth(familyWeights('resnet50', seed)));
  writeFileSync(r18, writePth(r18Weights));
});

describe('fv and analyze --probes fv on a resnet50 checkpoint', () => {
  it('fv: a bn3 tap deep in layer3 (a block resnet18 lacks) gives PNGs and finite activations; a tap resnet50 lacks is refused', async () => {
    const out = join(dir, 'fv50');
    const r = await cli(['fv', '--weights', r50, '--tap', 'layer3.5.bn3', '--channels', '3,700', '--steps', '3', '--size', '32',
      '--seed', String(seed % 1000), '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'fv.json'), 'utf8')) as FvReport;
    expect(report).toMatchObject({ tap: 'layer3.5.bn3', jitter: 16, steps: 3, size: 32 });
    expect(report.channels.map((c) => c.channel)).toEqual([3, 700]);
    for (const c of report.channels) {
      const img = decodeImageFile(join(out, c.file!));
      expect([img.width, img.height]).toEqual([32, 32]);
      for (const v of [c.activationFirst, c.activationLast, c.activationPng]) expect(Number.isFinite(v), JSON.stringify(c)).toBe(true);
    }
    // 1024 channels in layer3.5.bn3; layer3.6 is no tap of resnet50.
    const bad = await cli(['fv', '--weights', r50, '--tap', 'layer3.6', '--channels', '0', '--steps', '1', '--size', '32']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--tap 'layer3\.6' cannot be visualised in resnet50; taps: .*layer3\.5\.bn3/);
  }, 600_000);

  it('analyze --probes fv: block 1.0 (I = its stride-1 downsample.1, B = bn3) renders, measures and analyses every channel', async () => {
    const out = join(dir, 'analysis50');
    const r = await cli(['analyze', '--probes', 'fv', '--weights', r50, '--blocks', '1.0', '--fv-steps', '1', '--fv-size', '32',
      '--fv-batch', '128', '--batch', '64', '--fv-seed', String(seed % 1000), '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/fv probes: 768 rendered, 0 reused/);
    const a = JSON.parse(readFileSync(join(out, 'analysis.json'), 'utf8')) as AnalysisJson;
    expect(a.meta).toMatchObject({ probes: 'fv', architecture: 'resnet50', fvSteps: 1, fvSize: 32 });
    expect(a.blocks).toHaveLength(1);
    const b = a.blocks[0];
    expect(b).toMatchObject({ block: '1.0', input: 'layer1.0.downsample.1', branch: 'layer1.0.bn3', output: 'layer1.0' });
    expect(b.channels).toHaveLength(256);
    for (const ch of b.channels) {
      for (const v of Object.values(ch.readouts)) expect(v === null || Number.isFinite(v), JSON.stringify(ch.readouts)).toBe(true);
      expect(ch.mix === null || Number.isFinite(ch.mix)).toBe(true);
    }
    // The readouts were measured: the input's own channel responds on most of its probes.
    expect(b.channels.filter((ch) => ch.readouts.inputOnInput !== null && ch.readouts.inputOnInput !== 0).length).toBeGreaterThan(128);
    expect(b.summary.fractions.channels).toBe(256);
    for (const x of ['I', 'B', 'O']) expect(existsSync(join(out, 'probes', '1.0', x, '255.png'))).toBe(true);
    expect(existsSync(join(out, 'index.html'))).toBe(true);
  }, 600_000);
});

describe('fv on resnet18 is unchanged', () => {
  it('the CLI gives the PNGs and first-step activations of visualiseChannels (same weights, seed, steps)', async () => {
    const out = join(dir, 'fv18');
    const [tap, channels, steps, size] = ['layer2.1', [4, 77], 3, 40];
    const r = await cli(['fv', '--weights', r18, '--tap', tap, '--channels', channels.join(','), '--steps', String(steps),
      '--size', String(size), '--seed', '7', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'fv.json'), 'utf8')) as FvReport;
    const engine = await ResNetEngine.create({ context: await testContext() });
    try {
      engine.loadWeights(r18Weights);
      const vis = await visualiseChannels(engine, { tap, channels, steps, size, seed: 7 });
      channels.forEach((c, n) => {
        const png = decodeImageFile(join(out, `unit${c}.png`));
        const rgba = vis.images[n].data;
        const rgb = Uint8Array.from({ length: size * size * 3 }, (_, i) => rgba[Math.floor(i / 3) * 4 + (i % 3)]);
        expect(Buffer.from(png.data).equals(Buffer.from(rgb)), `channel ${c}`).toBe(true);
        expect(report.channels[n].activationFirst).toBe(-vis.objective[n][0]);
        expect(report.channels[n].activationLast).toBe(-vis.objective[n][steps - 1]);
      });
    } finally {
      engine.dispose();
    }
  }, 600_000);
});
