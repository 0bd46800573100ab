// The float64 references for grouped convolution (test/reference/grouped-conv.ts) and for the input
// gradient of any family member (familyInputGradient in test/reference/family-forward.ts), checked
// against independent formulations and finite differences. CPU only. Fresh random data each run
// (seed printed; TEST_SEED=n replays one).
//
// Tolerances: two float64 formulations of the same sum differ by summation order only (~1e-15 of
// the scale): 1e-12. Finite differences: central differences with h = 1e-6 in float64 carry
// ~1e-10 of rounding and ~h^2 of truncation, relative to the gradient's scale; a ReLU or max-pool
// kink inside +-h is improbable at these sizes: 1e-6 (as fv-backward-kernels.test.ts).

import { describe, expect, it } from 'vitest';
import { conv2dBackwardData, finiteDifferenceError, resnetInputGradient, sampleIndices } from './reference/backward';
import { conv2d, windowOutputSize } from './reference/cpu';
import { type FamilyArch, familyBlocks, familyStateDict, familyTapShapes, FAMILY_STEM } from './reference/family';
import { familyForward, familyInputGradient } from './reference/family-forward';
import { generateWeights, hashTensor, hashUniform } from './reference/family-weights';
import { type RefGroupedConvShape, groupedConv2d, groupedConv2dBackwardData, groupedConv2dBackwardDataGather } from './reference/grouped-conv';
import { freshSeed, relativeError } from './helpers/gpu';

const EXACT = 1e-12;
const FD_TOLERANCE = 1e-6;

/** Uniform values in [-1, 1) drawn from the hash under `seed` (a label per array keeps them independent). */
function random(seed: number, label: string, count: number): Float64Array {
  return Float64Array.from(hashTensor(seed, label, count, -1, 2));
}

/** A stream of [0, 1) uniforms from the hash (enough for index picking). */
function hashRng(seed: number, label: string): () => number {
  const u = hashUniform(seed, label, 4096);
  let k = 0;
  return () => u[k++ % u.length];
}

/** The grouped weights [O, I/g, k, k] as the equivalent dense [O, I, k, k]: zeros outside o's group. */
function denseWeights(w: ArrayLike<number>, s: RefGroupedConvShape): Float64Array {
  const ig = s.inChannels / s.groups;
  const og = s.outChannels / s.groups;
  const k2 = s.kernel * s.kernel;
  const dense = new Float64Array(s.outChannels * s.inChannels * k2);
  for (let o = 0; o < s.outChannels; o++) {
    const first = Math.floor(o / og) * ig;
    for (let c = 0; c < ig; c++) {
      for (let k = 0; k < k2; k++) dense[(o * s.inChannels + first + c) * k2 + k] = w[(o * ig + c) * k2 + k];
    }
  }
  return dense;
}

// Awkward shapes: ResNeXt's groups 32 and 64 with 4 and 8 channels per group, stride 2 on odd and
// even sizes, batch > 1, unequal in/out channels per group, a 1x1 grouped conv, a 2x2 map.
const SHAPES: (RefGroupedConvShape & { label: string })[] = [
  { label: 'g32, 4 ch/group, 3x3 s2, 2x128x9x7', batch: 2, inChannels: 128, inHeight: 9, inWidth: 7, outChannels: 128, kernel: 3, stride: 2, padding: 1, groups: 32 },
  { label: 'g64, 8 -> 4 ch/group, 3x3 s1, 3x512x5x6', batch: 3, inChannels: 512, inHeight: 5, inWidth: 6, outChannels: 256, kernel: 3, stride: 1, padding: 1, groups: 64 },
  { label: 'g64, 4 ch/group, 3x3 s2, 2x256x8x8', batch: 2, inChannels: 256, inHeight: 8, inWidth: 8, outChannels: 256, kernel: 3, stride: 2, padding: 1, groups: 64 },
  { label: 'g32, 8 ch/group, 3x3 s2, 2x256x2x2', batch: 2, inChannels: 256, inHeight: 2, inWidth: 2, outChannels: 256, kernel: 3, stride: 2, padding: 1, groups: 32 },
  { label: 'g4, 1x1 s2, 2x16x5x5 -> 12', batch: 2, inChannels: 16, inHeight: 5, inWidth: 5, outChannels: 12, kernel: 1, stride: 2, padding: 0, groups: 4 },
  { label: 'g1, 3x3 s2, 2x6x7x5 -> 5', batch: 2, inChannels: 6, inHeight: 7, inWidth: 5, outChannels: 5, kernel: 3, stride: 2, padding: 1, groups: 1 },
];

describe('grouped conv2d reference', () => {
  const seed = freshSeed();
  console.log(`grouped conv reference: seed ${seed}`);
  for (const s of SHAPES) {
    const oh = windowOutputSize(s.inHeight, s.kernel, s.stride, s.padding);
    const ow = windowOutputSize(s.inWidth, s.kernel, s.stride, s.padding);
    const x = random(seed, `x ${s.label}`, s.batch * s.inChannels * s.inHeight * s.inWidth);
    const w = random(seed, `w ${s.label}`, s.outChannels * (s.inChannels / s.groups) * s.kernel * s.kernel);
    const bias = random(seed, `b ${s.label}`, s.outChannels);
    const scale = Float64Array.from(random(seed, `scale ${s.label}`, s.outChannels), (v) => 1 + 0.5 * v);
    const dy = random(seed, `dy ${s.label}`, s.batch * s.outChannels * oh * ow);
    const plain = { ...s, groups: undefined };

    it(`forward = the dense conv with block-diagonal weights (${s.label})`, () => {
      const got = groupedConv2d(x, w, bias, s);
      expect(relativeError(got, conv2d(x, denseWeights(w, s), bias, plain)), `seed ${seed}`).toBeLessThanOrEqual(EXACT);
    });

    it(`backward to the input: scatter = gather = dense (${s.label})`, () => {
      const scatter = groupedConv2dBackwardData(dy, w, scale, s);
      expect(relativeError(groupedConv2dBackwardDataGather(dy, w, scale, s), scatter), `seed ${seed}`).toBeLessThanOrEqual(EXACT);
      expect(relativeError(conv2dBackwardData(dy, denseWeights(w, s), scale, plain), scatter), `seed ${seed}`).toBeLessThanOrEqual(EXACT);
      expect(scatter.some((v) => v !== 0)).toBe(true);
    });

    it(`backward to the input agrees with finite differences of the forward (${s.label})`, () => {
      const grad = groupedConv2dBackwardData(dy, w, scale, s);
      const f = (v: Float64Array) => {
        const y = groupedConv2d(v, w, bias, s);
        for (let i = 0; i < y.length; i++) y[i] *= scale[Math.floor(i / (oh * ow)) % s.outChannels];
        return y;
      };
      const indices = [0, x.length - 1, ...sampleIndices(x.length, 16, hashRng(seed, `pick ${s.label}`))];
      expect(finiteDifferenceError(f, x, dy, grad, indices), `seed ${seed}`).toBeLessThanOrEqual(FD_TOLERANCE);
    });
  }
});

// A small ResNeXt-shaped member (one Bottleneck per stage, 4 groups of 8 channels in layer1) and
// resnet18 itself, on seeded hash weights, 1x3x32x32 (every stage's stride and downsample).
const TINY: FamilyArch = { name: 'tiny_resnext', block: 'bottleneck', layers: [1, 1, 1, 1], groups: 4, widthPerGroup: 8 };

describe('family input gradient reference', () => {
  const seed = freshSeed();
  console.log(`family input gradient reference: seed ${seed}`);
  const [h, w] = [32, 32];
  const input = random(seed, 'input', 3 * h * w);

  for (const [arch, targets] of [[TINY, ['layer3.0', 'layer2.0.bn2', 'layer4.0.downsample.1', 'fc']], ['resnet18', ['layer2.1', 'layer1.1.bn1']]] as const) {
    const name = typeof arch === 'string' ? arch : arch.name;
    it(`${name}: agrees with finite differences of the float64 forward (targets ${targets.join(', ')})`, () => {
      const weights = generateWeights(familyStateDict(arch), seed);
      const shapes = familyTapShapes(arch, 1, h, w);
      for (const target of targets) {
        const r = random(seed, `r ${target}`, shapes.get(target)!.reduce((a, b) => a * b, 1));
        const taps = familyForward(arch, weights, { shape: [1, 3, h, w], data: input }, { lastTap: target });
        const activations = new Map([...taps].map(([k, v]) => [k, v.data]));
        const grad = familyInputGradient(arch, weights, activations, target, r, 1, h, w);
        const f = (x: Float64Array) => familyForward(arch, weights, { shape: [1, 3, h, w], data: x }, { lastTap: target }).get(target)!.data;
        const indices = [0, 17, 1000, 1500, 2047, 3071];
        expect(grad.some((v) => v !== 0), target).toBe(true);
        expect(finiteDifferenceError(f, input, r, grad, indices), `${name} ${target}, seed ${seed}`).toBeLessThanOrEqual(FD_TOLERANCE);
      }
    });
  }

  it('resnet18: equals backward.ts resnetInputGradient (the existing ResNet18 reference)', () => {
    const weights = generateWeights(familyStateDict('resnet18'), seed);
    const taps = familyForward('resnet18', weights, { shape: [1, 3, h, w], data: input }, { lastTap: 'avgpool' });
    const activations = new Map([...taps].map(([k, v]) => [k, v.data]));
    const spec = ({ groups: _g, ...c }: typeof FAMILY_STEM) => c;
    const arch = {
      stem: spec(FAMILY_STEM),
      blocks: familyBlocks('resnet18').map((b) => ({ name: b.name, inChannels: b.inChannels, outChannels: b.outChannels, stride: b.stride,
        conv1: spec(b.convs[0]), conv2: spec(b.convs[1]), downsample: b.downsample && spec(b.downsample) })),
    };
    for (const target of ['avgpool', 'layer3.0.skip', 'layer2.0.downsample.1', 'layer1.0.sum', 'maxpool', 'conv1']) {
      const r = random(seed, `r18 ${target}`, familyTapShapes('resnet18', 1, h, w).get(target)!.reduce((a, b) => a * b, 1));
      const ours = familyInputGradient('resnet18', weights, activations, target, r, 1, h, w);
      const theirs = resnetInputGradient(weights, activations, target, r, 1, h, w, arch);
      expect(relativeError(ours, theirs), `${target}, seed ${seed}`).toBeLessThanOrEqual(EXACT);
    }
  });
});
