// The command line as users and external checks run it: dist/cli.js (built by `npm test`) in a
// child process, on the shared partial checkpoint and on a full synthetic checkpoint.

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomWeights } from '../src/weights/random';
import { writePth } from '../src/weights/pth-writer';
import { readSafetensors, writeSafetensors } from '../src/weights/safetensors';
import { referenceForward } from './reference/resnet';
import { makeRng, randomArray } from './helpers/gpu';
import { PARTIAL_WEIGHTS, SAMPLES, TENCH_TAPS, sharedMissing } from './helpers/shared';
import { type CliResult, runCliCommand } from './helpers/cli';

const run = promisify(execFile);
const CLI = resolve(__dirname, '../dist/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'resnet-stream-cli-'));

function cli(args: string[]): Promise<CliResult> {
  return runCliCommand(args, 120_000);
}

/** stderr without Dawn's driver warnings (lavapipe prints two limit notes at device creation). */
function ownLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l && !l.startsWith('Warning: maxDynamic'));
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does)');
});

describe('resnet-stream CLI', () => {
  it('classify on a full synthetic checkpoint gives the reference top-5', async () => {
    const weights = randomWeights(5);
    const pth = join(dir, 'synthetic.pth');
    writeFileSync(pth, writePth(weights));
    const input = { shape: [1, 3, 48, 40], data: randomArray(3 * 48 * 40, makeRng(9), -2, 2) };
    const inputPath = join(dir, 'input.safetensors');
    writeFileSync(inputPath, writeSafetensors(new Map([['input', input]])));
    const r = await cli(['classify', '--weights', pth, '--input', inputPath, '--top', '5', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(ownLines(r.stderr)[0]).toMatch(/^adapter: /);
    const result = JSON.parse(r.stdout) as { top: { index: number; name: string; probability: number }[] };
    const logits = referenceForward(weights, input).get('fc')!.data;
    const expected = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]).slice(0, 5);
    expect(result.top.map((t) => t.index)).toEqual(expected);
    expect(result.top[0].name).toBeTypeOf('string');
    expect(result.top.reduce((s, t) => s + t.probability, 0)).toBeLessThanOrEqual(1 + 1e-9);
  });

  it('bad input is one line on stderr, a non-zero exit and no stack trace', async () => {
    const notWeights = join(dir, 'not-weights.pth');
    writeFileSync(notWeights, 'this is not a checkpoint');
    const input = join(dir, 'input2.safetensors');
    writeFileSync(input, writeSafetensors(new Map([['input', { shape: [1, 3, 32, 32], data: new Float32Array(3 * 32 * 32) }]])));
    for (const args of [
      ['taps', '--weights', notWeights, '--input', input, '--out', join(dir, 'o.safetensors')],
      ['taps', '--weights', notWeights, '--input', join(dir, 'absent.safetensors'), '--out', join(dir, 'o.safetensors')],
      ['classify', '--weights', notWeights, '--input', input, '--top', 'many'],
      ['taps', '--bogus'],
    ]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      const lines = ownLines(r.stderr).filter((l) => !l.startsWith('adapter: '));
      expect(lines.length, r.stderr).toBe(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  const noShared = sharedMissing(PARTIAL_WEIGHTS, TENCH_TAPS, SAMPLES);
  it.skipIf(noShared)('taps on the partial checkpoint writes what it can, names what is missing, exits 0', async () => {
    const out = join(dir, 'tench-taps.safetensors');
    const r = await cli(['taps', '--weights', PARTIAL_WEIGHTS, '--image', join(SAMPLES, 'n01440764_tench.JPEG'), '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/layer4\.0\.conv1\.weight/);
    expect(r.stderr).toMatch(/not computed.*fc/);
    const taps = readSafetensors(new Uint8Array(readFileSync(out))).tensors;
    expect(taps.has('layer3.1')).toBe(true);
    expect(taps.has('input')).toBe(true);
    expect(taps.has('layer4.0')).toBe(false);
    // Through our image path the tench's `input` is PyTorch's bit for bit, so layer3.1 agrees with
    // the reference taps to the network tolerance.
    const reference = readSafetensors(new Uint8Array(readFileSync(TENCH_TAPS))).tensors;
    const a = taps.get('layer3.1')!.data;
    const b = reference.get('layer3.1')!.data;
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < b.length; i++) {
      worst = Math.max(worst, Math.abs(a[i] - b[i]));
      scale = Math.max(scale, Math.abs(b[i]));
    }
    expect(worst / scale).toBeLessThanOrEqual(1e-4);
    const subset = join(dir, 'subset.safetensors');
    const r2 = await cli(['taps', '--weights', PARTIAL_WEIGHTS, '--input', TENCH_TAPS, '--taps', 'layer2.1.bn2,layer2.1', '--out', subset]);
    expect(r2.code, r2.stderr).toBe(0);
    expect([...readSafetensors(new Uint8Array(readFileSync(subset))).tensors.keys()]).toEqual(['layer2.1.bn2', 'layer2.1']);
  });
});
