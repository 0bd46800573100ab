// The demo page on torchvision's ResNet family in headless Chromium (SwiftShader), served by
// demo/serve.mjs as `npm run demo` serves it: a resnet50 checkpoint (seeded hash weights,
// safetensors) through the URL the server offers with --weights, then a resnext50_32x4d one (torch.save
// .pth) through the file input, then random ResNet18 weights; before them, a checkpoint of no family
// member, refused in one line. Each time: the page names the network,
// the block picker lists that network's blocks, the stream view shows its readouts (bn3 as a
// Bottleneck's branch), and the top-5 and the centre values of I, B and O equal the Node engine's on
// the same stimulus within 1e-4 of the scale (the network test checks the Node engine against PyTorch
// on these weights). Feature visualisation reaches every tap, with the jitter by position. The console stays free of errors.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
import { readoutsFor } from '../src/analysis/readouts';
import { renderStimulus, stimulusSpecs } from '../src/analysis/stimuli';
import { torchvisionEval } from '../src/image/transforms';
import { architectureOf } from '../src/model/family';
import { writePth } from '../src/weights/pth-writer';
import { writeSafetensors } from '../src/weights/safetensors';
import { noChromiumReason, withBrowserPage } from './helpers/browser';
import {
  SCREENSHOTS, builtDemo, checkScreenshot, expectCentresAsNode, expectTop5AsNode, nodeTaps, pageTop5, selectBlockAndChannel,
  chooseStimulus, openDemo, startDemoServer, waitFor,
} from './helpers/demo';
import { familyWeights } from './reference/family-weights';

const noChromium = noChromiumReason();
const demo = builtDemo('resnet-stream-demo-family-');

/** What the page shows of the loaded network once a run is done. */
async function pageNetwork(p: Page) {
  return p.evaluate(() => ({
    architecture: document.body.dataset.architecture,
    names: Array.from(document.querySelectorAll('.arch-name'), (e) => e.textContent),
    blocks: Array.from((document.getElementById('block') as HTMLSelectElement).options, (o) => ({ value: o.value, disabled: o.disabled })),
    weightsStatus: document.getElementById('weights-status')!.textContent ?? '',
    runStatus: document.getElementById('run-status')!.textContent ?? '',
    run: document.body.dataset.run,
    runs: Number(document.body.dataset.runs ?? 0),
  }));
}

/** The stream view of one block and channel: the tap names it shows and its centre values. */
async function streamView(p: Page, block: string, channel: number) {
  await selectBlockAndChannel(p, block, channel);
  return p.evaluate(() => ({
    taps: ['input', 'branch', 'output'].map((k) => document.getElementById(`tap-${k}`)!.textContent),
    centre: { ...document.getElementById('centre-values')!.dataset, text: document.getElementById('centre-values')!.textContent ?? '' } as Record<string, string>,
  }));
}

/** Wait for the run after weights started loading (the run counter passes `runs`). */
async function waitForRun(p: Page, runs: number): Promise<void> {
  await waitFor(p, `(document.body.dataset.run === 'done' && Number(document.body.dataset.runs) > ${runs}) ||
    document.body.dataset.run === 'error' || document.body.dataset.weights === 'error'`, 240_000);
}

describe.skipIf(noChromium)("the demo page on torchvision's ResNet family", () => {
  it('refuses a non-family checkpoint; resnet50 by URL, resnext50_32x4d by file, random ResNet18: picker, readouts, top-5 and centre values as in Node', async () => {
    const seed = 14;
    const r50 = familyWeights('resnet50', seed);
    const rx50 = familyWeights('resnext50_32x4d', seed + 1);
    const r50File = join(demo.root, 'resnet50-hash.safetensors');
    const rx50File = join(demo.root, 'resnext50-hash.pth');
    writeFileSync(r50File, writeSafetensors(r50));
    writeFileSync(rx50File, writePth(rx50));
    const vggFile = join(demo.root, 'vgg-like.safetensors');
    writeFileSync(vggFile, writeSafetensors(new Map([['features.0.weight', { shape: [8, 3, 3, 3], data: new Float32Array(216) }]])));
    const stimulus = stimulusSpecs().find((s) => s.family === 'gabor')!;
    const server = await startDemoServer(demo.demoDir, ['--weights', r50File], { RESNET_STREAM_CACHE: join(demo.root, 'no-cache') });
    const t0 = Date.now();
    try {
      const page = await withBrowserPage({ adapter: 'swiftshader', timeoutMs: 600_000 }, async (s) => {
        const p = s.page;
        await openDemo(p, server.url);
        await chooseStimulus(p, stimulus.name);

        // A checkpoint of no family member: one line in the weights panel, nothing loaded.
        const fileInput = await p.$('#weights-file');
        await (fileInput as unknown as { uploadFile(f: string): Promise<void> }).uploadFile(vggFile);
        await waitFor(p, "document.body.dataset.weights === 'error'", 30_000);
        const refused = await p.$eval('#weights-status', (e) => e.textContent ?? '');

        // resnet50 from the URL field, which the server filled in.
        const url = await p.$eval('#weights-url', (e) => (e as HTMLInputElement).value);
        await p.click('#weights-load');
        await waitForRun(p, 0);
        const r50Network = await pageNetwork(p);
        const r50Top5 = await pageTop5(p);
        const r50Late = await streamView(p, '4.2', 7);
        const r50Down = await streamView(p, '2.0', 300);
        const fv = await p.evaluate(() => ({
          notice: document.getElementById('fv-notice')!.hidden ? '' : document.getElementById('fv-notice')!.textContent,
          startDisabled: (document.getElementById('fv-start') as HTMLButtonElement).disabled,
          options: Array.from((document.getElementById('fv-tap') as HTMLSelectElement).options).map((o) => ({ text: o.textContent, disabled: o.disabled })),
        }));
        const screenshot = await p.screenshot({ fullPage: true, type: 'png' });

        // resnext50_32x4d from the file input: the picker is rebuilt for it.
        await (fileInput as unknown as { uploadFile(f: string): Promise<void> }).uploadFile(rx50File);
        await waitForRun(p, r50Network.runs);
        const rx50Network = await pageNetwork(p);
        const rx50Top5 = await pageTop5(p);
        const rx50View = await streamView(p, '3.5', 100);

        // Back to ResNet18 (random weights): eight blocks again.
        await p.click('#weights-random');
        await waitForRun(p, rx50Network.runs);
        const r18Network = await pageNetwork(p);
        return { refused, url, r50Network, r50Top5, r50Late, r50Down, fv, screenshot, rx50Network, rx50Top5, rx50View, r18Network, errors: [...s.consoleErrors] };
      });
      console.log(`demo, family: ${((Date.now() - t0) / 1000).toFixed(1)} s in all; resnet50: ${page.r50Network.runStatus} ` +
        `resnext50_32x4d: ${page.rx50Network.runStatus}`);
      expect(page.errors).toEqual([]);
      expect(page.refused).toBe("vgg-like.safetensors: 1 tensor(s) are not part of torchvision's resnet18: 'features.0.weight'");
      expect(page.url).toBe('/weights/resnet50-hash.safetensors');

      // resnet50: named, 16 blocks 1.0 .. 4.2, all computable.
      const r50Blocks = architectureOf('resnet50').blocks.map((b) => b.short);
      expect(r50Blocks).toHaveLength(16);
      expect(page.r50Network.run, page.r50Network.runStatus).toBe('done');
      expect(page.r50Network.architecture).toBe('resnet50');
      expect(page.r50Network.names.every((n) => n === 'ResNet50'), page.r50Network.names.join()).toBe(true);
      expect(page.r50Network.weightsStatus).toContain('ResNet50');
      expect(page.r50Network.blocks).toEqual(r50Blocks.map((value) => ({ value, disabled: false })));
      expect(page.r50Late.taps).toEqual(['layer4.1', 'layer4.2.bn3', 'layer4.2']);
      expect(page.r50Down.taps).toEqual(['layer2.0.downsample.1', 'layer2.0.bn3', 'layer2.0']);
      expect(page.r50Late.centre.text).toContain('Block 4.2, channel 7 of 2048, 7×7 maps');
      // Feature visualisation reaches every tap of resnet50, with METHOD.md's jitter by position.
      expect(page.fv.startDisabled).toBe(false);
      expect(page.fv.notice).toBe('');
      expect(page.fv.options.every((o) => !o.disabled)).toBe(true);
      expect(page.fv.options.map((o) => o.text)).toEqual(expect.arrayContaining(['layer2.0.bn3 (j = 0)', 'layer2.3.bn3 (j = 4)', 'layer3.5 (j = 16)', 'layer4.2.bn3 (j = 16)']));
      const r50Input = torchvisionEval(renderStimulus(stimulus));
      const late = readoutsFor('4.2', 'post-relu', architectureOf('resnet50'));
      const down = readoutsFor('2.0', 'post-relu', architectureOf('resnet50'));
      const r50Node = await nodeTaps(r50, r50Input, ['fc', late.input, late.branch, late.output, down.input, down.branch, down.output]);
      expectTop5AsNode(page.r50Top5, r50Node.get('fc')!.data, 'resnet50');
      expectCentresAsNode(page.r50Late.centre, r50Node, late, 7);
      expectCentresAsNode(page.r50Down.centre, r50Node, down, 300);

      // resnext50_32x4d: the same blocks, its own name and values.
      expect(page.rx50Network.run, page.rx50Network.runStatus).toBe('done');
      expect(page.rx50Network.architecture).toBe('resnext50_32x4d');
      expect(page.rx50Network.names.every((n) => n === 'ResNeXt50_32x4d'), page.rx50Network.names.join()).toBe(true);
      expect(page.rx50Network.blocks.map((b) => b.value)).toEqual(r50Blocks);
      expect(page.rx50View.taps).toEqual(['layer3.4', 'layer3.5.bn3', 'layer3.5']);
      const mid = readoutsFor('3.5', 'post-relu', architectureOf('resnext50_32x4d'));
      const rx50Node = await nodeTaps(rx50, r50Input, ['fc', mid.input, mid.branch, mid.output]);
      expectTop5AsNode(page.rx50Top5, rx50Node.get('fc')!.data, 'resnext50_32x4d');
      expectCentresAsNode(page.rx50View.centre, rx50Node, mid, 100);

      // ResNet18 again: its eight blocks.
      expect(page.r18Network.architecture).toBe('resnet18');
      expect(page.r18Network.names.every((n) => n === 'ResNet18')).toBe(true);
      expect(page.r18Network.blocks.map((b) => b.value)).toEqual(['1.0', '1.1', '2.0', '2.1', '3.0', '3.1', '4.0', '4.1']);

      const shot = checkScreenshot(page.screenshot, join(SCREENSHOTS, 'demo-resnet50.png'));
      console.log(`screenshot ${SCREENSHOTS}/demo-resnet50.png: ${shot.colours} colours, luminance sd ${shot.sd.toFixed(1)}`);
    } finally {
      server.proc.kill();
    }
  }, 900_000);

  it('a partial resnet101 (stem, layer1 and one tensor of layer3.22): 33 blocks listed, those it reaches enabled', async () => {
    // layer3.22 exists in resnet101 and resnet152 only; the fewer missing tensors make it resnet101.
    const keep = /^(conv1|bn1|layer1\.)|^layer3\.22\.conv1\.weight$/;
    const weights = new Map([...familyWeights('resnet101', 7)].filter(([name]) => keep.test(name)));
    const file = join(demo.root, 'resnet101-partial.pth');
    writeFileSync(file, writePth(weights));
    const server = await startDemoServer(demo.demoDir, [], { RESNET_STREAM_CACHE: join(demo.root, 'no-cache') });
    try {
      const page = await withBrowserPage({ adapter: 'swiftshader', timeoutMs: 300_000 }, async (s) => {
        const p = s.page;
        await openDemo(p, server.url);
        const fileInput = await p.$('#weights-file');
        await (fileInput as unknown as { uploadFile(f: string): Promise<void> }).uploadFile(file);
        await waitForRun(p, 0);
        const network = await pageNetwork(p);
        const notice = await p.$eval('#classify-notice', (e) => ((e as HTMLElement).hidden ? '' : e.textContent ?? ''));
        const view = await streamView(p, '1.2', 200);
        return { network, notice, view, errors: [...s.consoleErrors] };
      });
      expect(page.errors).toEqual([]);
      expect(page.network.run, page.network.runStatus).toBe('done');
      expect(page.network.architecture).toBe('resnet101');
      expect(page.network.names.every((n) => n === 'ResNet101')).toBe(true);
      const blocks = architectureOf('resnet101').blocks.map((b) => b.short);
      expect(blocks).toHaveLength(33);
      expect(page.network.blocks.map((b) => b.value)).toEqual(blocks);
      expect(page.network.blocks.filter((b) => !b.disabled).map((b) => b.value)).toEqual(['1.0', '1.1', '1.2']);
      expect(page.network.weightsStatus).toContain('runs through layer1.2');
      expect(page.notice).toContain('This checkpoint stops at layer1.2');
      expect(page.view.taps).toEqual(['layer1.1', 'layer1.2.bn3', 'layer1.2']);
      expect(page.view.centre.text).toContain('Block 1.2, channel 200 of 256, 56×56 maps');
    } finally {
      server.proc.kill();
    }
  }, 600_000);
});
