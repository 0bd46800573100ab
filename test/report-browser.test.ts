// The report in headless Chromium, opened from disk: no console errors, every canvas drawn (non-blank
// pixels), the channel table sorts and filters. Chromium: the system's, else the npm-shipped one.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ImageRef, runDatasetAnalysis } from '../src/analysis/analyze';
import { renderStimulus, stimulusSpecs } from '../src/analysis/stimuli';
import { syntheticEngine } from './helpers/synthetic';
import { thumbnailDataUri } from '../src/report/thumbnails';
import { writeAnalysisOutputs } from '../src/report/report-node';
import { launchStaticBrowser, noChromiumReason } from './helpers/browser';

const noChromium = noChromiumReason();

describe.skipIf(noChromium)('report in headless Chromium', () => {
  let browser: Browser;
  let dir: string;
  let profile: string;
  let url: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'resnet-stream-report-'));
    profile = await mkdtemp(join(tmpdir(), 'resnet-stream-chromium-'));
    const specs = stimulusSpecs().filter((_, i) => i % 4 === 0);
    const images: ImageRef[] = specs.map((s, index) => ({ index, name: s.name }));
    const analysis = await runDatasetAnalysis({
      images, blocks: ['1.1', '2.0', '2.1'], topK: 5, batchSize: 32, zoomFactors: [1, 1.25, 1.5],
      forwardCentres: syntheticEngine(11).forwardCentres,
      params: { '2.1': { bn2Gamma: Float32Array.from({ length: 128 }, (_, c) => 0.5 + (c % 7) / 7), conv2Weight: new Float32Array(128 * 128 * 9).map((_, i) => Math.cos(i)) } },
      skipped: [{ block: '4.0', reason: 'checkpoint lacks layer4.0.conv1.weight' }],
      meta: { weights: 'synthetic' },
    });
    const byName = new Map(specs.map((s) => [s.name, s]));
    const out = await writeAnalysisOutputs(dir, analysis, {
      imageSrc: (name) => {
        const spec = byName.get(name);
        return spec ? thumbnailDataUri(renderStimulus(spec), 56) : undefined;
      },
    });
    url = pathToFileURL(out.report).href;
    browser = await launchStaticBrowser(profile);
  });

  afterAll(async () => {
    await browser?.close();
    await rm(dir, { recursive: true, force: true });
    await rm(profile, { recursive: true, force: true });
  });

  it('renders without console errors and draws every canvas', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warn') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${(e as Error).message}`));
    page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()}`));
    await page.setViewport({ width: 1300, height: 900 });
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForSelector('body[data-charts="drawn"]', { timeout: 20_000 });
    const canvases = await page.evaluate(() => Array.from(document.querySelectorAll('canvas')).map((c) => {
      const ctx = c.getContext('2d') as CanvasRenderingContext2D;
      const { data } = ctx.getImageData(0, 0, c.width, c.height);
      let painted = 0;
      const colours = new Set<number>();
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] > 0) {
          painted++;
          if (colours.size < 64) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
        }
      }
      return { id: c.id, width: c.width, height: c.height, painted: painted / (c.width * c.height), colours: colours.size };
    }));
    expect(problems).toEqual([]);
    // 3 histograms, the fractions chart, 4 scatters (gamma and weights for block 2.1), the sweep.
    expect(canvases.map((c) => c.id).sort()).toEqual([
      'fractions-chart', 'hist-1.1', 'hist-2.0', 'hist-2.1', 'scatter-branch', 'scatter-gamma', 'scatter-tuning', 'scatter-weight', 'sweep-chart',
    ]);
    for (const c of canvases) {
      expect(c.width, c.id).toBeGreaterThan(100);
      expect(c.painted, c.id).toBeGreaterThan(0.02);
      expect(c.colours, c.id).toBeGreaterThan(3);
    }
    // Thumbnails load from their data: URIs.
    const thumbs = await page.evaluate(() => Array.from(document.querySelectorAll('.thumb:not(.missing)')).map((t) => getComputedStyle(t).backgroundImage.startsWith('url("data:image/png')));
    expect(thumbs.length).toBeGreaterThan(0);
    expect(thumbs.every(Boolean)).toBe(true);
    await page.close();
  });

  it('sorts the channel table by clicking a header, undefined values last, and filters by block', async () => {
    const page = await browser.newPage();
    await page.goto(url, { waitUntil: 'load' });
    const column = async (index: number) => page.evaluate((i) => Array.from(document.querySelectorAll('#channel-table tbody tr'))
      .filter((r) => !(r as HTMLElement).hidden)
      .map((r) => (r as HTMLTableRowElement).cells[i].getAttribute('data-v') ?? ''), index);
    const mIndex = 2;
    const sortedNumbers = (vs: string[]) => vs.filter((v) => v !== '').map(Number);
    await page.click('#channel-table thead th:nth-child(3)');
    let vs = await column(mIndex);
    let nums = sortedNumbers(vs);
    expect(nums).toEqual([...nums].sort((a, b) => a - b));
    expect(vs.slice(nums.length).every((v) => v === '')).toBe(true);
    await page.click('#channel-table thead th:nth-child(3)');
    vs = await column(mIndex);
    nums = sortedNumbers(vs);
    expect(nums).toEqual([...nums].sort((a, b) => b - a));
    expect(vs.slice(nums.length).every((v) => v === '')).toBe(true);
    await page.select('#block-filter', '2.0');
    const blocks = await column(0);
    expect(blocks.length).toBe(128);
    expect(new Set(blocks)).toEqual(new Set(['2.0']));
    await page.close();
  });
});
