// The package as its users get it: a fresh clone of the committed tree is packed (`npm pack` runs
// the `prepare` build), the tarball is installed into a new project (test/fixtures/consumer), whose
// TypeScript page and Node script type-check with skipLibCheck off; Vite builds the page, which runs
// a forward in headless Chromium; the Node script's taps through 'resnet-stream/node' equal the
// installed CLI's, bit for bit; `npx resnet-stream --version` prints the package version.
// npm works from its cache (--prefer-offline): the packages were fetched by this checkout's `npm ci`.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePngRgb } from '../src/featureviz/png';
import { randomWeights } from '../src/weights/random';
import { writePth } from '../src/weights/pth-writer';
import { readSafetensors } from '../src/weights/safetensors';
import { noChromiumReason, withBrowserPage } from './helpers/browser';

const ROOT = resolve(__dirname, '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };
const noGit = spawnSync('git', ['-C', ROOT, 'rev-parse', 'HEAD']).status === 0 ? null : 'skipped: not a git checkout';
if (noGit) console.log(noGit);
const noChromium = noChromiumReason();

function sh(cmd: string, args: string[], cwd: string, timeoutMs = 300_000): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`.slice(0, 4000));
  return r.stdout;
}

describe.skipIf(noGit)('the npm package, installed from a packed fresh clone', () => {
  let work: string;
  let consumer: string;
  let tarball: string;
  let files: string[];

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'resnet-stream-package-'));
    const clone = join(work, 'clone');
    sh('git', ['clone', '-q', '--depth', '1', `file://${ROOT}`, clone], work);
    // devDependencies are what the `prepare` build needs; then npm pack runs it.
    sh('npm', ['ci', '--prefer-offline', '--ignore-scripts'], clone);
    const packed = JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', work], clone)) as { filename: string; files: { path: string }[] }[];
    tarball = join(work, packed[0].filename);
    files = packed[0].files.map((f) => f.path).sort();

    consumer = join(work, 'consumer');
    cpSync(join(ROOT, 'test/fixtures/consumer'), consumer, { recursive: true });
    const dev = pkg.devDependencies;
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({
      name: 'resnet-stream-consumer', private: true, type: 'module',
      dependencies: { 'resnet-stream': `file:${tarball}` },
      devDependencies: { vite: dev.vite, typescript: dev.typescript, '@webgpu/types': dev['@webgpu/types'], '@types/node': dev['@types/node'] },
    }, null, 2));
    sh('npm', ['install', '--prefer-offline'], consumer);
  }, 900_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('holds the built library, the Node entry, the CLI and their types, and nothing else', () => {
    for (const f of ['dist/resnet-stream.js', 'dist/node.js', 'dist/cli.js', 'dist/types/index.d.ts', 'dist/types/index-node.d.ts',
      'package.json', 'README.md', 'CHANGELOG.md', 'weights/download.mjs']) {
      expect(files, f).toContain(f);
    }
    const unwanted = files.filter((f) => /^(test|bench|examples|scripts|demo|shaders|src)\/|^dist\/demo\/|\.test\./.test(f));
    expect(unwanted).toEqual([]);
  });

  it('type-checks a TypeScript page and a Node script against it, with skipLibCheck off', () => {
    sh(process.execPath, [join(consumer, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], consumer);
  });

  it('the installed bin answers --version and --help', () => {
    const bin = join(consumer, 'node_modules/.bin/resnet-stream');
    expect(sh(bin, ['--version'], consumer).trim()).toBe(pkg.version);
    expect(sh(bin, ['--help'], consumer)).toMatch(/^resnet-stream: /);
  });

  it('a Node script importing resnet-stream/node gets the taps the CLI gets, bit for bit', () => {
    const weights = join(consumer, 'weights.pth');
    writeFileSync(weights, writePth(randomWeights(3)));
    const image = join(consumer, 'pattern.png');
    const [w, h] = [61, 47];
    const rgb = new Uint8Array(w * h * 3).map((_, i) => (i * 37 + (i % 7) * 11) & 255);
    writeFileSync(image, encodePngRgb(rgb, w, h));
    sh(process.execPath, [join(consumer, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--noEmit', 'false', '--outDir', 'build'], consumer);
    const viaNode = join(consumer, 'node.safetensors');
    const viaCli = join(consumer, 'cli.safetensors');
    sh(process.execPath, [join(consumer, 'build/node-script.js'), weights, image, viaNode], consumer);
    sh(join(consumer, 'node_modules/.bin/resnet-stream'), ['taps', '--weights', weights, '--image', image, '--out', viaCli], consumer);
    const a = readSafetensors(new Uint8Array(readFileSync(viaNode))).tensors;
    const b = readSafetensors(new Uint8Array(readFileSync(viaCli))).tensors;
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    expect(a.size).toBeGreaterThan(40);
    for (const [name, t] of b) {
      const mine = a.get(name)!;
      expect(mine.shape, name).toEqual(t.shape);
      expect(Buffer.from(mine.data.buffer, mine.data.byteOffset, mine.data.byteLength)
        .equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), name).toBe(true);
    }
  });

  it.skipIf(noChromium)('Vite builds the page, and it runs a forward in headless Chromium with no console errors', async () => {
    sh(process.execPath, [join(consumer, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'error'], consumer);
    const site = join(consumer, 'dist');
    expect(readdirSync(join(site, 'assets')).some((f) => f.endsWith('.js'))).toBe(true);
    if (!existsSync(join(consumer, 'weights.pth'))) writeFileSync(join(consumer, 'weights.pth'), writePth(randomWeights(3)));
    cpSync(join(consumer, 'weights.pth'), join(site, 'weights.pth'));
    const result = await withBrowserPage({ root: site, timeoutMs: 240_000 }, async (session) => {
      await session.page.goto(session.url('/index.html'));
      await session.page.waitForFunction('window.result !== undefined', { timeout: 200_000 });
      const r = await session.page.evaluate(() => (window as unknown as { result: unknown }).result);
      expect(session.consoleErrors).toEqual([]);
      return r as { top: { index: number }[]; logits: number[] } | { error: string };
    });
    if ('error' in result) throw new Error(`the page failed: ${result.error}`);
    expect(result.logits).toHaveLength(1000);
    expect(result.logits.every(Number.isFinite)).toBe(true);
    expect(result.top).toHaveLength(5);
  });
});
