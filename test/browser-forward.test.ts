// The same forward in headless Chromium (served from 127.0.0.1) as in Node: every tap of a random-
// weight network at a small size, compared with the Node engine and the float64 reference.

import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';
import { allTapNames } from '../src/model/architecture';
import { ResNetEngine } from '../src/model/engine';
import { randomWeights } from '../src/weights/random';
import { noChromiumReason, lavapipeIcd, withBrowserPage, type BrowserAdapter } from './helpers/browser';
import { freshSeed, testContext } from './helpers/gpu';
import { referenceForward } from './reference/resnet';

function lcgInput(seed: number, shape: number[]): Float32Array {
  const count = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = (s / 4294967296) * 4 - 2;
  }
  return data;
}

function maxRelative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    const d = Math.abs(a[i] - b[i]);
    worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
  }
  return worst / Math.max(scale, 1e-30);
}

async function buildPage(): Promise<void> {
  await esbuild.build({
    entryPoints: ['test/browser/forward-page.ts'],
    outfile: 'test/.build/forward-page.js',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    loader: { '.wgsl': 'text' },
    logLevel: 'warning',
  });
}

const adapters: BrowserAdapter[] = ['swiftshader', ...(lavapipeIcd() ? ['lavapipe' as const] : [])];
const noChromium = noChromiumReason();

describe.skipIf(noChromium)('the forward in headless Chromium', () => {
  for (const adapter of adapters) {
    it(`matches Node and the float64 reference on every tap (${adapter})`, async () => {
      await buildPage();
      const seed = freshSeed();
      const shape = [2, 3, 37, 34];
      const { adapter: name, taps, errors } = await withBrowserPage({ adapter, timeoutMs: 240_000 }, async (session) => {
        await session.page.goto(session.url('/test/browser/forward.html'));
        await session.page.waitForFunction('typeof window.runForward === "function"', { timeout: 30_000 });
        const result = await session.page.evaluate((s, sh, level) => window.runForward(s, sh, level), seed, shape,
          adapter === 'lavapipe' ? 'compatibility' as const : 'core' as const);
        return { ...result, errors: session.consoleErrors };
      });
      console.log(`browser adapter: ${name}`);
      expect(errors).toEqual([]);
      const weights = randomWeights(seed);
      const input = { shape, data: lcgInput(seed, shape) };
      const engine = await ResNetEngine.create({ context: await testContext() });
      engine.loadWeights(weights);
      const node = await engine.forward(input, { taps: allTapNames() });
      engine.dispose();
      const reference = referenceForward(weights, input);
      for (const tap of allTapNames()) {
        const b = taps[tap];
        expect(b.shape, tap).toEqual(node.get(tap)!.shape);
        // Same kernels, same summation order: browser and Node agree to float32 rounding of
        // transcendental-free arithmetic; the reference bound is the network test's (1e-4).
        expect(maxRelative(b.data, node.get(tap)!.data), `${tap} vs Node (seed ${seed})`).toBeLessThanOrEqual(1e-5);
        expect(maxRelative(b.data, reference.get(tap)!.data), `${tap} vs reference (seed ${seed})`).toBeLessThanOrEqual(1e-4);
      }
    });
  }
});
