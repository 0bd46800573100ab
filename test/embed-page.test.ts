// The library as a third-party page uses it: examples/embed (which imports nothing but the bundle
// dist/resnet-stream.js) and the README's "Use it in your page" example, each run in headless
// Chromium on a full synthetic checkpoint (seeded random weights written as a torch.save .pth), with
// the top-5 classes checked against the Node engine on the same pixels.

import * as esbuild from 'esbuild';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topK } from '../src/browser/classes';
import { encodePng } from '../src/image/png';
import { renderStimulus, stimulusSpecs } from '../src/analysis/stimuli';
import type { RgbImage } from '../src/image/image';
import { torchvisionEval } from '../src/image/transforms';
import { ResNetEngine } from '../src/model/engine';
import { writePth } from '../src/weights/pth-writer';
import { randomWeights } from '../src/weights/random';
import type { TensorMap } from '../src/weights/safetensors';
import { noChromiumReason, lavapipeIcd, withBrowserPage, type BrowserAdapter } from './helpers/browser';
import { freshSeed, testContext } from './helpers/gpu';

const noChromium = noChromiumReason();

/** The Node engine's top-5 on an image (same preprocessing, same kernels). */
async function nodeTop5(weights: TensorMap, rgb: RgbImage): Promise<{ index: number; logit: number }[]> {
  const engine = await ResNetEngine.create({ context: await testContext() });
  try {
    engine.loadWeights(weights);
    const fc = (await engine.forward(torchvisionEval(rgb), { taps: ['fc'] })).get('fc')!;
    return topK(fc.data, 6).map(({ index, logit }) => ({ index, logit }));
  } finally {
    engine.dispose();
  }
}

/**
 * Browser and Node run the same kernels in the same order, so logits agree to float32 rounding; the
 * order of two classes is asserted only where their logits differ by more than 1e-4 of the scale.
 */
function expectSameTop5(page: { index: number; logit: number }[], node: { index: number; logit: number }[], what: string): void {
  const scale = Math.max(...node.map((c) => Math.abs(c.logit)), 1e-6);
  const tol = 1e-4 * scale;
  for (let k = 0; k < 5; k++) {
    expect(Math.abs(page[k].logit - node[k].logit), `${what}: logit ${k}`).toBeLessThanOrEqual(tol);
    if (Math.abs(node[k].logit - (node[k + 1]?.logit ?? -Infinity)) > tol && (k === 0 || Math.abs(node[k - 1].logit - node[k].logit) > tol)) {
      expect(page[k].index, `${what}: class at rank ${k + 1}`).toBe(node[k].index);
    }
  }
}

/** The code block of the README section "Use it in your page". */
export function readmeExample(): { code: string; from: string } {
  for (const file of ['README.md']) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const at = text.search(/^#+ Use it in your page\s*$/m);
    if (at < 0) continue;
    const block = /```(?:js|javascript)\n([\s\S]*?)```/.exec(text.slice(at));
    if (block) return { code: block[1], from: file };
  }
  throw new Error('no "Use it in your page" section with a ```js block in README.md');
}

let root = '';
let weights: TensorMap;
let seed = 0;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'resnet-stream-embed-'));
  // The library bundle exactly as esbuild.config.mjs builds it.
  await esbuild.build({
    entryPoints: ['src/index.ts'], outfile: join(root, 'dist/resnet-stream.js'), bundle: true, format: 'esm',
    platform: 'browser', target: 'es2022', loader: { '.wgsl': 'text' }, logLevel: 'warning',
  });
  cpSync('examples/embed', join(root, 'examples/embed'), { recursive: true });
  seed = freshSeed();
  console.log(`synthetic checkpoint seed ${seed}`);
  weights = randomWeights(seed);
  const pth = writePth(weights);
  writeFileSync(join(root, 'examples/embed/resnet18-f37072fd.pth'), pth);
  mkdirSync(join(root, 'readme'));
  writeFileSync(join(root, 'readme/resnet18-f37072fd.pth'), pth);
}, 120_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

const adapters: BrowserAdapter[] = ['swiftshader', ...(lavapipeIcd() ? ['lavapipe' as const] : [])];

describe.skipIf(noChromium)('examples/embed: a page that imports only dist/resnet-stream.js', () => {
  for (const adapter of adapters) {
    it(`runs a forward and prints the top-5 of the Node engine (${adapter}${adapter === 'lavapipe' ? ', compatibility mode found by createEngine' : ''})`, async () => {
      const t0 = Date.now();
      const { result, rgb, sources, errors, text } = await withBrowserPage({ adapter, root, timeoutMs: 180_000 }, async (s) => {
        await s.page.goto(s.url('/examples/embed/index.html'));
        await s.page.waitForFunction('window.embedResult !== undefined', { timeout: 170_000, polling: 250 });
        const result = await s.page.evaluate(() => (window as unknown as { embedResult: unknown }).embedResult) as {
          ok: boolean; error?: string; adapter: { name: string; featureLevel: string }; top5: { index: number; name: string; logit: number }[]; progress: string;
        };
        const rgb = await s.page.evaluate(() => {
          const c = document.getElementById('picture') as HTMLCanvasElement;
          const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
          return { width: d.width, height: d.height, rgba: Array.from(d.data) };
        });
        // The other image sources give the canvas's tensor exactly (opaque pixels, PNG is lossless).
        const sources = await s.page.evaluate(`(async () => {
          const m = await import('/dist/resnet-stream.js');
          const c = document.getElementById('picture');
          const ref = (await m.imageToTensor(c)).data;
          const diff = async (source) => { const t = (await m.imageToTensor(source)).data; let d = 0; for (let i = 0; i < t.length; i++) d = Math.max(d, Math.abs(t[i] - ref[i])); return d; };
          const blob = await new Promise((ok) => c.toBlob(ok, 'image/png'));
          return {
            imageData: await diff(c.getContext('2d').getImageData(0, 0, c.width, c.height)),
            imageBitmap: await diff(await createImageBitmap(c)),
            pngBlob: await diff(blob),
            shape: (await m.imageToTensor(blob)).shape,
          };
        })()`);
        return { result, rgb, sources, errors: s.consoleErrors, text: await s.page.$eval('#out', (e) => e.textContent ?? '') };
      });
      console.log(`embed page (${adapter}, ${((Date.now() - t0) / 1000).toFixed(1)} s):${text.replace(/^/gm, '  ')}`);
      expect(errors).toEqual([]);
      expect(result.ok, result.error).toBe(true);
      if (adapter === 'lavapipe') expect(result.adapter.featureLevel).toBe('compatibility');
      const size = statSize(root, 'examples/embed/resnet18-f37072fd.pth');
      expect(result.progress).toBe(`${size}/${size}`);
      const pixels = new Uint8Array(rgb.width * rgb.height * 3);
      for (let i = 0; i < rgb.width * rgb.height; i++) pixels.set(rgb.rgba.slice(i * 4, i * 4 + 3), i * 3);
      const node = await nodeTop5(weights, { width: rgb.width, height: rgb.height, data: pixels });
      expectSameTop5(result.top5, node, `embed page, seed ${seed}`);
      expect(text).toContain(`1. ${result.top5[0].name} (class ${node[0].index})`);
      expect(sources).toEqual({ imageData: 0, imageBitmap: 0, pngBlob: 0, shape: [1, 3, 224, 224] });
    }, 240_000);
  }
});

function statSize(dir: string, file: string): number {
  return readFileSync(join(dir, file)).length;
}

describe.skipIf(noChromium)('README: "Use it in your page"', () => {
  it('runs as written in a page (import map to the bundle, the synthetic checkpoint, a PNG in an <img>)', async () => {
    const { code, from } = readmeExample();
    expect(code.split('\n').filter((l) => l.trim()).length, 'the example stays about ten lines').toBeLessThanOrEqual(14);
    const spec = stimulusSpecs().find((s) => s.family === 'rings') ?? stimulusSpecs()[0];
    const stimulus = renderStimulus(spec);
    writeFileSync(join(root, 'readme/image.png'), encodePng(stimulus));
    writeFileSync(join(root, 'readme/index.html'), [
      '<!doctype html><meta charset="utf-8"><title>README example</title>',
      '<script type="importmap">{"imports": {"resnet-stream": "/dist/resnet-stream.js"}}</script>',
      '<script>window.__logs = []; const log = console.log; console.log = (...a) => { window.__logs.push(JSON.parse(JSON.stringify(a))); log(...a); };',
      'window.addEventListener("unhandledrejection", (e) => { window.__failed = String(e.reason && e.reason.message || e.reason); });</script>',
      '<img src="image.png" alt="stimulus">',
      `<script type="module">\n${code}\nwindow.__done = true;\n</script>`,
    ].join('\n'));
    const t0 = Date.now();
    const { logs, errors, failed } = await withBrowserPage({ adapter: 'swiftshader', root, timeoutMs: 180_000 }, async (s) => {
      await s.page.goto(s.url('/readme/index.html'));
      await s.page.waitForFunction('window.__done || window.__failed', { timeout: 170_000, polling: 250 });
      return {
        logs: await s.page.evaluate(() => (window as unknown as { __logs: unknown[][] }).__logs),
        failed: await s.page.evaluate(() => (window as unknown as { __failed?: string }).__failed),
        errors: s.consoleErrors,
      };
    });
    console.log(`README example from ${from}: ${((Date.now() - t0) / 1000).toFixed(1)} s, ${logs.length} console.log calls`);
    expect(failed).toBeUndefined();
    expect(errors).toEqual([]);
    const top5 = logs.map((args) => args[0]).find((v): v is { index: number; name: string; logit: number }[] =>
      Array.isArray(v) && v.length === 5 && typeof v[0]?.index === 'number');
    expect(top5, 'the example logs the top-5 classes').toBeDefined();
    const node = await nodeTop5(weights, stimulus);
    expectSameTop5(top5!, node, `README example, seed ${seed}`);
  }, 240_000);
});

describe.skipIf(noChromium)('a page keeps its measured kernel table in localStorage', () => {
  it('measures on the first load, reads the table back after a reload and measures nothing, with the same logits', async () => {
    writeFileSync(join(root, 'readme/storage.html'), '<!doctype html><meta charset="utf-8"><title>kernel table storage</title>');
    // One load of the page: an engine that measures and keeps its table in localStorage, a forward
    // at 32 x 32 (11 convolution shapes to measure), what was measured and what the storage holds.
    const run = `(async () => {
      const m = await import('/dist/resnet-stream.js');
      const measured = [];
      const engine = await m.createEngine({ measureKernels: true, kernelTableStorage: localStorage, onKernelTable: (t) => measured.push(t) });
      try {
        engine.loadWeights(await m.loadWeightsFrom('/readme/resnet18-f37072fd.pth'));
        const fc = (await engine.forward({ shape: [1, 3, 32, 32], data: new Float32Array(3 * 32 * 32).fill(0.5) })).get('fc').data;
        const key = m.kernelTableStorageKey(engine.ctx.adapter);
        return { measured: measured.length, fc: Array.from(fc), key, keys: Object.keys(localStorage), stored: localStorage.getItem(key), table: engine.kernelTable };
      } finally {
        engine.dispose();
      }
    })()`;
    type Run = { measured: number; fc: number[]; key: string; keys: string[]; stored: string | null; table: { shapes: Record<string, unknown> } };
    const t0 = Date.now();
    const { first, second, errors } = await withBrowserPage({ adapter: 'swiftshader', root, timeoutMs: 300_000 }, async (s) => {
      await s.page.goto(s.url('/readme/storage.html'));
      await s.page.evaluate(() => localStorage.clear());
      const first = await s.page.evaluate(run) as Run;
      await s.page.reload();
      const second = await s.page.evaluate(run) as Run;
      return { first, second, errors: s.consoleErrors };
    });
    console.log(`kernel table in localStorage (SwiftShader): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(errors).toEqual([]);
    expect(first.measured).toBe(1);
    expect(Object.keys(first.table.shapes)).toHaveLength(11);
    expect(first.keys).toEqual([first.key]);
    expect(JSON.parse(first.stored!)).toEqual(first.table);
    expect(second.measured).toBe(0); // read back after the reload
    expect(second.table).toEqual(first.table);
    expect(second.fc).toEqual(first.fc); // the same kernels: the same bits
  }, 320_000);
});
