// The demo page's feature visualisation in headless Chromium (SwiftShader), served as `npm run demo`
// serves it: seeded random weights of the stem, layer1 and layer2 only (a partial checkpoint, so the
// page's forward stays short on a CPU adapter) chosen with the file input, block 2.1 channel 5, a click on its branch map
// B starts a 48 px, 16-step visualisation; the canvas is redrawn every 4 steps, is not blank and
// changes, the objective (minus the centre unit) goes down, steps/s is shown, taps beyond layer2 are
// disabled with a notice; then a long run is
// stopped with the Stop button. No console errors; a screenshot is saved to test/.build.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writePth } from '../src/weights/pth-writer';
import { randomWeights } from '../src/weights/random';
import { noChromiumReason, withBrowserPage } from './helpers/browser';
import { SCREENSHOTS, builtDemo, canvasColours, checkScreenshot, openDemo, startDemoServer, waitFor } from './helpers/demo';
import { freshSeed } from './helpers/gpu';

const noChromium = noChromiumReason();

const demo = builtDemo('resnet-stream-demo-fv-');

describe.skipIf(noChromium)('the demo page: click a channel, see its feature visualisation', () => {
  it('visualises block 2.1 channel 5 (branch B) live at 48 px, 16 steps, and stops a long run on Stop', async () => {
    const seed = freshSeed();
    console.log(`random weights seed ${seed}`);
    const keep = /^(conv1|bn1|layer1|layer2)\./;
    const pthFile = join(demo.root, `random-to-layer2-${seed}.pth`);
    writeFileSync(pthFile, writePth(new Map([...randomWeights(seed)].filter(([name]) => keep.test(name)))));
    const server = await startDemoServer(demo.demoDir, [], { RESNET_STREAM_CACHE: join(demo.root, 'no-cache') });
    const t0 = Date.now();
    try {
      const page = await withBrowserPage({ adapter: 'swiftshader', timeoutMs: 330_000 }, async (s) => {
        const p = s.page;
        await openDemo(p, server.url, 1900);
        expect(await p.$eval('#fv-start', (b) => (b as HTMLButtonElement).disabled), 'no weights yet: nothing to visualise').toBe(true);
        const input = await p.$('#weights-file');
        await (input as unknown as { uploadFile(f: string): Promise<void> }).uploadFile(pthFile);
        await waitFor(p, "document.body.dataset.run === 'done' || document.body.dataset.run === 'error'", 200_000);
        const tForward = Date.now();
        await p.select('#fv-size', '48');
        await p.select('#fv-steps', '16');
        await p.select('#block', '2.1');
        await p.$eval('#channel', (e) => {
          (e as HTMLInputElement).value = '5';
          e.dispatchEvent(new Event('input', { bubbles: true }));
        });
        await waitFor(p, "document.body.dataset.view === '2.1:5:post-relu'", 10_000);
        const fvBefore = await p.evaluate(() => ({
          notice: document.getElementById('fv-notice')!.textContent ?? '', start: (document.getElementById('fv-start') as HTMLButtonElement).disabled,
          disabled: Array.from((document.getElementById('fv-tap') as HTMLSelectElement).options).filter((o) => o.disabled).map((o) => o.value),
        }));
        await p.click('#map-branch'); // the click on a channel's map starts its visualisation
        await waitFor(p, "document.body.dataset.fv === 'done' || document.body.dataset.fv === 'error'", 120_000);
        const fvSeconds = (Date.now() - tForward) / 1000;
        const done = await p.evaluate(() => ({
          state: document.body.dataset.fv,
          tap: (document.getElementById('fv-tap') as HTMLSelectElement).value,
          channel: (document.getElementById('fv-channel') as HTMLInputElement).value,
          status: document.getElementById('fv-status')!.textContent ?? '',
          first: Number(document.getElementById('fv-status')!.dataset.first),
          last: Number(document.getElementById('fv-status')!.dataset.last),
          stepsPerSecond: Number(document.getElementById('fv-status')!.dataset.stepsPerSecond),
          draws: Number(document.getElementById('fv-canvas')!.dataset.draws),
          checksums: (document.getElementById('fv-canvas')!.dataset.checksums ?? '').split(' '),
        }));
        const imageColours = await canvasColours(p, 'fv-canvas');
        const objectiveColours = await canvasColours(p, 'fv-objective');
        const screenshot = await p.screenshot({ fullPage: true, type: 'png' });

        // A long run, stopped by the button after a few steps.
        await p.select('#fv-steps', '2560');
        await p.click('#fv-start');
        await waitFor(p, "document.body.dataset.fv === 'running' && Number(document.body.dataset.fvStep) >= 2", 30_000);
        await p.click('#fv-stop');
        await waitFor(p, "document.body.dataset.fv !== 'running'", 30_000);
        const stopped = await p.evaluate(() => ({
          state: document.body.dataset.fv, step: Number(document.body.dataset.fvStep), status: document.getElementById('fv-status')!.textContent ?? '',
          stop: (document.getElementById('fv-stop') as HTMLButtonElement).disabled,
        }));
        return { fvBefore, done, imageColours, objectiveColours, screenshot, stopped, fvSeconds, errors: [...s.consoleErrors] };
      });
      console.log(`demo fv: ${((Date.now() - t0) / 1000).toFixed(1)} s in all, ${page.fvSeconds.toFixed(1)} s for the 16-step run; ${page.done.status}`);
      console.log(`  stop: ${page.stopped.status}`);
      expect(page.errors).toEqual([]);
      expect(page.fvBefore.start).toBe(false);
      expect(page.fvBefore.notice).toContain('This checkpoint reaches layer2.1: only taps up to there can be visualised');
      expect(page.fvBefore.disabled[0]).toBe('layer3.0.bn1');
      expect(page.fvBefore.disabled.every((t) => /^(layer3|layer4|avgpool)/.test(t))).toBe(true);
      expect(page.done.state, page.done.status).toBe('done');
      expect(page.done.tap).toBe('layer2.1.bn2');
      expect(page.done.channel).toBe('5');
      expect(page.done.status).toMatch(/layer2\.1\.bn2, channel 5, 48 px, 16 steps, jitter 4: done in [\d.]+ s, [\d.]+ steps\/s/);
      expect(page.done.stepsPerSecond).toBeGreaterThan(0);
      // Drawn live: previews at steps 4, 8, 12 and 16, then the final image (the same as step 16's).
      expect(page.done.draws).toBe(5);
      expect(new Set(page.done.checksums.slice(0, 4)).size, 'the image changes as it is optimised').toBe(4);
      expect(page.done.checksums[4]).toBe(page.done.checksums[3]);
      expect(page.imageColours, 'the visualisation is not blank').toBeGreaterThan(200);
      expect(page.objectiveColours, 'the objective is plotted').toBeGreaterThan(5);
      // Adam with lr 0.05 on the unit's gradient: 16 steps lower the objective (raise the unit) a lot;
      // the transforms are random, so this compares step 16 to step 1, not step to step.
      expect(page.done.last, `objective ${page.done.first} -> ${page.done.last}`).toBeLessThan(page.done.first);
      expect(page.stopped.state).toBe('stopped');
      expect(page.stopped.step).toBeGreaterThanOrEqual(2);
      expect(page.stopped.step).toBeLessThan(2560);
      expect(page.stopped.status).toContain(`stopped at step ${page.stopped.step}`);
      expect(page.stopped.stop).toBe(true);
      const shot = checkScreenshot(page.screenshot, join(SCREENSHOTS, 'demo-fv.png'));
      console.log(`screenshot ${SCREENSHOTS}/demo-fv.png: ${shot.colours} colours, luminance sd ${shot.sd.toFixed(1)}`);
    } finally {
      server.proc.kill();
    }
  }, 360_000);
});
