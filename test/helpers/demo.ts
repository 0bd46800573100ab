// Helpers of the demo-page tests (test/demo-*.test.ts): the demo server started as `npm run demo`
// starts it, canvas and screenshot checks, and waiting on the page's body data-* state.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { buildDemo } from '../../demo/build.mjs';

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
