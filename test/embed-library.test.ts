// The browser conveniences of the library (src/browser) where Node has the same web APIs (fetch,
// Blob, streams): weights from a URL with progress, from a Blob and from bytes; HTTP and format
// errors; top-k and the class table; images as RGB; and the adapter choice of createEngine's 'auto'
// (against fake GPU objects).

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectFeatureLevel, describeWebGpu } from '../src/browser/engine';
import { imagenetClassNames, topK } from '../src/browser/classes';
import { imageToRgb, imageToTensor } from '../src/browser/image';
import { loadCheckpointFrom, loadWeightsFrom, readWeightsBytes } from '../src/browser/weights';
import { torchvisionEval } from '../src/image/transforms';
import { expectedTensors } from '../src/model/architecture';
import { writePth } from '../src/weights/pth-writer';
import { randomWeights } from '../src/weights/random';
import { writeSafetensors } from '../src/weights/safetensors';

const seed = 20240917;
const weights = randomWeights(seed);
const pth = writePth(weights);
let server: Server;
let origin = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/w.pth') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': pth.length });
      // In several writes, so progress has something to report.
      const step = 1 << 20;
      for (let at = 0; at < pth.length; at += step) res.write(pth.subarray(at, at + step));
      res.end();
    } else if (req.url === '/chunked.pth') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }); // no length: total unknown
      res.end(pth);
    } else if (req.url === '/page.html') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><html><body>not found</body></html>');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('no');
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

function sameTensors(a: Map<string, { shape: number[]; data: Float32Array }>): void {
  expect([...a.keys()]).toEqual([...expectedTensors().keys()]);
  for (const [name, t] of weights) {
    expect(a.get(name)!.shape, name).toEqual(t.shape);
    expect(Buffer.from(a.get(name)!.data.buffer, a.get(name)!.data.byteOffset, a.get(name)!.data.byteLength)
      .equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), name).toBe(true);
  }
}

describe('loadWeightsFrom / loadCheckpointFrom', () => {
  it('fetches a URL with progress up to Content-Length, and validates the checkpoint', async () => {
    const reports: [number, number | undefined][] = [];
    const checkpoint = await loadCheckpointFrom(`${origin}/w.pth`, { onProgress: (l, t) => reports.push([l, t]) });
    expect(checkpoint.source).toBe('w.pth');
    expect(checkpoint.missing).toEqual([]);
    expect(checkpoint.sha256).toMatch(/^[0-9a-f]{64}$/);
    sameTensors(checkpoint.tensors);
    expect(reports.length).toBeGreaterThan(2);
    expect(reports.at(-1)).toEqual([pth.length, pth.length]);
    for (let i = 1; i < reports.length; i++) expect(reports[i][0]).toBeGreaterThanOrEqual(reports[i - 1][0]);
    expect(reports.every(([, t]) => t === pth.length)).toBe(true);
  });

  it('reports an unknown total as undefined until the end', async () => {
    const reports: [number, number | undefined][] = [];
    const tensors = await loadWeightsFrom(`${origin}/chunked.pth`, { onProgress: (l, t) => reports.push([l, t]) });
    sameTensors(tensors);
    expect(reports.slice(0, -1).every(([, t]) => t === undefined)).toBe(true);
    expect(reports.at(-1)).toEqual([pth.length, pth.length]);
  });

  it('says which URL failed and how', async () => {
    await expect(loadWeightsFrom(`${origin}/missing.pth`)).rejects.toThrow(/missing\.pth: fetching .* failed with HTTP 404/);
    await expect(loadWeightsFrom(`${origin}/page.html`)).rejects.toThrow(/page\.html: is a web page, not a checkpoint/);
    await expect(loadWeightsFrom('http://127.0.0.1:1/x.pth')).rejects.toThrow(/x\.pth: could not fetch/);
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    controller.abort(new Error('user cancelled'));
    await expect(loadWeightsFrom(`${origin}/w.pth`, { signal: controller.signal })).rejects.toThrow(/user cancelled/);
  });

  it('reads a Blob / File (streamed, with progress) and bytes (no copy)', async () => {
    const reports: number[] = [];
    const file = new File([pth as Uint8Array<ArrayBuffer>], 'resnet18.pth');
    const fromFile = await loadCheckpointFrom(file, { onProgress: (l) => reports.push(l) });
    expect(fromFile.source).toBe('resnet18.pth');
    sameTensors(fromFile.tensors);
    expect(reports.at(-1)).toBe(pth.length);
    const st = writeSafetensors(weights);
    sameTensors(await loadWeightsFrom(st.buffer.slice(st.byteOffset, st.byteOffset + st.byteLength) as ArrayBuffer));
    sameTensors(await loadWeightsFrom(st));
    const view = await readWeightsBytes(pth);
    expect(view.bytes.buffer).toBe(pth.buffer);
    await expect(loadWeightsFrom(new Blob([]), { name: 'empty.pth' })).rejects.toThrow(/empty\.pth: the file is empty/);
  });
});

describe('classes and images', () => {
  it('names the 1000 classes in torchvision order and ranks logits', () => {
    const names = imagenetClassNames();
    expect(names).toHaveLength(1000);
    expect(names[0]).toBe('tench');
    expect(names[999]).toBe('toilet tissue');
    const logits = new Float32Array(2000);
    logits[1000 + 7] = 3;
    logits[1000 + 3] = 2;
    logits[1000 + 999] = 2;
    const top = topK(logits, 3, 1);
    expect(top.map((c) => c.index)).toEqual([7, 3, 999]);
    expect(top[0].name).toBe(names[7]);
    const z = Math.exp(3) + 2 * Math.exp(2) + 997;
    expect(top[0].probability).toBeCloseTo(Math.exp(3) / z, 6);
    expect(() => topK(new Float32Array(10))).toThrow(/row 0/);
  });

  it('passes RGB images through the eval transform', async () => {
    const rgb = { width: 300, height: 260, data: new Uint8Array(300 * 260 * 3).map((_, i) => (i * 7) % 251) };
    expect(await imageToRgb(rgb)).toBe(rgb);
    const t = await imageToTensor(rgb);
    expect(t.shape).toEqual([1, 3, 224, 224]);
    expect(t.data).toEqual(torchvisionEval(rgb).data);
  });
});

describe("createEngine's adapter choice ('auto')", () => {
  const adapter = (fallback: boolean, maxStorage = 2 ** 30) => ({
    info: { vendor: fallback ? 'google' : 'mesa', architecture: fallback ? 'swiftshader' : '', device: '', description: '', isFallbackAdapter: fallback },
    limits: { maxStorageBufferBindingSize: maxStorage, maxBufferSize: maxStorage, maxComputeInvocationsPerWorkgroup: 256,
      maxComputeWorkgroupStorageSize: 16384, maxStorageBuffersPerShaderStage: 8 },
    features: new Set<string>(),
  });
  const gpu = (core: unknown, compat: unknown) => ({
    requestAdapter: async (o?: { featureLevel?: string }) => (o?.featureLevel === 'compatibility' ? compat : core),
  }) as unknown as GPU;

  it('prefers core, then a non-fallback compatibility adapter over a software core one, then compatibility alone', async () => {
    expect(await detectFeatureLevel({ gpu: gpu(adapter(false), adapter(false)) })).toBe('core');
    expect(await detectFeatureLevel({ gpu: gpu(adapter(true), adapter(false, 2 ** 27)) })).toBe('compatibility');
    expect(await detectFeatureLevel({ gpu: gpu(adapter(true), adapter(true)) })).toBe('core');
    expect(await detectFeatureLevel({ gpu: gpu(null, adapter(false, 2 ** 27)) })).toBe('compatibility');
    expect(await detectFeatureLevel({ gpu: gpu(null, null) })).toBeNull();
    const compat = await describeWebGpu({ gpu: gpu(null, adapter(false, 2 ** 27)) });
    expect(compat).toMatchObject({ available: true, featureLevel: 'compatibility', limits: { maxStorageBufferBindingSize: 2 ** 27 } });
    expect((await describeWebGpu({ gpu: gpu(null, null) })).reason).toMatch(/no adapter/);
  });
});
