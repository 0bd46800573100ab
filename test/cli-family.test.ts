// The command line on other members of torchvision's ResNet family, as a user runs it: a torch.save
// checkpoint of resnext50_32x4d (seeded hash weights, test/reference/family-weights.ts) goes through
// `inspect` (the architecture named, no flag), `taps` (the logits equal PyTorch's golden within
// 1e-4 of their scale, as test/network-family.test.ts) and `classify` (PyTorch's top-5); a checkpoint of no member (an SE-ResNet's
// extra tensors) is refused in one line that names the member it resembles and what does not fit.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { writePth } from '../src/weights/pth-writer';
import { readSafetensors, writeSafetensors } from '../src/weights/safetensors';
import { familyWeights, hashInput } from './reference/family-weights';
import { GOLDENS, readF32Safetensors } from './reference/golden-files';
import { type CliResult, runCliCommand } from './helpers/cli';

const run = promisify(execFile);
const CLI = resolve(__dirname, '../dist/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'resnet-stream-cli-family-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]): Promise<CliResult> {
  return runCliCommand(args, 300_000);
}

describe('the CLI on the ResNet family', () => {
  it('resnext50_32x4d: inspect names it, taps gives PyTorch\'s logits', async () => {
    const golden = readF32Safetensors(join(GOLDENS, 'family-resnext50_32x4d.safetensors'));
    const seed = Number(golden.metadata.seed);
    const weights = join(dir, 'resnext50_32x4d.pth');
    writeFileSync(weights, writePth(familyWeights('resnext50_32x4d', seed)));
    const inspect = await cli(['inspect', '--weights', weights, '--json']);
    expect(inspect.code, inspect.stderr).toBe(0);
    const report = JSON.parse(inspect.stdout) as { architecture: string; missing: string[]; lastComputable: string };
    expect(report).toMatchObject({ architecture: 'resnext50_32x4d', missing: [], lastComputable: 'fc' });

    const input = join(dir, 'input.safetensors');
    const x = hashInput(seed, 'input', JSON.parse(golden.metadata.input_shape) as number[]);
    writeFileSync(input, writeSafetensors(new Map([['input', x]])));
    const out = join(dir, 'taps.safetensors');
    const taps = await cli(['taps', '--weights', weights, '--input', input, '--taps', 'layer2.0.bn3,layer4.2,fc', '--out', out]);
    expect(taps.code, taps.stderr).toBe(0);
    const got = readSafetensors(new Uint8Array(readFileSync(out))).tensors;
    expect(got.get('layer2.0.bn3')!.shape).toEqual([2, 512, 5, 6]);
    const fc = got.get('fc')!.data;
    const want = golden.tensors.get('fc')!.data;
    let scale = 0;
    let worst = 0;
    for (let i = 0; i < want.length; i++) {
      scale = Math.max(scale, Math.abs(want[i]));
      worst = Math.max(worst, Math.abs(fc[i] - want[i]));
    }
    expect(worst / scale).toBeLessThanOrEqual(1e-4);

    // classify: PyTorch's top-5 of each image (the golden's), in order.
    const classify = await cli(['classify', '--weights', weights, '--input', input, '--json']);
    expect(classify.code, classify.stderr).toBe(0);
    const results = JSON.parse(classify.stdout) as { top: { index: number }[] }[];
    expect(results.map((r) => r.top.map((t) => t.index))).toEqual(JSON.parse(golden.metadata.top5));
  }, 600_000);

  it('a checkpoint of no member is one line naming the member it resembles and what does not fit', async () => {
    const tensors = familyWeights('resnet50', 1);
    tensors.set('layer1.0.se.fc1.weight', { shape: [16, 256, 1, 1], data: new Float32Array(16 * 256) });
    const weights = join(dir, 'seresnet50.pth');
    writeFileSync(weights, writePth(tensors));
    const r = await cli(['inspect', '--weights', weights]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("error: seresnet50.pth: 1 tensor(s) are not part of torchvision's resnet50: 'layer1.0.se.fc1.weight'");
  }, 300_000);
});
