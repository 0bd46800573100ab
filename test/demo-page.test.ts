// The demo page end to end in headless Chromium (SwiftShader), served by demo/serve.mjs exactly as
// `npm run demo` serves it: a full synthetic checkpoint (seeded random weights as a torch.save .pth)
// chosen with the file input, a generated stimulus, the top-5 classes checked against the Node
// engine, the stream view of block 4.1 (centre values checked against Node), an analysis.json
// loaded (M, category, histogram); then the shared partial checkpoint through the URL field the
// server fills in (the notice, blocks 4.x disabled, the stream view of 3.1). Screenshots must not be
// blank and the console must stay free of errors.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AnalysisJson, analyzeBlock } from '../src/analysis/analyze';
import { readoutsFor } from '../src/analysis/readouts';
import { renderStimulus, stimulusSpecs } from '../src/analysis/stimuli';
import { torchvisionEval } from '../src/image/transforms';
import { loadCheckpoint } from '../src/weights/load';
import { writePth } from '../src/weights/pth-writer';
import { randomWeights } from '../src/weights/random';
import { mulberry32 } from '../src/util/random';
import { noChromiumReason, withBrowserPage } from './helpers/browser';
import {
  SCREENSHOTS, builtDemo, canvasColours, checkScreenshot, expectCentresAsNode, expectTop5AsNode, nodeTaps, pageTop5, selectBlockAndChannel,
  chooseStimulus, openDemo, startDemoServer, waitFor,
} from './helpers/demo';
import { freshSeed } from './helpers/gpu';
import { PARTIAL_WEIGHTS, sharedMissing } from './helpers/shared';

const noChromium = noChromiumReason();

const demo = builtDemo('resnet-stream-demo-');

/** An analysis.json of blocks 3.1 and 4.1 from random probe responses, through the real analysis code. */
function syntheticAnalysis(seed: number): AnalysisJson {
  const rand = mulberry32(seed);
  const values = () => [0, 1, 2].map(() => rand() * 2 - 0.5);
  const block = (name: string) => {
    const readouts = readoutsFor(name);
    const C = readouts.channels;
    const names = () => Array.from({ length: C }, () => ['a.png', 'b.png', 'c.png']);
    return analyzeBlock({
      readouts,
      probes: { input: names(), branch: names(), output: names() },
      responses: Array.from({ length: C }, () => ({
        inputOnInput: values(), inputOnBranch: values(), inputOnZoomedOutBranch: values(), branchOnInput: values(),
        branchOnBranch: values(), branchOnZoomedInput: values(), outputOnInput: values(), outputOnBranch: values(),
      })),
    });
  };
  return {
    version: 1,
    meta: { probes: 'dataset', variant: 'post-relu', topK: 3, images: 3, zoomFactors: [], tuningCurves: false, date: new Date().toISOString(), weights: 'synthetic' },
    skipped: [],
    blocks: [block('3.1'), block('4.1')],
  };
}

describe.skipIf(noChromium)('the demo page (npm run demo) in headless Chromium', () => {
  it('runs a full synthetic checkpoint from the file input: top-5 as in Node, stream view, analysis.json', async () => {
    const seed = freshSeed();
    console.log(`synthetic checkpoint seed ${seed}`);
    const weights = randomWeights(seed);
    const pthFile = join(demo.root, `synthetic-${seed}.pth`);
    writeFileSync(pthFile, writePth(weights));
    const analysisFile = join(demo.root, 'analysis.json');
    const analysis = syntheticAnalysis(seed);
    writeFileSync(analysisFile, JSON.stringify(analysis));
    const stimulus = stimulusSpecs().find((s) => s.family === 'rings')!;

    const server = await startDemoServer(demo.demoDir, [], { RESNET_STREAM_CACHE: join(demo.root, 'no-cache') });
    const t0 = Date.now();
    try {
      const page = await withBrowserPage({ adapter: 'swiftshader', timeoutMs: 240_000 }, async (s) => {
        const p = s.page;
        await openDemo(p, server.url);
        // Choose the image first (nothing runs without weights), then the weights: one forward.
        await chooseStimulus(p, stimulus.name);
        const input = await p.$('#weights-file');
        await (input as unknown as { uploadFile(f: string): Promise<void> }).uploadFile(pthFile);
        const tRun = Date.now();
        await waitFor(p, "document.body.dataset.run === 'done' || document.body.dataset.run === 'error'", 180_000);
        const runSeconds = (Date.now() - tRun) / 1000;
        const runStatus = await p.$eval('#run-status', (e) => e.textContent ?? '');
        expect(await p.$eval('body', (b) => b.dataset.run), runStatus).toBe('done');
        const top5 = await pageTop5(p);
        const noticeHidden = await p.$eval('#classify-notice', (e) => (e as HTMLElement).hidden);
        const disabledBlocks = await p.$$eval('#block option', (os) => os.filter((o) => (o as HTMLOptionElement).disabled).map((o) => (o as HTMLOptionElement).value));

        await selectBlockAndChannel(p, '4.1', 7);
        const centreValues = await p.$eval('#centre-values', (e) => ({ ...(e as HTMLElement).dataset, text: e.textContent ?? '' }) as Record<string, string>);
        const mapColours = [await canvasColours(p, 'map-input'), await canvasColours(p, 'map-branch'), await canvasColours(p, 'map-output')];
        const stripColours = await canvasColours(p, 'channel-strip');

        const upload = await p.$('#analysis-file');
        await (upload as unknown as { uploadFile(f: string): Promise<void> }).uploadFile(analysisFile);
        await waitFor(p, "document.body.dataset.analysis === 'loaded'", 10_000);
        const channelAnalysis = await p.$eval('#channel-analysis', (e) => ({ ...(e as HTMLElement).dataset, text: e.textContent ?? '' }) as Record<string, string>);
        const histogramColours = await canvasColours(p, 'mix-histogram');
        const fractionsColours = await canvasColours(p, 'fractions-chart');
        const screenshot = await p.screenshot({ fullPage: true, type: 'png' });
        return {
          top5, noticeHidden, disabledBlocks, centreValues, mapColours, stripColours, channelAnalysis, histogramColours, fractionsColours,
          screenshot, runSeconds, runStatus, errors: [...s.consoleErrors],
        };
      });
      console.log(`demo, synthetic checkpoint: ${((Date.now() - t0) / 1000).toFixed(1)} s in all; ${page.runStatus} (${page.runSeconds.toFixed(1)} s from upload)`);
      expect(page.errors).toEqual([]);
      expect(page.noticeHidden).toBe(true);
      expect(page.disabledBlocks).toEqual([]);

      // Top-5 as the Node engine computes it on the same stimulus.
      const rgb = renderStimulus(stimulus);
      const input = torchvisionEval(rgb);
      const r = readoutsFor('4.1');
      const node = await nodeTaps(weights, input, ['fc', r.input, r.branch, r.output]);
      expectTop5AsNode(page.top5, node.get('fc')!.data, `seed ${seed}`);

      // The stream view of block 4.1, channel 7: the centre unit of I, B and O as in Node.
      expectCentresAsNode(page.centreValues, node, r, 7);
      expect(page.centreValues.text).toContain('Block 4.1, channel 7 of 512, 7×7 maps');
      expect(page.centreValues.text).toContain('O = ReLU(I + B)');
      const [ci, cb, co] = ['i', 'b', 'o'].map((k) => Number(page.centreValues[k]));
      expect(Math.abs(co - Math.max(0, ci + cb))).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(co)));
      for (const n of page.mapColours) expect(n, 'a heatmap shows several colours').toBeGreaterThan(5);
      expect(page.stripColours).toBeGreaterThan(20);

      // The analysis of channel 7 of block 4.1.
      const c7 = analysis.blocks[1].channels[7];
      expect(page.channelAnalysis.mix).toBe(String(c7.mix));
      expect(page.channelAnalysis.category).toBe(String(c7.category));
      expect(page.channelAnalysis.text).toContain('mix ratio M');
      expect(page.histogramColours).toBeGreaterThan(10);
      expect(page.fractionsColours).toBeGreaterThan(10);

      const shot = checkScreenshot(page.screenshot, join(SCREENSHOTS, 'demo-synthetic.png'));
      console.log(`screenshot ${SCREENSHOTS}/demo-synthetic.png: ${shot.colours} colours, luminance sd ${shot.sd.toFixed(1)}`);
    } finally {
      server.proc.kill();
    }
  }, 300_000);

  const noShared = sharedMissing(PARTIAL_WEIGHTS);
  it.skipIf(noShared)('runs the shared partial checkpoint from the URL the server offers: notice, stream view through layer3.1', async () => {
    const server = await startDemoServer(demo.demoDir, [], { RESNET_STREAM_CACHE: join(demo.root, 'no-cache') });
    expect(server.stdout.join('')).toContain('/weights/resnet18-imagenet1k-v1-partial.pth');
    const t0 = Date.now();
    try {
      const page = await withBrowserPage({ adapter: 'swiftshader', timeoutMs: 240_000 }, async (s) => {
        const p = s.page;
        await openDemo(p, server.url, 1300);
        const url = await p.$eval('#weights-url', (e) => (e as HTMLInputElement).value);
        await p.click('#weights-load');
        await waitFor(p, "document.body.dataset.run === 'done' || document.body.dataset.run === 'error'", 180_000);
        const runStatus = await p.$eval('#run-status', (e) => e.textContent ?? '');
        const weightsStatus = await p.$eval('#weights-status', (e) => e.textContent ?? '');
        const image = await p.$eval('body', (b) => b.dataset.image ?? '');
        const notice = await p.$eval('#classify-notice', (e) => ({ hidden: (e as HTMLElement).hidden, text: e.textContent ?? '' }));
        const top5Count = await p.$$eval('#top5 li', (lis) => lis.length);
        const options = await p.$$eval('#block option', (os) => os.map((o) => ({ value: (o as HTMLOptionElement).value, disabled: (o as HTMLOptionElement).disabled })));
        await selectBlockAndChannel(p, '3.1', 100);
        const centreValues = await p.$eval('#centre-values', (e) => ({ ...(e as HTMLElement).dataset, text: e.textContent ?? '' }) as Record<string, string>);
        const mapColours = [await canvasColours(p, 'map-input'), await canvasColours(p, 'map-branch'), await canvasColours(p, 'map-output')];
        // Feature visualisation: only taps the checkpoint reaches are offered, and the page says why.
        const fv = await p.evaluate(() => ({
          notice: { hidden: document.getElementById('fv-notice')!.hidden, text: document.getElementById('fv-notice')!.textContent ?? '' },
          disabled: Array.from((document.getElementById('fv-tap') as HTMLSelectElement).options).filter((o) => o.disabled).map((o) => o.value),
          enabled: Array.from((document.getElementById('fv-tap') as HTMLSelectElement).options).filter((o) => !o.disabled).map((o) => o.value),
          start: (document.getElementById('fv-start') as HTMLButtonElement).disabled,
        }));
        const screenshot = await p.screenshot({ fullPage: true, type: 'png' });
        return { url, runStatus, weightsStatus, image, notice, top5Count, options, centreValues, mapColours, fv, screenshot, errors: [...s.consoleErrors] };
      });
      console.log(`demo, shared partial checkpoint: ${((Date.now() - t0) / 1000).toFixed(1)} s in all; ${page.runStatus}\n  ${page.weightsStatus}`);
      expect(page.errors).toEqual([]);
      expect(page.url).toBe('/weights/resnet18-imagenet1k-v1-partial.pth');
      expect(page.weightsStatus).toContain('runs through layer3.1');
      expect(page.notice.hidden).toBe(false);
      expect(page.notice.text).toContain('This checkpoint stops at layer3.1: classification needs the full file');
      expect(page.top5Count).toBe(0);
      expect(page.options.filter((o) => o.disabled).map((o) => o.value)).toEqual(['4.0', '4.1']);
      expect(page.options.filter((o) => !o.disabled).map((o) => o.value)).toEqual(['1.0', '1.1', '2.0', '2.1', '3.0', '3.1']);
      for (const n of page.mapColours) expect(n).toBeGreaterThan(5);
      expect(page.fv.notice.hidden).toBe(false);
      expect(page.fv.notice.text).toContain('This checkpoint reaches layer3.1: only taps up to there can be visualised');
      expect(page.fv.start).toBe(false);
      expect(page.fv.disabled.length).toBeGreaterThan(0);
      expect(page.fv.disabled.every((t) => t.startsWith('layer4.') || t === 'avgpool'), page.fv.disabled.join(' ')).toBe(true);
      expect(page.fv.enabled).toContain('conv1');
      expect(page.fv.enabled).toContain('layer3.1');
      expect(page.fv.enabled.some((t) => t.startsWith('layer4.'))).toBe(false);

      // Centre values of block 3.1, channel 100, against the Node engine on the same stimulus.
      const spec = stimulusSpecs().find((sp) => sp.name === page.image)!;
      const checkpoint = loadCheckpoint(new Uint8Array(readFileSync(PARTIAL_WEIGHTS)), 'partial', { hash: false });
      const r = readoutsFor('3.1');
      const node = await nodeTaps(checkpoint.tensors, torchvisionEval(renderStimulus(spec)), [r.input, r.branch, r.output]);
      expectCentresAsNode(page.centreValues, node, r, 100);
      const shot = checkScreenshot(page.screenshot, join(SCREENSHOTS, 'demo-partial.png'));
      console.log(`screenshot ${SCREENSHOTS}/demo-partial.png: ${shot.colours} colours, luminance sd ${shot.sd.toFixed(1)}`);
    } finally {
      server.proc.kill();
    }
  }, 300_000);
});
