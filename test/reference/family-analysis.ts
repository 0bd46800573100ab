// What the family analysis golden (scripts/goldens/make_family_analysis_goldens.py ->
// test/fixtures/goldens/analysis-resnet50-hash24.json) was computed on, rebuilt in TypeScript: its
// image tensor, and METHOD.md's readouts I, B, O of a block for any family member.

import { type FamilyArch, type FamilyArchName, branchTap, familyBlocks } from './family';
import { type HostTensor32, hashInput } from './family-weights';

/**
 * The script's images: H = hashInput(seed, name, [N, 3, h, w]); image i, with s = i % 5 and
 * e = floor(i / 5) % 2, is X[i, c, y, x] = H[i, c, (y >> s) << s, (x >> s) << s] * 2^-e (exact).
 * Each image is already a normalised network input.
 */
export function hashAnalysisImages(seed: number, name: string, shape: number[]): HostTensor32 {
  const [n, c, h, w] = shape;
  const src = hashInput(seed, name, shape).data;
  const out = new Float32Array(src.length);
  for (let i = 0; i < n; i++) {
    const s = i % 5;
    const scale = 2 ** -(Math.floor(i / 5) % 2);
    for (let ch = 0; ch < c; ch++) {
      const plane = (i * c + ch) * h * w;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) out[plane + y * w + x] = src[plane + ((y >> s) << s) * w + ((x >> s) << s)] * scale;
      }
    }
  }
  return { shape, data: out };
}

/** METHOD.md's family rule: I = downsample.1 if the block has one, else the previous block's output; B = the last BN of the branch; O = the block. */
export function familyReadouts(arch: FamilyArchName | FamilyArch, block: string): { input: string; branch: string; output: string } {
  const blocks = familyBlocks(arch);
  const i = blocks.findIndex((b) => b.name === `layer${block}`);
  if (i < 0) throw new Error(`no block ${block}`);
  const b = blocks[i];
  return { input: b.downsample ? b.downsample.bn : blocks[i - 1].name, branch: branchTap(b), output: b.name };
}
