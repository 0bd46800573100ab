// The Node entry (src/index-node.ts, 'resnet-stream/node') from a script's side: runAnalysis over a folder
// of images with progress callbacks, the returned object equal to the analysis.json it wrote, an
// AbortSignal that stops it between batches, and a second call that resumes from the journal.
// The same entry, packed and installed, is tested in test/package.test.ts.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type AnalysisProgress, ADAPTER_CHOICES, loadWeightsFile, runAnalysis } from '../src/index-node';
import { encodePngRgb } from '../src/featureviz/png';
import { randomWeights } from '../src/weights/random';
import { writePth } from '../src/weights/pth-writer';
import { freshSeed, makeRng } from './helpers/gpu';

const work = mkdtempSync(join(tmpdir(), 'resnet-stream-node-entry-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('resnet-stream/node', () => {
  it('runAnalysis: progress, the analysis.json object back, a stop by AbortSignal and a resume', async () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    const weights = join(work, 'weights.pth');
    writeFileSync(weights, writePth(randomWeights(seed)));
    expect((await loadWeightsFile(weights)).size).toBeGreaterThan(100);
    const images = join(work, 'images');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(images);
    for (let i = 0; i < 6; i++) {
      const [w, h] = [40 + i, 36 + 2 * i];
      writeFileSync(join(images, `img${i}.png`), encodePngRgb(new Uint8Array(w * h * 3).map(() => Math.floor(rng() * 256)), w, h));
    }
    const out = join(work, 'analysis');
    const options = { out, images, weights, blocks: ['1.1'], topK: 2, batchSize: 2 };

    // Stopped after the first batch: the call rejects and leaves the journal behind.
    const stop = new AbortController();
    const first: AnalysisProgress[] = [];
    await expect(runAnalysis({ ...options, signal: stop.signal, onProgress: (p) => { first.push(p); stop.abort(); } })).rejects.toThrow();
    expect(first.length).toBeGreaterThanOrEqual(1);
    expect(readFileSync(join(out, 'journal.jsonl'), 'utf8').length).toBeGreaterThan(0);

    // Resumed: the first batch comes from the journal; the result is what analysis.json holds.
    const seen: AnalysisProgress[] = [];
    const notices: string[] = [];
    const { analysis, files } = await runAnalysis({ ...options, onProgress: (p) => seen.push(p), onNotice: (l) => notices.push(l) });
    expect(notices[0]).toMatch(/^adapter: /);
    expect(seen.some((p) => p.replayed)).toBe(true);
    expect(new Set(seen.map((p) => p.phase))).toEqual(new Set(['stream', 'zoomIn', 'zoomOut']));
    expect(JSON.parse(readFileSync(files.analysisJson, 'utf8'))).toEqual(JSON.parse(JSON.stringify(analysis)));
    expect(analysis.version).toBe(1);
    expect(analysis.blocks.map((b) => b.block)).toEqual(['1.1']);
    expect(analysis.blocks[0].channels).toHaveLength(64);
    expect(ADAPTER_CHOICES).toContain('swiftshader-npm');
  });
});
