// The channel site beside index.html (DIR/site): a page per block and channel, an index per block,
// written once per analysis. Every href and src of every page resolves to a file of the folder;
// the pages open from disk (file://) in headless Chromium with no console errors, their thumbnails
// load, the block index sorts and filters and keeps that view in its hash (a reload restores it).
import { mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnalysisJson, type ImageRef, runDatasetAnalysis } from '../src/analysis/analyze';
import type { BlockDetails } from '../src/analysis/details';
import { renderStimulus, stimulusSpecs } from '../src/analysis/stimuli';
import { thumbnailDataUri } from '../src/report/thumbnails';
import { writeAnalysisOutputs } from '../src/report/report-node';
import { channelPagePath, nearestInM } from '../src/report/site';
import { launchStaticBrowser, noChromiumReason } from './helpers/browser';
import { SCREENSHOTS, checkScreenshot } from './helpers/demo';
import { syntheticEngine } from './helpers/synthetic';

const noChromium = noChromiumReason();

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** Every local href and src of an HTML file (fragments dropped; data: and absolute URLs left out). */
function localLinks(html: string): string[] {
  const out: string[] = [];
  for (const m of html.matchAll(/\s(?:href|src)="([^"]*)"/g)) {
    const url = m[1].replace(/&amp;/g, '&');
    if (/^(data:|[a-z]+:\/\/|#|mailto:)/i.test(url) || url === '') continue;
    out.push(decodeURIComponent(url.replace(/#.*$/, '')));
  }
  return out;
}

describe('the channel site (DIR/site)', () => {
  let dir: string;
  let analysis: AnalysisJson;
  const details: BlockDetails[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'resnet-stream-site-'));
    const specs = stimulusSpecs().filter((_, i) => i % 4 === 0);
    const images: ImageRef[] = specs.map((s, index) => ({ index, name: s.name }));
    analysis = await runDatasetAnalysis({
      images, blocks: ['1.1', '2.0'], topK: 5, batchSize: 32, zoomFactors: [1, 1.25, 1.5],
      forwardCentres: syntheticEngine(7).forwardCentres,
      skipped: [{ block: '4.0', reason: 'checkpoint lacks layer4.0.conv1.weight' }],
      meta: { weights: 'synthetic' },
      onBlockDetails: (d) => details.push(d),
    });
    const byName = new Map(specs.map((s) => [s.name, s]));
    const image = (name: string) => {
      const spec = byName.get(name);
      return spec ? renderStimulus(spec) : undefined;
    };
    await writeAnalysisOutputs(dir, analysis, {
      imageSrc: (name) => {
        const rgb = image(name);
        return rgb ? thumbnailDataUri(rgb, 56) : undefined;
      },
      site: { details, image },
    });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('has a page per block and channel, every link and image resolving to a file of the folder, thumbnails written once', () => {
    const site = join(dir, 'site');
    for (const b of analysis.blocks) {
      for (const c of b.channels) expect(statSync(join(site, channelPagePath(b.block, c.channel))).isFile()).toBe(true);
    }
    const all = filesUnder(site);
    const html = [join(dir, 'index.html'), ...all.filter((f) => f.endsWith('.html'))];
    expect(html.length).toBe(1 + 1 + 2 + 64 + 128);
    let links = 0;
    for (const file of html) {
      for (const link of localLinks(readFileSync(file, 'utf8'))) {
        const target = resolve(dirname(file), link);
        expect(statSync(target, { throwIfNoEntry: false })?.isFile(), `${relative(dir, file)} -> ${link}`).toBe(true);
        links++;
      }
    }
    // Thumbnails: one file per probe image, none embedded in the pages.
    const pngs = all.filter((f) => f.endsWith('.png'));
    const probeNames = new Set(analysis.blocks.flatMap((b) => b.channels.flatMap((c) => [...c.probes.input, ...c.probes.branch, ...c.probes.output])));
    expect(pngs.length).toBe(probeNames.size);
    expect(html.slice(1).some((f) => readFileSync(f, 'utf8').includes('data:image'))).toBe(false);
    const bytes = all.reduce((s, f) => s + statSync(f).size, 0);
    console.log(`site: ${all.length} files, ${(bytes / 1024).toFixed(0)} KiB (${html.length - 1} pages, ${pngs.length} thumbnails), ${links} links checked`);
    // The report links the site.
    const report = readFileSync(join(dir, 'index.html'), 'utf8');
    expect(report).toContain('href="site/index.html"');
    expect(report).toContain('href="site/block-2.0/channel-5.html"');
    // A channel page: its numbers, its tuning curve, its readouts under zoom, its neighbours in M.
    const b = analysis.blocks[1];
    const c = b.channels.find((ch) => ch.mix !== null && ch.tuningRho !== null)!;
    const page = readFileSync(join(site, channelPagePath(b.block, c.channel)), 'utf8');
    expect(page).toContain(`data-mix="${c.mix}"`);
    expect(page).toContain('<svg class="tuning"');
    expect(page).toContain('B(S(I*))');
    for (const n of nearestInM(b, c)) expect(page).toContain(`href="channel-${n.channel}.html"`);
    const d = details[1].channels[c.channel];
    expect(d.responses.branchOnZoomedInput).toHaveLength(5);
    expect(d.tuningCurve?.images).toBe(c.tuningImages);
  });

  describe.skipIf(noChromium)('from disk in headless Chromium', () => {
    let browser: Browser;
    let profile: string;

    beforeAll(async () => {
      profile = await mkdtemp(join(tmpdir(), 'resnet-stream-chromium-'));
      mkdirSync(SCREENSHOTS, { recursive: true });
      browser = await launchStaticBrowser(profile);
    });

    afterAll(async () => {
      await browser?.close();
      await rm(profile, { recursive: true, force: true });
    });

    async function open(path: string, problems: string[]): Promise<Page> {
      const page = await browser.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warn') problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${(e as Error).message}`));
      page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()}`));
      await page.setViewport({ width: 1200, height: 900 });
      const [file, hash] = path.split('#');
      await page.goto(pathToFileURL(join(dir, file)).href + (hash ? `#${hash}` : ''), { waitUntil: 'load' });
      return page;
    }

    const imagesLoaded = (page: Page) => page.evaluate(async () => {
      const imgs = Array.from(document.images);
      for (const img of imgs) {
        img.loading = 'eager';
        if (!img.complete) await new Promise((ok) => { img.onload = img.onerror = ok; });
      }
      return imgs.map((i) => i.naturalWidth);
    });

    it('opens the site index, a block index and channel pages with no console errors; links navigate', async () => {
      const problems: string[] = [];
      const page = await open('site/index.html', problems);
      expect(await page.$$eval('.map a.cell', (as) => as.length)).toBe(64 + 128);
      await Promise.all([page.waitForNavigation(), page.click('a[href="block-2.0/index.html"]')]);
      await page.waitForSelector('body[data-ready="yes"]');
      await Promise.all([page.waitForNavigation(), page.click('#channels tbody tr:nth-child(4) a')]);
      expect(page.url()).toMatch(/site\/block-2\.0\/channel-3\.html$/);
      const widths = await imagesLoaded(page);
      expect(widths.length).toBeGreaterThan(10);
      expect(widths.every((w) => w === 64)).toBe(true);
      expect(await page.$eval('main', (m) => (m as HTMLElement).dataset.channel)).toBe('3');
      expect(await page.$('svg.tuning')).not.toBeNull();
      await Promise.all([page.waitForNavigation(), page.click('a[rel="next"]')]);
      expect(page.url()).toMatch(/channel-4\.html$/);
      await imagesLoaded(page);
      checkScreenshot(await page.screenshot({ fullPage: true, type: 'png' }), join(SCREENSHOTS, 'site-channel.png'));
      expect(problems).toEqual([]);
      await page.close();
    });

    it('filters by category and scale invariance and sorts, keeping the view in the hash; the link restores it', async () => {
      const problems: string[] = [];
      const page = await open('site/block-2.0/index.html', problems);
      await page.waitForSelector('body[data-ready="yes"]');
      const visible = () => page.$$eval('#channels tbody tr', (rows) => rows.filter((r) => !(r as HTMLElement).hidden)
        .map((r) => ({ category: (r as HTMLElement).dataset.category, si: (r as HTMLElement).dataset.si, m: (r as HTMLTableRowElement).cells[2].dataset.v })));
      await page.select('#filter-category', 'mixture');
      await page.click('#channels thead th:nth-child(3)');
      await page.click('#channels thead th:nth-child(3)');
      const rows = await visible();
      const mixtures = analysis.blocks[1].channels.filter((c) => c.category === 'mixture');
      expect(rows.length).toBe(mixtures.length);
      expect(rows.every((r) => r.category === 'mixture')).toBe(true);
      const ms = rows.map((r) => Number(r.m));
      expect(ms).toEqual([...ms].sort((a, b) => b - a));
      const hash = await page.evaluate(() => location.hash);
      expect(hash).toBe('#category=mixture&sort=2-');
      // The link, opened afresh, restores the view.
      const again = await open(`site/block-2.0/index.html${hash}`, problems);
      await again.waitForSelector('body[data-ready="yes"]');
      expect(await again.$eval('#filter-category', (s) => (s as HTMLSelectElement).value)).toBe('mixture');
      const restored = await again.$$eval('#channels tbody tr', (rs) => rs.filter((r) => !(r as HTMLElement).hidden).map((r) => (r as HTMLTableRowElement).cells[0].dataset.v));
      expect(restored).toEqual(await page.$$eval('#channels tbody tr', (rs) => rs.filter((r) => !(r as HTMLElement).hidden).map((r) => (r as HTMLTableRowElement).cells[0].dataset.v)));
      await again.select('#filter-si', 'yes');
      const si = await again.$$eval('#channels tbody tr', (rs) => rs.filter((r) => !(r as HTMLElement).hidden).map((r) => (r as HTMLElement).dataset.si));
      expect(si.every((v) => v === 'yes')).toBe(true);
      expect(await again.evaluate(() => location.hash)).toBe('#category=mixture&si=yes&sort=2-');
      await imagesLoaded(again);
      await again.select('#filter-si', '');
      await again.select('#filter-category', '');
      checkScreenshot(await again.screenshot({ fullPage: false, type: 'png' }), join(SCREENSHOTS, 'site-block.png'));
      expect(problems).toEqual([]);
      await page.close();
      await again.close();
    });
  });
});
