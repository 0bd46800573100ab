// The browser-safe image modules in headless Chromium: src/image/index.ts bundles for the browser (no
// Node imports), JPEGs decode Pillow-identically there through the exact decoder, PNGs through the
// browser's own decoder (createImageBitmap + OffscreenCanvas) are compared with Pillow's bytes, and the
// eval transform gives the same tensor as in Node. Skips when Chromium is not installed.

import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImageBytes } from '../src/image/decode-node';
import { torchvisionEval } from '../src/image/transforms';
import { type BrowserSession, noChromiumReason, openBrowserPage } from './helpers/browser';

type ImageModule = typeof import('../src/image/index');

const FIXTURES = resolve(__dirname, 'fixtures/image');
const goldens = JSON.parse(readFileSync(join(FIXTURES, 'decode-goldens.json'), 'utf8')) as {
  files: { file: string; note: string; pillow_ok: boolean; sha256?: string; width?: number; height?: number }[];
};
const JPEGS = ['jpeg-420.jpg', 'jpeg-420-progressive.jpg', 'jpeg-cmyk.jpg', 'jpeg-gray.jpg', 'jpeg-440.jpg'];
const PNGS = ['png-rgb8.png', 'png-gray8.png', 'png-pal8.png', 'png-rgb8-interlaced.png', 'png-gray4.png', 'png-rgba8.png', 'png-rgb16.png', 'png-gray16.png'];

const noChromium = noChromiumReason();

describe.skipIf(noChromium)('image path in the browser', () => {
  let dir = '';
  let session: BrowserSession | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'image-browser-'));
    await esbuild.build({
      entryPoints: [resolve(__dirname, '../src/image/index.ts')],
      bundle: true, format: 'esm', platform: 'browser', target: 'es2022', outfile: join(dir, 'image.js'), logLevel: 'silent',
    });
    for (const f of [...JPEGS, ...PNGS]) copyFileSync(join(FIXTURES, f), join(dir, f));
    // The page exposes the bundle as window.imageModule (a dynamic import inside page.evaluate would be
    // rewritten by vitest's transform).
    writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>image</title>'
      + '<script type="module">import * as m from "./image.js"; window.imageModule = m;</script>');
    session = await openBrowserPage({ root: dir, launchTimeoutMs: 45_000, protocolTimeoutMs: 45_000 });
    await session.page.goto(session.url('/index.html'));
    await session.page.waitForFunction('window.imageModule !== undefined', { timeout: 20_000 });
  }, 60_000);

  afterAll(async () => {
    await session?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('decodes fixtures: exact JPEGs; PNGs through the browser, compared with Pillow', async () => {
    const results = await session!.page.evaluate(async (files: string[]) => {
      const m = (window as unknown as { imageModule: ImageModule }).imageModule;
      const out: { file: string; width: number; height: number; sha256: string; error?: string }[] = [];
      for (const file of files) {
        try {
          const blob = await (await fetch(`/${file}`)).blob();
          const img = await m.decodeBrowserBlob(blob, file);
          const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', img.data.slice()));
          out.push({ file, width: img.width, height: img.height, sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') });
        } catch (e) {
          out.push({ file, width: 0, height: 0, sha256: '', error: String(e) });
        }
      }
      return out;
    }, [...JPEGS, ...PNGS]);
    const lines: string[] = [];
    for (const r of results) {
      const g = goldens.files.find((x) => x.file === r.file)!;
      const same = r.sha256 === g.sha256;
      lines.push(`${r.file.padEnd(26)} ${r.error ?? (same ? 'identical to Pillow' : 'differs from Pillow')}`);
      expect(r.error, r.file).toBeUndefined();
      expect([r.width, r.height]).toEqual([g.width, g.height]);
      // JPEGs go through the exact decoder; 8-bit opaque PNGs are exact in any browser decoder.
      if (JPEGS.includes(r.file) || /png-(rgb8|gray8|pal8|rgb8-interlaced|gray4)\.png/.test(r.file)) expect(same, r.file).toBe(true);
    }
    // Not asserted: alpha (the canvas premultiplies, so colours under low alpha are approximate) and
    // 16-bit PNGs (browsers round to 8 bits, Pillow truncates or, for 16-bit grey, clips at 255).
    console.log(`browser decoding:\n  ${lines.join('\n  ')}`);
  });

  it('ImageData and canvases read back as RGB, alpha dropped', async () => {
    const rgb = await session!.page.evaluate(async () => {
      const m = (window as unknown as { imageModule: ImageModule }).imageModule;
      const data = new ImageData(new Uint8ClampedArray([1, 2, 3, 255, 4, 5, 6, 255]), 2, 1);
      const a = m.decodeBrowserImage(data, 'imagedata');
      const canvas = new OffscreenCanvas(2, 1);
      canvas.getContext('2d')!.putImageData(data, 0, 0);
      const b = m.decodeBrowserImage(canvas, 'canvas');
      let zero = '';
      try {
        m.decodeBrowserImage(new OffscreenCanvas(0, 0), 'empty-canvas');
      } catch (e) {
        zero = String(e);
      }
      return { a: Array.from(a.data), b: Array.from(b.data), zero };
    });
    expect(rgb.a).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rgb.b).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rgb.zero).toMatch(/empty-canvas: zero size/);
  });

  it('the eval transform gives the same tensor in the browser as in Node', async () => {
    const bytes = new Uint8Array(readFileSync(join(FIXTURES, 'jpeg-420.jpg')));
    const want = torchvisionEval(decodeImageBytes(bytes, 'jpeg-420.jpg'));
    const got = await session!.page.evaluate(async () => {
      const m = (window as unknown as { imageModule: ImageModule }).imageModule;
      const bytes = new Uint8Array(await (await fetch('/jpeg-420.jpg')).arrayBuffer());
      const t = m.torchvisionEval(m.decodeJpegExact(bytes, 'jpeg-420.jpg'));
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', t.data.slice().buffer));
      return { shape: t.shape, sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') };
    });
    expect(got.shape).toEqual([1, 3, 224, 224]);
    expect(got.sha256).toBe(createHash('sha256').update(new Uint8Array(want.data.buffer)).digest('hex'));
  });
});
