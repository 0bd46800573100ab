// The feature-visualisation API of the library bundle (visualiseChannels, from dist/resnet-stream.js
// as a third-party page imports it) in headless Chromium (SwiftShader), against renderVis in Node on
// the same weights, tap, channels, size, steps and seed.
//
// It is the same code on both sides (renderVis; the page's hooks only read), so the difference is
// float32 rounding: Chromium's SwiftShader against Node's Dawn adapter (lavapipe where installed),
// which compile the kernels differently (multiply-add contraction) and, by default, run different
// convolution variants (conv2dVariantFor: the same products summed in another order).
// - Step 1 (initial spectrum, the step's random transforms, forward): rounding only. The centre
//   units agree to 1e-4 of their scale (measured: about 1e-6 on every seed).
// - After the updates the runs can part: Adam's first steps move every spectrum coefficient by about
//   lr * sign(gradient), so a gradient within rounding of zero, or a ReLU / maxpool decision at a
//   near tie, sends a coefficient 0.05 the other way. Measured over 11 seeds at 6 steps: max pixel
//   difference about 1e-6 on 7, 8e-4 to 3.4e-2 on 4 (mean 2.7e-3 at most; at 3 steps, 1.8e-2 and
//   1.2e-3). So at 3 steps here: every pixel within 0.1 and the mean within 3e-3, while a run with
//   another seed (the control below; measured mean 2.1e-2 to 2.3e-2) must differ by over 3 times that.

import * as esbuild from 'esbuild';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderVis, resnetFactory } from '../src/featureviz/render';
import { NetworkWeights } from '../src/model/gpu-weights';
import { writePth } from '../src/weights/pth-writer';
import { randomWeights } from '../src/weights/random';
import { noChromiumReason, withBrowserPage } from './helpers/browser';
import { freshSeed, testContext } from './helpers/gpu';

const noChromium = noChromiumReason();

const FIRST_UNITS_TOLERANCE = 1e-4;
const IMAGE_TOLERANCE = 0.1;
const IMAGE_MEAN_TOLERANCE = 3e-3;

let root = '';

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'resnet-stream-embed-fv-'));
  // The library bundle exactly as esbuild.config.mjs builds it.
  // (platform 'browser' fails on any node: import; the metafile shows the Node-only FV files stay out.)
  const built = await esbuild.build({
    entryPoints: ['src/index.ts'], outfile: join(root, 'dist/resnet-stream.js'), bundle: true, format: 'esm',
    platform: 'browser', target: 'es2022', loader: { '.wgsl': 'text' }, logLevel: 'warning', metafile: true,
  });
  const inputs = Object.keys(built.metafile.inputs);
  expect(inputs).toContain('src/browser/featureviz.ts');
  expect(inputs).toContain('src/featureviz/render.ts');
  expect(inputs.filter((f) => /fv-node|fv-cli|-node\.ts$/.test(f))).toEqual([]);
}, 120_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe.skipIf(noChromium)('visualiseChannels in a page (the library bundle) against renderVis in Node', () => {
  it('gives the same images and objectives for layer2.1.bn2 channels 3 and 100, 40 px, 3 steps', async () => {
    const seed = freshSeed();
    console.log(`seed ${seed} (weights and visualisation)`);
    // The stem, layer1 and layer2 are all a layer2.1.bn2 target needs (a partial checkpoint: a smaller file).
    const weights = new Map([...randomWeights(seed)].filter(([name]) => /^(conv1|bn1|layer1|layer2)\./.test(name)));
    mkdirSync(join(root, 'fv'), { recursive: true });
    writeFileSync(join(root, 'fv/weights.pth'), writePth(weights));
    const run = { tap: 'layer2.1.bn2', channels: [3, 100], size: 40, steps: 3, seed };
    writeFileSync(join(root, 'fv/index.html'), `<!doctype html><meta charset="utf-8"><title>fv</title>
<script type="module">
import { createEngine, loadWeightsFrom, visualiseChannels, toImageData } from '/dist/resnet-stream.js';
try {
  const engine = await createEngine({ featureLevel: 'core' });
  engine.loadWeights(await loadWeightsFrom('weights.pth'));
  const steps = [];
  const r = await visualiseChannels(engine, { ...${JSON.stringify(run)}, previewEvery: 2,
    onStep: (p) => { steps.push({ step: p.step, images: p.images ? p.images.length : 0 }); } });
  const data = toImageData(r.images[1]);
  window.fvResult = { ok: true, adapter: engine.adapter.name, pixels: Array.from(r.pixels), objective: r.objective.map((o) => Array.from(o)),
    steps, jitter: r.jitter, imageData: [data.width, data.height, data.data.length] };
} catch (e) {
  window.fvResult = { ok: false, error: String(e && e.message || e) };
}
</script>`);
    const t0 = Date.now();
    const { page, errors } = await withBrowserPage({ adapter: 'swiftshader', root, timeoutMs: 120_000 }, async (s) => {
      await s.page.goto(s.url('/fv/index.html'));
      await s.page.waitForFunction('window.fvResult !== undefined', { timeout: 110_000, polling: 250 });
      return { page: await s.page.evaluate(() => (window as unknown as { fvResult: unknown }).fvResult) as {
        ok: boolean; error?: string; adapter: string; pixels: number[]; objective: number[][]; steps: { step: number; images: number }[];
        jitter: number; imageData: number[];
      }, errors: [...s.consoleErrors] };
    });
    const pageSeconds = (Date.now() - t0) / 1000;
    expect(errors).toEqual([]);
    expect(page.ok, page.error).toBe(true);
    expect(page.jitter).toBe(4);
    expect(page.steps).toEqual([{ step: 1, images: 0 }, { step: 2, images: 2 }, { step: 3, images: 2 }]);
    for (const o of page.objective) expect(o.every(Number.isFinite)).toBe(true);
    expect(page.imageData).toEqual([40, 40, 40 * 40 * 4]);

    const ctx = await testContext();
    const gpuWeights = new NetworkWeights(ctx, weights);
    try {
      const node = await renderVis(ctx, run.tap, run.channels, resnetFactory(ctx, gpuWeights, run.tap), run);
      const diff = (a: ArrayLike<number>) => {
        let max = 0;
        let sum = 0;
        for (let i = 0; i < a.length; i++) {
          max = Math.max(max, Math.abs(a[i] - page.pixels[i]));
          sum += Math.abs(a[i] - page.pixels[i]);
        }
        return { max, mean: sum / a.length };
      };
      const { max: imageDiff, mean: imageMeanDiff } = diff(node.images);
      // The control: the same run with another seed, as far from the page as a mistake would be.
      const other = await renderVis(ctx, run.tap, run.channels, resnetFactory(ctx, gpuWeights, run.tap), { ...run, seed: seed + 1 });
      const control = diff(other.images);
      const first = run.channels.map((_, n) => -page.objective[n][0]);
      const last = run.channels.map((_, n) => -page.objective[n][run.steps - 1]);
      const scale = Math.max(...[...node.activationFirst, ...node.activationLast].map(Math.abs), 1e-6);
      const firstDiff = Math.max(...run.channels.map((_, n) => Math.abs(first[n] - node.activationFirst[n]))) / scale;
      const lastDiff = Math.max(...run.channels.map((_, n) => Math.abs(last[n] - node.activationLast[n]))) / scale;
      console.log(`page (${page.adapter}) ${pageSeconds.toFixed(1)} s vs Node (${ctx.adapter.name}): images max |diff| ${imageDiff.toExponential(2)}, mean ${imageMeanDiff.toExponential(2)}, ` +
        `centre units |diff| / scale ${firstDiff.toExponential(2)} at step 1, ${lastDiff.toExponential(2)} at step ${run.steps}; control (seed + 1) mean ${control.mean.toExponential(2)}; objective ${page.objective.map((o) => `${o[0].toFixed(3)} -> ${o[run.steps - 1].toFixed(3)}`).join(', ')}`);
      expect(page.pixels).toHaveLength(node.images.length);
      expect(firstDiff, 'centre units at step 1, page vs Node').toBeLessThanOrEqual(FIRST_UNITS_TOLERANCE);
      expect(imageDiff, 'images, page vs Node: max').toBeLessThanOrEqual(IMAGE_TOLERANCE);
      expect(imageMeanDiff, 'images, page vs Node: mean').toBeLessThanOrEqual(IMAGE_MEAN_TOLERANCE);
      expect(control.mean, 'another seed differs far more than the tolerance').toBeGreaterThan(3 * IMAGE_MEAN_TOLERANCE);
    } finally {
      gpuWeights.destroy();
    }
  }, 180_000);
});
