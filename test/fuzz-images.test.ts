// Fuzzing the image decoders through the CLI: corrupted JPEGs (baseline, progressive, restart
// intervals, CMYK, greyscale) and PNGs (RGB, interlaced, palette, 16-bit, 1-bit grey) from
// test/fixtures/image and, when ../shared is present, ImageNet samples; each variant runs as
// `node dist/cli.js preprocess --image <variant> --out <file>` in a child process with a time limit.
//
// Mutations (seeded, mulberry32): truncation at random offsets; byte flips in the headers (JPEG
// markers and segments before the scan / PNG chunks before IDAT) and in the compressed data; wrong
// magic bytes; declared dimensions edited in the JPEG SOF / PNG IHDR: 65535x65535, 2^31-1 square,
// just over the 100 MP limit, exactly at it (with far too little data), zero (once per decoder
// path); bytes appended after the end (must decode exactly as the intact file: Pillow ignores them).
//
// Pass: exit 0 with a valid output (input, zoom_in, zoom_out float32 [1, 3, 224, 224], finite; equal
// to the intact file's output where the mutation cannot matter), or exit 1 with exactly one stderr
// line 'error: <file>: ...', no stack frame, not the internal-error form. Oversized declared
// dimensions must be refused naming the pixel limit (100,000,000 pixels), before any pixel memory
// is allocated (so quickly). Decision on truncated images: Pillow (without LOAD_TRUNCATED_IMAGES)
// refuses them, and so do we: an error saying the data is truncated, never a grey-filled image.

import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../src/weights/safetensors';
import { MAX_IMAGE_PIXELS } from '../src/image/image';
import { CLI, type CliRun, badError, mapLimit, ownLines, runCli } from './helpers/fuzz-cli';
import { makeRng } from './helpers/gpu';
import { SAMPLES } from './helpers/shared';

const FIXTURES = resolve(__dirname, 'fixtures/image');
const TIMEOUT_MS = 20_000;
/** A refusal from the header alone takes a process start and a few reads: well under this. */
const HEADER_REFUSAL_MS = 10_000; // generous for a loaded machine: decoding 100 MP takes far longer

type Expect = 'any' | 'error' | 'same' | 'limit';

interface Variant {
  name: string;
  source: string;
  ext: string;
  bytes: Uint8Array;
  expect: Expect;
}

function flip(bytes: Uint8Array, at: number, mask: number): Uint8Array {
  const out = bytes.slice();
  out[at] ^= mask || 1;
  return out;
}

/** Where a JPEG's SOF segment's height field is, and where its entropy-coded data starts. */
function jpegLayout(b: Uint8Array): { sof: number; scan: number } {
  let pos = 2;
  let sof = -1;
  while (pos + 4 <= b.length) {
    if (b[pos] !== 0xff) throw new Error('bad fixture');
    const marker = b[pos + 1];
    const len = (b[pos + 2] << 8) | b[pos + 3];
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) sof = pos + 5; // P, then Y
    if (marker === 0xda) return { sof, scan: pos + 2 + len };
    pos += 2 + len;
  }
  throw new Error('no scan');
}

/** PNG: the IDAT data's first offset (the chunks before it are the header). */
function pngFirstIdat(b: Uint8Array): number {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let pos = 8;
  while (pos + 8 <= b.length) {
    const type = String.fromCharCode(...b.subarray(pos + 4, pos + 8));
    if (type === 'IDAT') return pos;
    pos += 12 + dv.getUint32(pos);
  }
  throw new Error('no IDAT');
}

function setU16BE(b: Uint8Array, at: number, v: number): void {
  b[at] = v >> 8;
  b[at + 1] = v & 0xff;
}

function variantsOf(source: string, bytes: Uint8Array, seed: number, counts: { trunc: number; header: number; data: number; dims: boolean }): Variant[] {
  const rnd = makeRng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const isPng = bytes[0] === 0x89;
  const ext = isPng ? 'png' : 'jpg';
  const out: Variant[] = [];
  const stem = basename(source).replace(/\.[^.]+$/, '');
  const add = (what: string, b: Uint8Array, expect: Expect) => out.push({ name: `${stem}-${out.length}-${what}`, source, ext, bytes: b, expect });

  for (let i = 0; i < counts.trunc; i++) add('trunc', bytes.subarray(0, 1 + int(bytes.length - 2)), 'error');
  const headerEnd = isPng ? pngFirstIdat(bytes) : jpegLayout(bytes).scan;
  for (let i = 0; i < counts.header; i++) add('header-flip', flip(bytes, int(headerEnd), 1 << int(8)), 'any');
  for (let i = 0; i < counts.data; i++) add('data-flip', flip(bytes, headerEnd + int(bytes.length - headerEnd), 1 << int(8)), 'any');
  const magic = bytes.slice();
  magic[0] ^= 0x20;
  add('magic', magic, 'error');
  const trailing = new Uint8Array(bytes.length + 16);
  trailing.set(bytes);
  trailing.fill(0x42, bytes.length);
  add('trailing-bytes', trailing, 'same');

  // Declared dimensions. JPEG SOF: 16-bit height and width. PNG IHDR: 32-bit (the IHDR CRC is left
  // stale on purpose: the size must be refused before anything else looks at the chunk).
  const dims: [string, number, number, Expect][] = [
    ['65535x65535', 65535, 65535, 'limit'],
    ['just-over-limit', 10001, 10000, 'limit'],
    // Exactly at the limit but with a few hundred bytes of data: refused as truncated, quickly
    // (this one decoded for 49 s into a grey 100 MP image before the scan-length check).
    ['at-limit-tiny-data', 10000, 10000, 'error'],
    ['zero-width', 0, 16, 'error'],
    ['zero-height', 16, 0, 'error'],
  ];
  if (isPng) dims.push(['2^31-1-square', 2 ** 31 - 1, 2 ** 31 - 1, 'limit'], ['2^32-1-wide', 2 ** 32 - 1, 1, 'limit']);
  for (const [what, w, h, expect] of counts.dims ? dims : []) {
    const b = bytes.slice();
    if (isPng) {
      const dv = new DataView(b.buffer);
      dv.setUint32(16, w >>> 0);
      dv.setUint32(20, h >>> 0);
    } else {
      const { sof } = jpegLayout(bytes);
      setU16BE(b, sof, h);
      setU16BE(b, sof + 2, w);
    }
    add(`dims-${what}`, b, expect);
  }
  return out;
}

interface Output {
  hash: string;
}

function readOutput(path: string): Output | string {
  let file;
  try {
    file = readSafetensors(new Uint8Array(readFileSync(path)), path);
  } catch (e) {
    return `output unreadable: ${(e as Error).message}`;
  }
  const h = createHash('sha256');
  for (const name of ['input', 'zoom_in', 'zoom_out']) {
    const t = file.tensors.get(name);
    if (!t) return `output lacks '${name}'`;
    if (t.shape.join() !== '1,3,224,224') return `'${name}' has shape [${t.shape}]`;
    if (!t.data.every(Number.isFinite)) return `'${name}' holds non-finite values`;
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return { hash: h.digest('hex') };
}

const cliMissing = !existsSync(CLI);
if (cliMissing) console.log(`skipped: ${CLI} not built (npm run build)`);

describe.skipIf(cliMissing)('fuzzed images through `resnet-stream preprocess`', () => {
  const dir = mkdtempSync(join(tmpdir(), 'resnet-stream-fuzz-img-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function run(v: Variant, originals: Map<string, string>): Promise<{ v: Variant; r: CliRun; problem: string | null }> {
    const file = join(dir, `${v.name}.${v.ext}`);
    const outFile = join(dir, `${v.name}.safetensors`);
    writeFileSync(file, v.bytes);
    const r = await runCli(['preprocess', '--image', file, '--out', outFile], TIMEOUT_MS);
    let problem: string | null = null;
    if (r.code === 0 && !r.timedOut && !r.signal) {
      const out = readOutput(outFile);
      if (typeof out === 'string') problem = out;
      else if (v.expect === 'error' || v.expect === 'limit') problem = 'decoded, but must be refused';
      else if (v.expect === 'same' && out.hash !== originals.get(v.source)) problem = 'decoded differently from the intact file';
    } else if (v.expect === 'same') {
      problem = `refused, but must decode as the intact file does: ${ownLines(r.stderr).join(' | ')}`;
    } else {
      problem = badError(r, basename(file));
      const line = ownLines(r.stderr)[0] ?? '';
      if (!problem && !line.startsWith(`error: ${file}: `)) problem = `does not name the file first: ${line}`;
      if (!problem && v.expect === 'limit') {
        if (!line.includes(`limit of ${MAX_IMAGE_PIXELS} pixels`)) problem = `oversized, but not refused for the pixel limit: ${line}`;
        else if (r.ms > HEADER_REFUSAL_MS) problem = `refused only after ${Math.round(r.ms)} ms: decoded before checking the size?`;
      }
    }
    return { v, r, problem };
  }

  it('>= 100 corrupted JPEG and PNG variants: valid outputs or one-line errors', async () => {
    const started = performance.now();
    const sources = [
      'jpeg-420.jpg', 'jpeg-420-progressive.jpg', 'jpeg-444-progressive-opt.jpg', 'jpeg-gray-progressive.jpg',
      'jpeg-420-restart.jpg', 'jpeg-cmyk.jpg', 'jpeg-411.jpg',
      'png-rgb8.png', 'png-rgb8-interlaced.png', 'png-pal8.png', 'png-rgba16.png', 'png-gray1.png',
    ].map((f) => join(FIXTURES, f));
    if (existsSync(SAMPLES)) {
      const samples = readdirSync(SAMPLES).sort();
      const png = samples.find((f) => readFileSync(join(SAMPLES, f)).subarray(0, 4).toString('latin1') === '\x89PNG');
      sources.push(join(SAMPLES, samples[0]), ...(png ? [join(SAMPLES, png)] : []));
    } else {
      console.log(`shared ImageNet samples absent (${SAMPLES}): fixtures only`);
    }
    const originals = new Map<string, string>();
    const variants: Variant[] = [];
    for (const [i, source] of sources.entries()) {
      const bytes = new Uint8Array(readFileSync(source));
      const shared = source.startsWith(SAMPLES);
      // Declared-size edits once per decoder path (baseline, progressive, PNG, interlaced PNG, a photo).
      const dims = /jpeg-420\.jpg|jpeg-420-progressive\.jpg|png-rgb8\.png|png-rgb8-interlaced\.png/.test(source) || shared;
      variants.push(...variantsOf(source, bytes, 0x1a9e + i, { trunc: 3, header: 2, data: 2, dims }));
      variants.push({ name: `${basename(source)}-intact`, source, ext: bytes[0] === 0x89 ? 'png' : 'jpg', bytes, expect: 'same' });
    }
    expect(variants.length).toBeGreaterThanOrEqual(100);
    // The intact files first: their outputs are the reference for the 'same' mutations.
    const intact = variants.filter((v) => v.name.endsWith('-intact'));
    for (const o of await mapLimit(intact, 2, (v) => run(v, originals))) {
      expect(o.r.code, `${o.v.name}: ${o.r.stderr}`).toBe(0);
      const out = readOutput(join(dir, `${o.v.name}.safetensors`));
      expect(typeof out, String(out)).toBe('object');
      originals.set(o.v.source, (out as Output).hash);
    }
    const outcomes = await mapLimit(variants.filter((v) => !v.name.endsWith('-intact')), 2, (v) => run(v, originals));
    const loads = outcomes.filter((o) => o.r.code === 0).length;
    console.log(`images: ${outcomes.length} variants of ${sources.length} files, ${loads} decoded, ${outcomes.length - loads} refused; ` +
      `slowest ${Math.round(Math.max(...outcomes.map((o) => o.r.ms)))} ms; ${((performance.now() - started) / 1000).toFixed(1)} s`);
    if (process.env.FUZZ_VERBOSE) {
      for (const o of outcomes) console.log(`${o.v.name}: ${o.r.code === 0 ? 'decoded' : ownLines(o.r.stderr).join(' | ')} (${Math.round(o.r.ms)} ms)${o.problem ? `  <-- ${o.problem}` : ''}`);
    }
    const failures = outcomes.filter((o) => o.problem).map((o) => `${o.v.name}: ${o.problem}`);
    expect(failures, failures.join('\n')).toEqual([]);
  }, 300_000);
});
