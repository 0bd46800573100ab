// The demo page as an instrument (headless Chromium, SwiftShader, served by demo/serve.mjs --analysis
// DIR): the whole view restored from a link's hash (seeded random weights, a stimulus, block, channel,
// readout, zoom, ablation, the served analysis folder), the zoom slider (S_s and S^-1) and channel
// ablation (mean and zero, from a click and from the analysis' scale-invariant set) giving the centre
// units and top-5 the Node engine's direct call gives, the hash round-tripping through a reload, and
// the link from the view to the channel's page in the analysis' site. Plus the hash's parse/format.

import { resolveObjectURL } from 'node:buffer';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ViewState, DEFAULT_VIEW, formatHash, parseHash } from '../demo/hash';
import { folderFiles, resolvePath, rewritePage } from '../demo/folder';
import { channelMean } from '../demo/heatmap';
import { type AnalysisJson, type ImageRef, runDatasetAnalysis } from '../src/analysis/analyze';
import type { BlockDetails } from '../src/analysis/details';
import { readoutsFor } from '../src/analysis/readouts';
import { renderStimulus, stimulusSpecs } from '../src/analysis/stimuli';
import { torchvisionEval } from '../src/image/transforms';
import { zoom, zoomOut } from '../src/image/zoom';
import { ResNetEngine } from '../src/model/engine';
import type { Ablation } from '../src/model/planner';
import { writeAnalysisOutputs } from '../src/report/report-node';
import type { HostTensor } from '../src/weights/safetensors';
import { randomWeights } from '../src/weights/random';
import { noChromiumReason, withBrowserPage } from './helpers/browser';
import {
  SCREENSHOTS, builtDemo, checkScreenshot, expectCentresAsNode, expectTop5AsNode, openDemo, pageTop5, startDemoServer, waitFor,
} from './helpers/demo';
import { freshSeed, testContext } from './helpers/gpu';
import { syntheticEngine } from './helpers/synthetic';

describe('the demo view in the hash', () => {
  it('parses what it formats, defaults left out, malformed values ignored', () => {
    const views: ViewState[] = [
      { ...DEFAULT_VIEW, ablate: [] },
      { weights: 'random:42', image: 'rings_r08.png', block: '3.1', channel: 7, readout: 'branch', variant: 'pre-relu', zoom: 1.25, ablate: [1, 7, 9], mode: 'mean', analysis: '/analysis/' },
      { ...DEFAULT_VIEW, weights: 'http://127.0.0.1:8417/weights/resnet18 file.pth?x=1&y=2', zoom: 'out', ablate: [0], block: '1.0', channel: 0 },
    ];
    for (const v of views) expect(parseHash(formatHash(v))).toEqual(v);
    expect(formatHash({ ...DEFAULT_VIEW, ablate: [] })).toBe('');
    expect(formatHash(views[1])).toBe('#weights=random:42&image=rings_r08.png&block=3.1&channel=7&readout=branch&variant=pre-relu&zoom=1.25&ablate=1,7,9&mode=mean&analysis=/analysis/');
    expect(parseHash('#zoom=1.26&channel=-1&readout=x&ablate=3,a,3,1&mode=half')).toEqual({ ...DEFAULT_VIEW, zoom: 1.25, ablate: [1, 3] });
    expect(parseHash('#zoom=2').zoom).toBe(1);
  });
});

describe('an analysis folder chosen from disk', () => {
  const file = (path: string, text: string): File => Object.defineProperty(new File([text], path.split('/').pop()!), 'webkitRelativePath', { value: path });

  it('finds the folder holding analysis.json and opens a channel page with its stylesheet and images as blob: URLs', async () => {
    const files = folderFiles([
      file('runs/out/analysis.json', '{}'), file('runs/out/site/site.css', 'body{}'), file('runs/out/site/img/a.png', 'png'),
      file('runs/out/site/block-1.1/channel-3.html', '<link rel="stylesheet" href="../site.css"><img src="../img/a.png"><a href="channel-4.html">4</a><a href="../../index.html">r</a>'),
      file('runs/other.txt', 'x'),
    ]);
    expect([...files.keys()].sort()).toEqual(['analysis.json', 'site/block-1.1/channel-3.html', 'site/img/a.png', 'site/site.css']);
    expect(resolvePath('site/block-1.1/', '../img/a%20b.png')).toBe('site/img/a b.png');
    expect(resolvePath('site/', '../../x')).toBeNull();
    const url = await rewritePage(files, 'site/block-1.1/channel-3.html');
    const html = await resolveObjectURL(url!)!.text();
    expect(html).toMatch(/href="blob:[^"]+"><img src="blob:[^"]+">/);
    expect(html).toContain('href="channel-4.html"');
    expect(await rewritePage(files, 'site/block-1.1/channel-9.html')).toBeNull();
  });
});

const noChromium = noChromiumReason();
const demo = builtDemo('resnet-stream-demo-scope-');

describe.skipIf(noChromium)('the demo page: linked view, zoom, ablation, analysis folder (headless Chromium)', () => {
  let analysis: AnalysisJson;
  let analysisDir: string;
  let engine: ResNetEngine;

  beforeAll(async () => {
    analysisDir = join(demo.root, 'analysis');
    mkdirSync(analysisDir, { recursive: true });
    const specs = stimulusSpecs().filter((_, i) => i % 8 === 0);
    const images: ImageRef[] = specs.map((s, index) => ({ index, name: s.name }));
    const details: BlockDetails[] = [];
    analysis = await runDatasetAnalysis({
      images, blocks: ['3.1'], topK: 3, batchSize: 64, forwardCentres: syntheticEngine(3).forwardCentres, onBlockDetails: (d) => details.push(d),
    });
    const byName = new Map(specs.map((s) => [s.name, s]));
    await writeAnalysisOutputs(analysisDir, analysis, { site: { details, image: (n) => (byName.has(n) ? renderStimulus(byName.get(n)!) : undefined) } });
    engine = await ResNetEngine.create({ context: await testContext() });
  }, 120_000);

  afterAll(() => engine?.dispose());

  it('restores a linked view and computes zoom and ablation as the engine does', async () => {
    const seed = freshSeed();
    console.log(`random weights seed ${seed}`);
    engine.loadWeights(randomWeights(seed));
    const spec = stimulusSpecs().find((s) => s.family === 'rings')!;
    const x = torchvisionEval(renderStimulus(spec));
    const r = readoutsFor('3.1');
    const taps = ['fc', r.input, r.branch, r.output];
    const siChannels = analysis.blocks[0].channels.filter((c) => c.scaleInvariant).map((c) => c.channel);
    expect(siChannels.length, 'the synthetic analysis has scale-invariant channels').toBeGreaterThan(0);

    /** The engine's direct call: the clean forward, then the ablated one with the means of the clean readout. */
    const direct = async (input: HostTensor, channels: number[], mode: 'zero' | 'mean', tap = r.output) => {
      if (!channels.length) return { taps: await engine.forward(input, { taps }), values: [] };
      const clean = await engine.forward(input, { taps: [tap] });
      const values = mode === 'mean' ? channels.map((c) => channelMean(clean.get(tap)!, c)) : undefined;
      const ablation: Ablation = { tap, channels, ...(values ? { values } : {}) };
      return { taps: await engine.forward(input, { taps, ablations: [ablation] }), values: values ?? [] };
    };

    const server = await startDemoServer(demo.demoDir, ['--analysis', analysisDir], { RESNET_STREAM_CACHE: join(demo.root, 'no-cache') });
    try {
      await withBrowserPage({ adapter: 'swiftshader', timeoutMs: 420_000 }, async (s) => {
        const p = s.page;
        const shownAs = async (view: ViewState) => {
          const hash = formatHash(view);
          await waitFor(p, `document.body.dataset.run === 'error' || document.body.dataset.shown === ${JSON.stringify(hash)}`, 120_000);
          expect(await p.$eval('body', (b) => b.dataset.run)).toBe('done');
          expect(await p.evaluate(() => location.hash)).toBe(hash);
        };
        const pageState = async () => ({
          centres: await p.$eval('#centre-values', (e) => ({ ...(e as HTMLElement).dataset }) as Record<string, string>),
          ablation: await p.$eval('#ablation-status', (e) => ({ ...(e as HTMLElement).dataset }) as Record<string, string>),
          top5: await pageTop5(p),
        });
        const check = async (what: string, input: HostTensor, channels: number[], mode: 'zero' | 'mean') => {
          const got = await pageState();
          const want = await direct(input, channels, mode);
          expectCentresAsNode(got.centres, want.taps, r, 7);
          expectTop5AsNode(got.top5, want.taps.get('fc')!.data, what);
          expect(got.ablation.channels ?? '', what).toBe(channels.join(','));
          const values = (got.ablation.values ?? '').split(',').filter(Boolean).map(Number);
          expect(values.length, what).toBe(want.values.length);
          values.forEach((v, i) => expect(Math.abs(v - want.values[i]), `${what}: mean of channel ${channels[i]}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want.values[i]))));
          return got;
        };

        // 1. A link: everything of the view in the hash.
        const linked: ViewState = { weights: `random:${seed}`, image: spec.name, block: '3.1', channel: 7, readout: 'output', variant: 'post-relu', zoom: 1.25, ablate: [3, 7], mode: 'mean', analysis: '/analysis/' };
        await p.setViewport({ width: 1280, height: 1500 });
        await openDemo(p, server.url + formatHash(linked));
        await shownAs(linked);
        expect(await p.$eval('body', (b) => b.dataset.analysis)).toBe('loaded');
        expect(await p.$eval('#zoom', (e) => (e as HTMLInputElement).value)).toBe('1.25');
        const first = await check('zoom 1.25, channels 3 and 7 of O at their means', zoom(x, 1.25), [3, 7], 'mean');
        expect(await p.$eval('#top5-clean', (e) => (e as HTMLElement).hidden)).toBe(false);

        // 2. S^-1.
        await p.click('#zoom-out');
        await shownAs({ ...linked, zoom: 'out' });
        await check('S^-1, ablated', zoomOut(x), [3, 7], 'mean');

        // 3. The slider to s = 1.5 (S), the ablation cleared.
        await p.click('#zoom-out');
        await shownAs(linked);
        await p.$eval('#zoom', (e) => {
          (e as HTMLInputElement).value = '1.5';
          e.dispatchEvent(new Event('input', { bubbles: true }));
        });
        await shownAs({ ...linked, zoom: 1.5 });
        await p.click('#ablate-clear');
        await shownAs({ ...linked, zoom: 1.5, ablate: [] });
        await check('S, no ablation', zoom(x, 1.5), [], 'zero');
        const trace = await p.$$eval('#zoom-trace tbody tr', (rows) => rows.map((row) => (row as HTMLElement).dataset.zoom));
        expect(trace).toContain('1.50');

        // 4. The analysis' scale-invariant set, zeroed; then channel 7 toggled from the button.
        await p.select('#ablate-mode', 'zero');
        await p.click('#ablate-si');
        const si: ViewState = { ...linked, zoom: 1.5, ablate: siChannels, mode: 'zero' };
        await shownAs(si);
        await check('S, the scale-invariant set zeroed', zoom(x, 1.5), siChannels, 'zero');

        // 5. The link to the channel's page in the served folder's site, and the page itself.
        const href = await p.$eval('#channel-page', (a) => (a as HTMLAnchorElement).getAttribute('href'));
        expect(href).toBe('/analysis/site/block-3.1/channel-7.html');
        const shot = await p.screenshot({ fullPage: true, type: 'png' });
        checkScreenshot(shot, join(SCREENSHOTS, 'demo-scope.png'));

        // 6. The hash round-trips through a reload: the same view, the same numbers.
        const hash = await p.evaluate(() => location.hash);
        expect(parseHash(hash)).toEqual(si);
        const before = await pageState();
        await p.goto('about:blank');
        await openDemo(p, server.url + hash);
        await shownAs(si);
        expect(await pageState()).toEqual(before);

        const site = await p.browser().newPage();
        await site.goto(new URL(href!, server.url).href);
        expect(await site.$eval('main', (m) => (m as HTMLElement).dataset.channel)).toBe('7');
        expect(await site.title()).toContain('Block 3.1 · channel 7');
        await site.close();
        expect(first.top5).toHaveLength(5);
        expect(s.consoleErrors).toEqual([]);
      });
    } finally {
      server.proc.kill();
    }
  }, 450_000);
});
