// Memory for the big members of the family (resnet152, resnext101 and wide_resnet101_2 weigh 230-510
// MB in float32):
// - the sizes the checks read (weightUploads) are exactly the buffers NetworkWeights makes, in f32 and
//   with the f16 copies, on ResNet18, a Bottleneck and a grouped network;
// - what does not fit an adapter or the budget is refused before any upload, in one line naming the
//   tensor or the total and the limit, and the engine's previous weights stay usable;
// - loading a checkpoint file never holds more than one extra copy of it: measured as the growth of
//   a fresh process's peak resident memory while `loadCheckpointFile` reads a full-size resnet50
//   (about 98 MiB), in both formats. The file and its float32 tensors are two copies; the bound
//   allows 2.5 (the third a loader that copied the file's bytes would add is what it catches).

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ResNetEngine } from '../src/model/engine';
import { architectureOf } from '../src/model/family';
import { checkWeightsFit, weightUploads } from '../src/model/gpu-weights';
import { expectedTensors } from '../src/model/architecture';
import { supportsF16 } from '../src/kernels/conv2d';
import { writePth } from '../src/weights/pth-writer';
import { writeSafetensors } from '../src/weights/safetensors';
import { testContext } from './helpers/gpu';
import { familyWeights } from './reference/family-weights';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'resnet-stream-weights-memory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MiB = 2 ** 20;
const total = (arch: string, precision: 'f32' | 'f16' = 'f32', missing = new Set<string>()) =>
  weightUploads(architectureOf(arch), missing, precision).reduce((a, u) => a + u.bytes, 0);

describe('the weights on the GPU: sizes known before upload', () => {
  it('weightUploads is what the engine uploads (resnet18, resnet50, resnext50_32x4d; f32 and f16; a partial checkpoint)', async () => {
    const ctx = await testContext();
    const precisions: ('f32' | 'f16')[] = supportsF16(ctx) ? ['f32', 'f16'] : ['f32'];
    for (const name of ['resnet18', 'resnet50', 'resnext50_32x4d'] as const) {
      const tensors = familyWeights(name, 1);
      for (const precision of precisions) {
        const engine = await ResNetEngine.create({ context: ctx, precision });
        try {
          engine.loadWeights(tensors);
          expect(engine.weightBytes, `${name} ${precision}`).toBe(total(name, precision));
        } finally {
          engine.dispose();
        }
      }
    }
    const partial = familyWeights('resnet50', 1);
    const gone = [...partial.keys()].filter((n) => n.startsWith('layer4.') || n.startsWith('fc.'));
    for (const n of gone) partial.delete(n);
    const engine = await ResNetEngine.create({ context: ctx });
    engine.loadWeights(partial);
    expect(engine.weightBytes).toBe(total('resnet50', 'f32', new Set(gone)));
    engine.dispose();
  });

  it('the family in float32: from 44.6 MiB (resnet18) to 484 MiB (wide_resnet101_2)', () => {
    expect(total('resnet18') / MiB).toBeCloseTo(44.6, 1);
    expect(total('resnet50') / MiB).toBeGreaterThan(97);
    expect(total('wide_resnet101_2') / MiB).toBeGreaterThan(480);
    // every tensor of the state dict is held once, plus packing and the stem's raw BN
    for (const name of ['resnet152', 'resnext101_64x4d', 'wide_resnet101_2']) {
      const params = [...expectedTensors(architectureOf(name)).values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
      expect(total(name)).toBeGreaterThanOrEqual(params * 4 * 0.99);
      expect(total(name)).toBeLessThan(params * 4 * 1.01);
    }
  });

  it('what does not fit is one line naming the tensor or the total and the limit', () => {
    const wide = architectureOf('wide_resnet101_2');
    const uploads = weightUploads(wide, new Set());
    const adapter = { maxStorageBufferBindingSize: 128 * MiB, maxBufferSize: 256 * MiB };
    expect(() => checkWeightsFit(wide, uploads, adapter, 4 * 2 ** 30)).not.toThrow();
    // layer4's 3x3 filters are 2048 x 2048 x 9 floats: 144 MiB in one buffer
    expect(() => checkWeightsFit(wide, uploads, { maxStorageBufferBindingSize: 128 * MiB, maxBufferSize: 128 * MiB }, 4 * 2 ** 30)).not.toThrow();
    expect(() => checkWeightsFit(wide, uploads, { maxStorageBufferBindingSize: 32 * MiB, maxBufferSize: 256 * MiB }, 4 * 2 ** 30))
      .toThrow(/^wide_resnet101_2's layer4\.\d\.conv2\.weight \(packed\) needs a 36\.0 MiB buffer, over this adapter's maxStorageBufferBindingSize of 32\.0 MiB$/);
    expect(() => checkWeightsFit(wide, uploads, adapter, 256 * MiB))
      .toThrow(/^wide_resnet101_2's weights need 48\d\.\d MiB on the GPU \(\d+ buffers\), over the engine's budget of 256\.0 MiB \(maxMemoryBytes\)/);
  });

  it('an engine whose budget the weights exceed refuses them before any upload and keeps the weights it had', async () => {
    const ctx = await testContext();
    const engine = await ResNetEngine.create({ context: ctx, maxMemoryBytes: 80 * MiB });
    try {
      engine.loadWeights(familyWeights('resnet18', 2));
      const before = engine.weightBytes;
      expect(() => engine.loadWeights(familyWeights('resnet50', 2))).toThrow(/resnet50's weights need 9\d\.\d MiB on the GPU .* over the engine's budget of 80\.0 MiB/);
      expect(engine.architecture.name).toBe('resnet18');
      expect(engine.weightBytes).toBe(before);
      const x = { shape: [1, 3, 32, 32], data: new Float32Array(3 * 32 * 32).fill(0.5) };
      expect((await engine.forward(x, { taps: ['fc'] })).get('fc')!.shape).toEqual([1, 1000]);
    } finally {
      engine.dispose();
    }
  });
});

describe('loading a checkpoint file holds at most one extra copy of it', () => {
  const weights = familyWeights('resnet50', 5);
  const files = { pth: join(dir, 'resnet50.pth'), safetensors: join(dir, 'resnet50.safetensors') };
  writeFileSync(files.pth, writePth(weights));
  writeFileSync(files.safetensors, writeSafetensors(weights));
  const NODE_ENTRY = resolve(__dirname, '../dist/node.js');
  // A fresh process: resident memory just before the load, its peak after (the file and its tensors are
  // the only big things in it). Not the peak before: importing the engine peaks higher than it stays.
  const probe = `
    const { statSync } = await import('node:fs');
    const { loadCheckpointFile } = await import(${JSON.stringify(NODE_ENTRY)});
    const file = process.argv[1];
    const before = process.memoryUsage().rss;
    const c = await loadCheckpointFile(file);
    const after = process.resourceUsage().maxRSS * 1024;
    let tensors = 0;
    for (const t of c.tensors.values()) tensors += t.data.byteLength;
    console.log(JSON.stringify({ grew: after - before, file: statSync(file).size, tensors }));`;

  for (const [format, file] of Object.entries(files) as [string, string][]) {
    it(`${format}: peak memory grows by the file and its tensors, not a third copy`, { timeout: 120_000 }, async () => {
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe, file], { maxBuffer: 2 ** 20 });
      const m = JSON.parse(stdout) as { grew: number; file: number; tensors: number };
      console.log(`${format}: file ${(m.file / MiB).toFixed(1)} MiB, tensors ${(m.tensors / MiB).toFixed(1)} MiB, peak RSS grew ${(m.grew / MiB).toFixed(1)} MiB (${(m.grew / m.file).toFixed(2)}x the file)`);
      expect(m.file).toBeGreaterThan(90 * MiB);
      expect(m.grew).toBeLessThan(2.5 * m.file);
    });
  }
});
