// Helpers of the demo-page tests (test/demo-*.test.ts): the demo server started as `npm run demo`
// starts it, canvas and screenshot checks, waiting on the page's body data-* state, and the page's
// top-5 and centre values checked against the Node engine.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { buildDemo } from '../../demo/build.mjs';
import { centreIndex } from '../../src/analysis/readouts';
import { topK } from '../../src/browser/classes';
import { ResNetEngine } from '../../src/model/engine';
import type { HostTensor, TensorMap } from '../../src/weights/safetensors';
import { testContext } from './gpu';

/** Where the demo tests leave their screenshots. */
export const SCREENSHOTS = 'test/.build';

/**
 * Build the demo once for a test file, into a fresh temporary folder removed after the file's tests.
 * `root` (for the file's own temporary files) and `demoDir` are set by the time the tests run.
 */
export function builtDemo(prefix: string): { root: string; demoDir: string } {
  const built = { root: '', demoDir: '' };
  beforeAll(async () => {
    built.root = mkdtempSync(join(tmpdir(), prefix));
    built.demoDir = join(built.root, 'demo');
    await buildDemo({ outdir: built.demoDir });
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 120_000);
  afterAll(() => {
    if (built.root) rmSync(built.root, { recursive: true, force: true });
  });
  return built;
}

/** Start demo/serve.mjs as `npm run demo` does (on a free port, the demo built in `demoDir`, no rebuild). */
export async function startDemoServer(demoDir: string, args: string[], env: Record<string, string>):
  Promise<{ url: string; proc: ChildProcess; stdout: string[] }> {
  const proc = spawn(process.execPath, ['demo/serve.mjs', '--port', '0', '--root', demoDir, '--no-build', ...args], {
    env: { ...process.env, RESNET_STREAM_WEIGHTS: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`demo/serve.mjs printed no URL: ${stdout.join('')}`)), 20_000);
    proc.stdout!.on('data', (d: Buffer) => {
      stdout.push(String(d));
      const m = /resnet-stream demo: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout.join(''));
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    proc.stderr!.on('data', (d: Buffer) => stdout.push(String(d)));
    proc.on('exit', (code) => fail(new Error(`demo/serve.mjs exited with ${code}: ${stdout.join('')}`)));
  });
  return { url, proc, stdout };
}

/** Pixels of a canvas on the page: how many distinct colours it shows. */
export async function canvasColours(page: Page, id: string): Promise<number> {
  return page.evaluate((id) => {
    const c = document.getElementById(id) as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set<number>();
    for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return seen.size;
  }, id);
}

/** A screenshot is not blank: many colours, and its luminance varies. Saved to `file`. */
export function checkScreenshot(png: Uint8Array, file: string): { colours: number; sd: number } {
  writeFileSync(file, png);
  const img = PNG.sync.read(Buffer.from(png));
  const colours = new Set<number>();
  let sum = 0;
  let sum2 = 0;
  const n = img.width * img.height;
  for (let i = 0; i < n; i++) {
    const r = img.data[i * 4];
    const g = img.data[i * 4 + 1];
    const b = img.data[i * 4 + 2];
    colours.add((r << 16) | (g << 8) | b);
    const y = 0.299 * r + 0.587 * g + 0.114 * b;
    sum += y;
    sum2 += y * y;
  }
  const sd = Math.sqrt(Math.max(0, sum2 / n - (sum / n) ** 2));
  expect(colours.size, `${file}: distinct colours`).toBeGreaterThan(200);
  expect(sd, `${file}: luminance standard deviation`).toBeGreaterThan(10);
  return { colours: colours.size, sd };
}

/** Wait for a condition on the page; on timeout, the error shows the page's state. */
export async function waitFor(page: Page, condition: string, timeout: number): Promise<void> {
  try {
    await page.waitForFunction(condition, { timeout, polling: 200 });
  } catch (e) {
    const state = await page.evaluate(() => ({ ...document.body.dataset, gpu: document.getElementById('gpu-status')?.textContent,
      weights: document.getElementById('weights-status')?.textContent, run: document.getElementById('run-status')?.textContent,
      fv: document.getElementById('fv-status')?.textContent }));
    throw new Error(`waiting for ${condition}: ${(e as Error).message}; page state ${JSON.stringify(state)}`);
  }
}

/** The Node engine's taps for one input (the page's kernels, its architecture recognised as the page's is). */
export async function nodeTaps(weights: TensorMap, input: HostTensor, taps: string[]): Promise<Map<string, HostTensor>> {
  const engine = await ResNetEngine.create({ context: await testContext() });
  try {
    engine.loadWeights(weights);
    return await engine.forward(input, { taps });
  } finally {
    engine.dispose();
  }
}

/** The centre unit of one channel of an NCHW tap (first image). */
export function centreOf(t: HostTensor, channel: number): number {
  const [, , h, w] = t.shape;
  const [cy, cx] = centreIndex(h, w);
  return t.data[channel * h * w + cy * w + cx];
}

/** Choose a block and a channel in the stream view and wait until it shows them. */
export async function selectBlockAndChannel(page: Page, block: string, channel: number): Promise<void> {
  await page.select('#block', block);
  await page.$eval('#channel', (e, c) => {
    const input = e as HTMLInputElement;
    input.value = String(c);
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }, channel);
  await waitFor(page, `document.body.dataset.view === '${block}:${channel}:post-relu'`, 10_000);
}

export interface PageClass {
  index: number;
  logit: number;
  text: string;
}

/** The page's top-5 list: class index, logit and the text shown. */
export function pageTop5(page: Page): Promise<PageClass[]> {
  return page.$$eval('#top5 li', (lis) => lis.map((li) => ({
    index: Number((li as HTMLElement).dataset.index), logit: Number((li as HTMLElement).dataset.logit), text: li.textContent ?? '' })));
}

/**
 * The page's top-5 against the Node engine's logits: each logit within 1e-4 of the scale, the class
 * at each rank where its logit is that far from its neighbours', and the class's name shown.
 */
export function expectTop5AsNode(page: PageClass[], logits: Float32Array, what: string): void {
  const expected = topK(logits, 6);
  const scale = Math.max(...expected.map((c) => Math.abs(c.logit)));
  expect(page).toHaveLength(5);
  for (let k = 0; k < 5; k++) {
    expect(Math.abs(page[k].logit - expected[k].logit), `logit at rank ${k + 1} (${what})`).toBeLessThanOrEqual(1e-4 * scale);
    const gapBefore = k === 0 ? Infinity : expected[k - 1].logit - expected[k].logit;
    const gapAfter = expected[k].logit - expected[k + 1].logit;
    if (Math.min(gapBefore, gapAfter) > 1e-4 * scale) expect(page[k].index, `class at rank ${k + 1} (${what})`).toBe(expected[k].index);
    expect(page[k].text).toContain(expected[k].name);
  }
}

/** The centre values the stream view shows (its data-i, data-b, data-o) against the Node engine's taps. */
export function expectCentresAsNode(shown: Record<string, string>, node: Map<string, HostTensor>,
  readouts: { input: string; branch: string; output: string }, channel: number): void {
  for (const [key, tap] of [['i', readouts.input], ['b', readouts.branch], ['o', readouts.output]] as const) {
    const t = node.get(tap)!;
    const tapScale = t.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(Math.abs(Number(shown[key]) - centreOf(t, channel)), `${tap} centre, channel ${channel}`).toBeLessThanOrEqual(1e-4 * tapScale);
  }
}

/** Open the demo page at `url` and wait until its engine is ready (else fail with its GPU status). */
export async function openDemo(page: Page, url: string, height = 1500): Promise<void> {
  await page.setViewport({ width: 1280, height });
  await page.goto(url);
  await waitFor(page, "document.body.dataset.engine === 'ready' || document.body.dataset.engine === 'error'", 30_000);
  expect(await page.$eval('body', (b) => b.dataset.engine), await page.$eval('#gpu-status', (e) => e.textContent)).toBe('ready');
}

/** Choose one of the page's generated stimuli and wait until it is the image. */
export async function chooseStimulus(page: Page, name: string): Promise<void> {
  await page.select('#stimulus', name);
  await waitFor(page, `document.body.dataset.image === ${JSON.stringify(name)}`, 10_000);
}
