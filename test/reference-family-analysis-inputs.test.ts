// The family analysis golden (test/fixtures/goldens/analysis-resnet50-hash24.json, made by
// scripts/goldens/make_family_analysis_goldens.py) can be fed from TypeScript: its image tensor is
// rebuilt here bit for bit, and its readouts follow METHOD.md's family rule as the test reference
// states it. (The comparison of the analysis itself needs the family engine; see the script's header.)
// CPU only.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FamilyArchName } from './reference/family';
import { familyReadouts, hashAnalysisImages } from './reference/family-analysis';
import { GOLDENS } from './reference/golden-files';

interface Golden {
  arch: FamilyArchName;
  seed: number;
  topK: number;
  images: string[];
  imagesTensor: { name: string; shape: number[]; sha256: string };
  blocks: { block: string; input: string; branch: string; output: string; channels: number; probes: Record<string, number[][]> }[];
}

const golden = JSON.parse(readFileSync(join(GOLDENS, 'analysis-resnet50-hash24.json'), 'utf8')) as Golden;

describe('family analysis golden: inputs reproducible in TypeScript', () => {
  it('the image tensor matches the SHA-256 the script stored', () => {
    const { name, shape, sha256 } = golden.imagesTensor;
    const x = hashAnalysisImages(golden.seed, name, shape);
    expect(createHash('sha256').update(new Uint8Array(x.data.buffer)).digest('hex')).toBe(sha256);
    expect(golden.images.length).toBe(shape[0]);
  });

  it('readouts I, B, O of every block follow the family rule (downsample.1 / bn3 / block output)', () => {
    for (const b of golden.blocks) {
      expect({ input: b.input, branch: b.branch, output: b.output }, b.block).toEqual(familyReadouts(golden.arch, b.block));
      for (const role of ['input', 'branch', 'output']) {
        expect(b.probes[role].length).toBe(b.channels);
        expect(b.probes[role].every((p) => p.length === golden.topK)).toBe(true);
      }
    }
    expect(familyReadouts('resnet50', '1.0').input).toBe('layer1.0.downsample.1');
    expect(familyReadouts('resnet18', '1.1')).toEqual({ input: 'layer1.0', branch: 'layer1.1.bn2', output: 'layer1.1' });
  });
});
