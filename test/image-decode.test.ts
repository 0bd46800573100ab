// Decoding against Pillow 9.4 (test/fixtures/image/decode-goldens.json, made by
// scripts/make-resize-goldens.py): JPEGs of every subsampling, progressive, greyscale and CMYK; PNGs of
// every colour type and depth; damaged files, refused exactly where Pillow refuses them. The exact
// decoder must be byte-identical; jpeg-js is measured and reported. Then bad files in batches.

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeImageBytes, decodeImageFile } from '../src/image/decode-node';
import { ImageDecodeError, sniffImageFormat } from '../src/image/image';
import { decodeJpeg, jpegInfo } from '../src/image/jpeg';
import { preprocessFile, preprocessFiles } from '../src/image/preprocess-node';
import { torchvisionEvalImage } from '../src/image/transforms';
import { SAMPLES, sharedMissing } from './helpers/shared';

const FIXTURES = resolve(__dirname, 'fixtures/image');
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, name)));

interface DecodeGolden {
  file: string; note: string; pillow_ok: boolean; pillow_error?: string; mode?: string;
  width?: number; height?: number; sha256?: string; base64?: string;
}
const goldens = JSON.parse(readFileSync(join(FIXTURES, 'decode-goldens.json'), 'utf8')) as { pillow: string; files: DecodeGolden[] };

/** Damaged files Pillow still decodes that we refuse (pngjs needs the stream to reach IEND). */
const KNOWN_STRICTER = new Set(['png-rgb8-cut-checksum.png']);

function levelStats(a: Uint8Array, b: Uint8Array): { mean: number; max: number; differing: number } {
  let sum = 0;
  let max = 0;
  let differing = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    if (d > max) max = d;
    if (d) differing++;
  }
  return { mean: sum / a.length, max, differing: differing / a.length };
}

function expectOneLineNaming(e: unknown, name: string): void {
  expect(e).toBeInstanceOf(ImageDecodeError);
  const msg = (e as Error).message;
  expect(msg.startsWith(`${name}: `), msg).toBe(true);
  expect(msg).not.toMatch(/\n/);
}

describe(`decoding, against Pillow ${goldens.pillow}`, () => {
  for (const g of goldens.files) {
    if (g.pillow_ok && !KNOWN_STRICTER.has(g.file)) {
      it(`${g.file} (${g.note}): byte-identical`, () => {
        const img = decodeImageBytes(fixture(g.file), g.file);
        expect([img.width, img.height]).toEqual([g.width, g.height]);
        const ok = sha(img.data) === g.sha256;
        if (!ok && g.base64) {
          const s = levelStats(img.data, new Uint8Array(Buffer.from(g.base64, 'base64')));
          expect.fail(`differs from Pillow: mean ${s.mean.toFixed(3)}, max ${s.max} levels`);
        }
        expect(ok).toBe(true);
      });
    } else {
      it(`${g.file} (${g.note}): refused${g.pillow_ok ? ' (Pillow decodes it; known stricter)' : ', as Pillow refuses it'}`, () => {
        const t0 = performance.now();
        let err: unknown;
        try {
          decodeImageBytes(fixture(g.file), g.file);
        } catch (e) {
          err = e;
        }
        expectOneLineNaming(err, g.file);
        expect(performance.now() - t0).toBeLessThan(1000);
      });
    }
  }

  it('jpeg-js, for comparison: levels off Pillow on the JPEG fixtures', () => {
    const rows: string[] = [];
    for (const g of goldens.files) {
      if (!g.pillow_ok || !g.file.endsWith('.jpg') || !g.base64) continue;
      let line = `${g.file.padEnd(30)} `;
      try {
        const img = decodeImageBytes(fixture(g.file), g.file, { jpegDecoder: 'jpeg-js' });
        const s = levelStats(img.data, new Uint8Array(Buffer.from(g.base64, 'base64')));
        line += `mean ${s.mean.toFixed(3)}  max ${String(s.max).padStart(3)}  pixels differing ${(100 * s.differing).toFixed(1)}%`;
        expect([img.width, img.height]).toEqual([g.width, g.height]);
      } catch (e) {
        line += `jpeg-js fails: ${(e as Error).message}`;
      }
      rows.push(line);
    }
    console.log(`jpeg-js vs Pillow (uint8 levels, decoded pixels):\n  ${rows.join('\n  ')}`);
    expect(rows.length).toBeGreaterThan(5);
  });

  it('reads JPEG facts from the markers', () => {
    expect(jpegInfo(fixture('jpeg-420.jpg'))).toMatchObject({ width: 45, height: 31, components: 3, progressive: false, sampling: [[2, 2], [1, 1], [1, 1]], colorSpace: 'ycbcr' });
    expect(jpegInfo(fixture('jpeg-cmyk.jpg')).colorSpace).toBe('cmyk');
    expect(jpegInfo(fixture('jpeg-420-progressive.jpg')).progressive).toBe(true);
  });
});

describe('bad images: one-line ImageDecodeError naming the file, quickly', () => {
  const dir = mkdtempSync(join(tmpdir(), 'image-decode-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const good = fixture('jpeg-420.jpg');
  const png = fixture('png-rgb8.png');
  const withDims = (bytes: Uint8Array, w: number, h: number): Uint8Array => {
    // Patch the SOF0 frame header of a JPEG.
    const out = bytes.slice();
    for (let i = 2; i < out.length - 9; i++) {
      if (out[i] === 0xff && out[i + 1] === 0xc0) {
        out[i + 5] = h >> 8; out[i + 6] = h & 255; out[i + 7] = w >> 8; out[i + 8] = w & 255;
        return out;
      }
    }
    throw new Error('no SOF0');
  };
  const cases: [string, Uint8Array][] = [
    ['truncated.jpg', good.subarray(0, Math.floor(good.length * 0.8))],
    ['truncated.png', png.subarray(0, 60)],
    ['random.jpg', new Uint8Array(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251))],
    ['text.png', new TextEncoder().encode('this is not an image\n')],
    ['empty.jpg', new Uint8Array(0)],
    ['zero-width.jpg', withDims(good, 0, 31)],
    ['huge.jpg', withDims(good, 65000, 65000)],
    ['zero.png', fixture('bad-png-zero-size.png')],
    ['huge.png', fixture('bad-png-huge.png')],
  ];
  for (const [name, bytes] of cases) {
    it(name, () => {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      const t0 = performance.now();
      let err: unknown;
      try {
        decodeImageFile(path);
      } catch (e) {
        err = e;
      }
      expectOneLineNaming(err, path);
      console.log(`  ${(err as Error).message}`);
      expect(performance.now() - t0).toBeLessThan(1000);
    });
  }

  it('a missing file', () => {
    const path = join(dir, 'missing.jpg');
    expect(() => decodeImageFile(path)).toThrow(`${path}: no such file`);
  });

  it('the pixel limit applies before decoding', () => {
    expect(() => decodeImageBytes(good, 'x.jpg', { maxPixels: 100 })).toThrow(/x\.jpg: JPEG: 45x31 is larger than the limit of 100 pixels/);
    expect(() => decodeImageBytes(png, 'x.png', { maxPixels: 10 })).toThrow(/x\.png: PNG: 7x5 is larger/);
  });

  it('sniffs the format from the bytes, not the name', () => {
    const asJpeg = join(dir, 'really-a-png.JPEG');
    const asPng = join(dir, 'really-a-jpeg.png');
    writeFileSync(asJpeg, png);
    writeFileSync(asPng, good);
    expect(sniffImageFormat(png)).toBe('png');
    expect(sniffImageFormat(good)).toBe('jpeg');
    expect(decodeImageFile(asJpeg).data).toEqual(decodeImageBytes(png, 'p').data);
    expect(decodeImageFile(asPng).data).toEqual(decodeJpeg(good).data);
  });

  it('in a batch the good files still run and the bad ones are listed', () => {
    const a = join(dir, 'a.jpg');
    const b = join(dir, 'b.png');
    const bad = join(dir, 'bad.jpg');
    writeFileSync(a, good);
    writeFileSync(b, fixture('png-rgba8.png'));
    writeFileSync(bad, good.subarray(0, 200));
    const r = preprocessFiles([a, bad, b, join(dir, 'nope.jpg')]);
    expect(r.ok).toEqual([a, b]);
    expect(r.failed.map((f) => f.file)).toEqual([bad, join(dir, 'nope.jpg')]);
    for (const f of r.failed) expect(f.error.startsWith(`${f.file}: `)).toBe(true);
    expect(r.tensor.shape).toEqual([2, 3, 224, 224]);
    const n = 3 * 224 * 224;
    expect(r.tensor.data.subarray(0, n)).toEqual(preprocessFile(a).data);
    expect(r.tensor.data.subarray(n)).toEqual(preprocessFile(b).data);
    const none = preprocessFiles([bad]);
    expect(none.tensor.shape).toEqual([0, 3, 224, 224]);
    expect(none.failed).toHaveLength(1);
  });
});

const hashesPath = join(FIXTURES, 'imagenet-hashes.json');
const missing = sharedMissing(SAMPLES);
describe.skipIf(missing)('shared ImageNet samples: Pillow-identical decoding and eval crop (sha256 summaries)', () => {
  const hashes = JSON.parse(readFileSync(hashesPath, 'utf8')) as {
    layouts: Record<string, number>;
    files: { file: string; layout: string; width: number; height: number; rgb_sha256: string; eval_sha256: string }[];
  };

  it(`all ${hashes.files.length} selected files (every sampling layout of the 1000)`, () => {
    const bad: string[] = [];
    const jsStats = new Map<string, { sum: number; n: number; max: number }>();
    for (const h of hashes.files) {
      const bytes = new Uint8Array(readFileSync(join(SAMPLES, h.file)));
      const img = decodeImageBytes(bytes, h.file);
      if (sha(img.data) !== h.rgb_sha256) bad.push(`${h.file} (${h.layout}): decoded pixels differ`);
      else if (sha(torchvisionEvalImage(img).data) !== h.eval_sha256) bad.push(`${h.file}: eval crop differs`);
      const js = decodeImageBytes(bytes, h.file, { jpegDecoder: 'jpeg-js' });
      const s = levelStats(js.data, img.data);
      const acc = jsStats.get(h.layout) ?? { sum: 0, n: 0, max: 0 };
      acc.sum += s.mean;
      acc.n++;
      acc.max = Math.max(acc.max, s.max);
      jsStats.set(h.layout, acc);
    }
    console.log(`jpeg-js vs Pillow on ImageNet samples (decoded pixels, levels), by (SOF, sampling):\n${
      [...jsStats].map(([k, v]) => `  ${k.padEnd(20)} ${v.n} files: mean ${(v.sum / v.n).toFixed(3)}, max ${v.max}`).join('\n')}`);
    expect(bad).toEqual([]);
  });
});
