// Adapter resolution in Node (src/gpu/node.ts): the npm-shipped SwiftShader works with or without a
// system Vulkan loader, the adapter line says which adapter was chosen and why, unknown or missing
// adapters are one-line errors, and two processes unpacking the shipped driver at once both get a
// whole one. With RESNET_STREAM_EXPECT_BARE=1 (CI's bare-path run, where the system's chromium,
// Vulkan loader and drivers are hidden) the default must come from the npm package.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from '../src/weights/safetensors';
import { adapterLine, createNodeContext } from '../src/gpu/node';
import { shippedRuntimeUnavailable } from '../src/gpu/shipped-runtime-node';

const ROOT = resolve(__dirname, '..');
const CLI = join(ROOT, 'dist/cli.js');
const STEM_WEIGHTS = join(ROOT, 'test/fixtures/weights/resnet18-stem-layer1.0.pth');
const bare = process.env.RESNET_STREAM_EXPECT_BARE === '1';
const work = mkdtempSync(join(tmpdir(), 'resnet-stream-adapter-'));

/** A 1x3x40x36 input tensor file (fresh random values). */
function smallInput(): string {
  const path = join(work, 'input.safetensors');
  const data = Float32Array.from({ length: 3 * 40 * 36 }, () => Math.random() * 4 - 2);
  writeFileSync(path, writeSafetensors(new Map([['input', { shape: [1, 3, 40, 36], data }]])));
  return path;
}
const noShipped = shippedRuntimeUnavailable();
if (noShipped) console.log(`skipped: ${noShipped}`);

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
}

describe.skipIf(noShipped)('Node adapter resolution', () => {
  const caches: string[] = [work];
  afterAll(() => {
    for (const c of caches) rmSync(c, { recursive: true, force: true });
  });

  it('--adapter swiftshader-npm gives SwiftShader from the npm package, and says so', async () => {
    const context = await createNodeContext('swiftshader-npm');
    try {
      expect(context.adapter.name).toBe('swiftshader');
      expect(context.origin).toMatch(/^the SwiftShader shipped in @sparticuz\/chromium@\d+/);
      expect(adapterLine(context)).toMatch(/^adapter: swiftshader \(.+\), from the SwiftShader shipped in @sparticuz\/chromium@/);
    } finally {
      context.destroy();
    }
  });

  it('the CLI\'s default adapter line names the driver and why; on a bare machine it is the npm-shipped one', () => {
    const run = cli(['taps', '--weights', STEM_WEIGHTS, '--input', smallInput(), '--taps', 'maxpool', '--out', join(work, 'taps.safetensors')]);
    expect(run.status, run.stderr).toBe(0);
    const line = run.stderr.split('\n').find((l) => l.startsWith('adapter: '));
    expect(line).toMatch(/^adapter: \S+ \(.+\), from .+/);
    if (bare) {
      expect(line).toMatch(/^adapter: swiftshader \(.+\), from the SwiftShader shipped in @sparticuz\/chromium@[\d.]+ \(no GPU driver, lavapipe or system Vulkan loader found\)$/);
    }
  });

  it('an adapter that is not there, or not known, is one line and a non-zero exit', () => {
    const unknown = cli(['taps', '--adapter', 'metal', '--weights', 'x.pth', '--input', 'x.safetensors', '--out', 'y.safetensors']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr.trim()).toBe('error: --adapter must be one of default, gpu, lavapipe, swiftshader, swiftshader-npm, not \'metal\'');
    if (bare) {
      const lavapipe = cli(['taps', '--adapter', 'lavapipe', '--weights', STEM_WEIGHTS, '--input', smallInput(), '--taps', 'maxpool', '--out', join(work, 'never.safetensors')]);
      expect(lavapipe.status).toBe(1);
      const lines = lavapipe.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^error: no WebGPU adapter found for --adapter lavapipe \(.*lavapipe not found: install mesa-vulkan-drivers/);
    }
  });

  it('two processes unpacking the shipped driver into an empty cache at once both get the whole driver', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'resnet-stream-cache-'));
    caches.push(cache);
    // The module bundled where it resolves @sparticuz/chromium as the CLI does (from the project).
    const bundle = join(ROOT, 'node_modules/.cache/resnet-stream-test/shipped-runtime.mjs');
    await build({ entryPoints: [join(ROOT, 'src/gpu/shipped-runtime-node.ts')], bundle: true, platform: 'node', format: 'esm',
      packages: 'external', outfile: bundle, logLevel: 'error' });
    const script = `
      const { shippedRuntime } = await import(${JSON.stringify(bundle)});
      const r = await shippedRuntime();
      process.stdout.write(JSON.stringify(r));`;
    const runOne = () => new Promise<{ code: number | null; out: string; err: string }>((ok) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, RESNET_STREAM_CACHE: cache } });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => { out += d; });
      child.stderr.on('data', (d) => { err += d; });
      child.on('close', (code) => ok({ code, out, err }));
    });
    const [a, b] = await Promise.all([runOne(), runOne()]);
    expect(a.err + b.err).toBe('');
    expect([a.code, b.code]).toEqual([0, 0]);
    const ra = JSON.parse(a.out) as { dir: string; loader: string; icd: string };
    expect(JSON.parse(b.out)).toEqual(ra);
    expect(ra.dir.startsWith(cache)).toBe(true);
    // One folder, no staging leftovers, and the driver whole.
    expect(readdirSync(cache)).toEqual([ra.dir.slice(cache.length + 1)]);
    const icd = JSON.parse(readFileSync(ra.icd, 'utf8')) as { ICD: { library_path: string } };
    expect(statSync(join(ra.dir, icd.ICD.library_path)).size).toBeGreaterThan(1_000_000);
    expect(statSync(ra.loader).size).toBeGreaterThan(100_000);
  });
});

