// The ResNet family as data (test/reference/family.ts) against torchvision itself, and the hash
// weights (test/reference/family-weights.ts) against their Python twin, bit for bit. Both oracles
// come from scripts/goldens/make_family_goldens.py (torchvision 0.14): family-state-dicts.json holds
// every constructor's state-dict names and shapes and a SHA-256 over each arch's generated weights;
// each family-<arch>.safetensors holds the SHA-256 of every single tensor and of the input. CPU only.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAMILY, FAMILY_NAMES, branchTap, familyBlocks, familyStateDict, familyTapNames, familyTapShapes } from './reference/family';
import { familyWeights, hashInput, hashUniform } from './reference/family-weights';
import { GOLDENS, readF32Safetensors } from './reference/golden-files';

interface StateDicts {
  seed: number;
  archs: Record<string, { tensors: [string, number[]][]; weights_sha256: string; parameters: number }>;
}

const doc = JSON.parse(readFileSync(join(GOLDENS, 'family-state-dicts.json'), 'utf8')) as StateDicts;

function sha256(data: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');
}

describe('architecture table vs torchvision 0.14', () => {
  it('covers exactly the constructors the golden script enumerated', () => {
    expect(Object.keys(doc.archs).sort()).toEqual([...FAMILY_NAMES].sort());
  });

  for (const arch of FAMILY_NAMES) {
    it(`${arch}: state-dict names, order and shapes`, () => {
      expect(familyStateDict(arch, { numBatchesTracked: true })).toEqual(doc.archs[arch].tensors);
      const floats = familyStateDict(arch);
      expect(floats.some(([n]) => n.endsWith('num_batches_tracked'))).toBe(false);
      expect(floats.reduce((s, [, shape]) => s + shape.reduce((a, b) => a * b, 1), 0)).toBe(doc.archs[arch].parameters);
    });
  }

  it('block structure: v1.5 stride on the 3x3, downsample where torchvision puts it, the branch readout', () => {
    const r50 = familyBlocks('resnet50');
    expect(r50.map((b) => b.name).filter((n) => n.endsWith('.0'))).toEqual(['layer1.0', 'layer2.0', 'layer3.0', 'layer4.0']);
    expect(r50.filter((b) => b.downsample).map((b) => b.name)).toEqual(['layer1.0', 'layer2.0', 'layer3.0', 'layer4.0']);
    expect(r50[3].convs.map((c) => c.stride)).toEqual([1, 2, 1]); // layer2.0
    expect(branchTap(r50[0])).toBe('layer1.0.bn3');
    expect(familyBlocks('resnet18').filter((b) => b.downsample).map((b) => b.name)).toEqual(['layer2.0', 'layer3.0', 'layer4.0']);
    expect(branchTap(familyBlocks('resnet34')[5])).toBe('layer2.2.bn2');
    // resnext101_64x4d: width = int(planes * 4 / 64) * 64, groups 64 -> 4 channels per group in layer1.
    const x = familyBlocks('resnext101_64x4d');
    expect(x.map((b) => b.width).filter((_, i) => [0, 3, 7, 30].includes(i))).toEqual([256, 512, 1024, 2048]);
    expect(x[0].convs[1].groups).toBe(64);
    expect(familyBlocks('resnet152').length).toBe(3 + 8 + 36 + 3);
    expect(FAMILY.wide_resnet50_2.widthPerGroup).toBe(128);
  });

  it('tap names and shapes (resnet50, 2x3x40x48)', () => {
    const names = familyTapNames('resnet50');
    expect(names.slice(0, 13)).toEqual(['input', 'conv1', 'bn1', 'relu', 'maxpool', 'layer1.0.bn1', 'layer1.0.bn2', 'layer1.0.bn3',
      'layer1.0.downsample.1', 'layer1.0.skip', 'layer1.0.sum', 'layer1.0', 'layer1.1.bn1']);
    expect(names.slice(-2)).toEqual(['avgpool', 'fc']);
    const shapes = familyTapShapes('resnet50', 2, 40, 48);
    expect(shapes.get('maxpool')).toEqual([2, 64, 10, 12]);
    expect(shapes.get('layer2.0.bn1')).toEqual([2, 128, 10, 12]);
    expect(shapes.get('layer2.0.bn2')).toEqual([2, 128, 5, 6]);
    expect(shapes.get('layer4.2')).toEqual([2, 2048, 2, 2]);
    expect(shapes.get('avgpool')).toEqual([2, 2048]);
  });
});

describe('hash weights: TypeScript bit-identical to scripts/goldens/family_weights.py', () => {
  it('the uniforms are exact float32 multiples of 2^-24 and look uniform', () => {
    const u = hashUniform(1, 'a', 100_000);
    let mean = 0;
    for (const v of u) {
      expect(v * 2 ** 24).toBe(Math.floor(v * 2 ** 24));
      mean += v / u.length;
    }
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005); // 5 sigma for 1e5 uniforms is 0.0046
    // The values printed by `python3 scripts/goldens/family_weights.py`.
    expect(Array.from(hashUniform(14, 'conv1.weight', 3))).toEqual([0.28980493545532227, 0.3304610252380371, 0.22878259420394897]);
  });

  for (const arch of ['resnet34', 'resnet50', 'resnext50_32x4d'] as const) {
    it(`${arch}: every tensor and the input match the SHA-256 in the golden's metadata`, () => {
      const { metadata } = readF32Safetensors(join(GOLDENS, `family-${arch}.safetensors`));
      const seed = Number(metadata.seed);
      const want = JSON.parse(metadata.weights_sha256) as Record<string, string>;
      const weights = familyWeights(arch, seed);
      expect([...weights.keys()].sort()).toEqual(Object.keys(want).sort());
      const wrong = [...weights].filter(([name, t]) => sha256(t.data) !== want[name]).map(([name]) => name);
      expect(wrong, 'tensors whose bytes differ from Python').toEqual([]);
      const input = hashInput(seed, 'input', JSON.parse(metadata.input_shape) as number[]);
      expect(sha256(input.data)).toBe(metadata.input_sha256);
    });
  }

  // Every constructor, all tensors at once (~550 M values: about 10 s on one core).
  it('all 10 constructors: the SHA-256 over all weights matches', () => {
    const wrong: string[] = [];
    for (const arch of FAMILY_NAMES) {
      const h = createHash('sha256');
      for (const t of familyWeights(arch, doc.seed).values()) h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      if (h.digest('hex') !== doc.archs[arch].weights_sha256) wrong.push(arch);
    }
    expect(wrong).toEqual([]);
  }, 300_000);
});
