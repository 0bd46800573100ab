// The page entry on torchvision's ResNet family in headless Chromium: a resnet50 checkpoint
// (safetensors) and a resnext50_32x4d one (torch.save .pth) fetched by URL and loaded with
// loadCheckpointInto, the architecture recognised from the file alone; every tap of one forward
// against the PyTorch goldens (test/fixtures/goldens, the hash weights and input of
// test/network-family.test.ts) within that test's tolerance, 1e-4 of each tap's scale. A checkpoint
// of no family member fails with one line.

import * as esbuild from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { architectureOf } from '../src/model/family';
import { writePth } from '../src/weights/pth-writer';
import { writeSafetensors } from '../src/weights/safetensors';
import { noChromiumReason, withBrowserPage } from './helpers/browser';
import type { FamilyArchName } from './reference/family';
import { familyWeights, hashInput } from './reference/family-weights';
import { GOLDENS, goldenTapErrors, readF32Safetensors } from './reference/golden-files';

const TOLERANCE = 1e-4;
const BUILD = 'test/.build';
const noChromium = noChromiumReason();

async function buildPage(): Promise<void> {
  await esbuild.build({
    entryPoints: ['test/browser/family-page.ts'],
    outfile: join(BUILD, 'family-page.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    loader: { '.wgsl': 'text' },
    logLevel: 'warning',
  });
}

const f32 = (base64: string) => {
  const bytes = Buffer.from(base64, 'base64');
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
};

describe.skipIf(noChromium)('family checkpoints by URL in headless Chromium (loadCheckpointInto)', () => {
  const cases: { arch: FamilyArchName; format: 'safetensors' | 'pth' }[] = [
    { arch: 'resnet50', format: 'safetensors' },
    { arch: 'resnext50_32x4d', format: 'pth' },
  ];
  for (const { arch, format } of cases) {
    it(`${arch} (.${format}): recognised, blocks from the architecture, every tap within ${TOLERANCE} of PyTorch's`, async () => {
      mkdirSync(BUILD, { recursive: true });
      await buildPage();
      const golden = readF32Safetensors(join(GOLDENS, `family-${arch}.safetensors`));
      const seed = Number(golden.metadata.seed);
      const listing = (JSON.parse(golden.metadata.taps) as [string, number[], number, 'full' | 'sampled'][]).filter(([n]) => n !== 'input');
      const input = hashInput(seed, 'input', JSON.parse(golden.metadata.input_shape) as number[]);
      const weights = familyWeights(arch, seed);
      const file = `family-${arch}.${format}`;
      writeFileSync(join(BUILD, file), format === 'pth' ? writePth(weights) : writeSafetensors(weights));
      const base64 = Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength).toString('base64');
      const run = await withBrowserPage({ adapter: 'swiftshader', timeoutMs: 300_000 }, async (s) => {
        await s.page.goto(s.url('/test/browser/family.html'));
        await s.page.waitForFunction('typeof window.runFamily === "function"', { timeout: 30_000 });
        const r = await s.page.evaluate((url, shape, b64, taps) => window.runFamily(url, { shape, base64: b64 }, taps),
          `/${BUILD}/${file}`, input.shape, base64, listing.map(([n]) => n));
        return { ...r, errors: [...s.consoleErrors] };
      });
      expect(run.errors).toEqual([]);
      const want = architectureOf(arch);
      expect(run.architecture).toBe(arch);
      expect(run.known).toBe(true);
      expect(run.missing).toBe(0);
      expect(run.blocks).toEqual(want.blocks.map((b) => b.short));
      expect(run.blocks).toHaveLength(16);
      // METHOD.md: every block of a Bottleneck network (layer1.0 widens 64 -> 256 through a downsample).
      expect(run.defaults).toEqual(run.blocks);
      const taps = new Map(Object.entries(run.taps).map(([n, t]) => [n, { shape: t.shape, data: f32(t.base64) }]));
      const errors = goldenTapErrors(golden, seed, listing, taps).sort((a, b) => b[1] - a[1]);
      console.log(`${arch} in Chromium: worst taps ${errors.slice(0, 3).map(([n, e]) => `${n} ${e.toExponential(2)}`).join(', ')}`);
      for (const [name, e] of errors) expect(e, name).toBeLessThanOrEqual(TOLERANCE);
      const logits = taps.get('fc')!.data;
      const top5 = [0, 1].map((n) => Array.from({ length: 1000 }, (_, i) => i)
        .sort((a, b) => logits[n * 1000 + b] - logits[n * 1000 + a] || a - b).slice(0, 5));
      expect(top5).toEqual(JSON.parse(golden.metadata.top5));
    }, 600_000);
  }

  it('a checkpoint of no family member: one line naming the member it is closest to', async () => {
    mkdirSync(BUILD, { recursive: true });
    await buildPage();
    const t = (shape: number[]) => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    writeFileSync(join(BUILD, 'family-vgg.safetensors'), writeSafetensors(new Map([['features.0.weight', t([64, 3, 3, 3])], ['classifier.0.weight', t([10, 64])]])));
    // resnet50 with a 10-class head: every name fits, one shape does not.
    const r50 = new Map([...familyWeights('resnet50', 3)].filter(([n]) => !n.startsWith('fc.')));
    writeFileSync(join(BUILD, 'family-r50-cifar.pth'), writePth(new Map([...r50, ['fc.weight', t([10, 2048])], ['fc.bias', t([10])]])));
    const messages = await withBrowserPage({ adapter: 'swiftshader', timeoutMs: 120_000 }, async (s) => {
      await s.page.goto(s.url('/test/browser/family.html'));
      await s.page.waitForFunction('typeof window.loadError === "function"', { timeout: 30_000 });
      const vgg = await s.page.evaluate((url) => window.loadError(url), `/${BUILD}/family-vgg.safetensors`);
      const cifar = await s.page.evaluate((url) => window.loadError(url), `/${BUILD}/family-r50-cifar.pth`);
      return { vgg, cifar, errors: [...s.consoleErrors] };
    });
    expect(messages.errors).toEqual([]);
    expect(messages.vgg).toBe("family-vgg.safetensors: 2 tensor(s) are not part of torchvision's resnet18: 'features.0.weight', 'classifier.0.weight'");
    expect(messages.cifar).toBe("family-r50-cifar.pth: tensor 'fc.weight' has shape [10, 2048], expected [1000, 2048]");
  }, 300_000);
});
