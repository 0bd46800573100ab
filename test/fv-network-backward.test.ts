// The whole-network input gradient (src/model/backward.ts) on small inputs with random weights,
// against the float64 reference (test/reference/backward.ts resnetInputGradient), which is itself
// checked against finite differences of the float64 forward (test/reference/resnet.ts).

import { afterAll, describe, expect, it } from 'vitest';
import { writeBuffer } from '../src/gpu/context';
import type { Conv2dVariant } from '../src/kernels/conv2d-variants';
import { BLOCKS, STEM, expectedTensors, tapShape } from '../src/model/architecture';
import { BackwardPlan, savedTaps } from '../src/model/backward';
import { NetworkWeights } from '../src/model/gpu-weights';
import type { TensorMap } from '../src/weights/safetensors';
import { finiteDifferenceError, resnetInputGradient } from './reference/backward';
import { referenceForward } from './reference/resnet';
import { freshSeed, makeRng, randomArray, relativeError } from './helpers/gpu';
import { testContext } from './fv-context';

/** Random torchvision-shaped weights: He-uniform convolutions, BatchNorm near identity. */
function randomWeights(rng: () => number): TensorMap {
  const tensors: TensorMap = new Map();
  for (const [name, shape] of expectedTensors()) {
    const n = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (name.endsWith('.weight') && shape.length === 4) {
      const a = Math.sqrt(6 / (shape[1] * shape[2] * shape[3]));
      data = randomArray(n, rng, -a, a);
    } else if (name.endsWith('running_var')) data = randomArray(n, rng, 0.5, 1.5);
    else if (name.endsWith('running_mean') || name.endsWith('.bias')) data = randomArray(n, rng, -0.2, 0.2);
    else if (name === 'fc.weight') data = randomArray(n, rng, -0.05, 0.05);
    else data = randomArray(n, rng, 0.5, 1.5); // BN gamma
    tensors.set(name, { shape, data });
  }
  return tensors;
}

const arch = { blocks: BLOCKS, stem: STEM };

/** A seed of -1 at each image's centre unit of its own channel (the fv objective). */
function centreSeed(shape: number[], channels: number[]): Float32Array {
  const [n, c, h, w] = shape;
  const seed = new Float32Array(n * c * h * w);
  for (let i = 0; i < n; i++) seed[((i * c + channels[i]) * h + (h >> 1)) * w + (w >> 1)] = -1;
  return seed;
}

describe('ResNet18 input gradient: float64 reference', () => {
  it('agrees with finite differences of the float64 forward (1x3x32x32, targets layer2.1 and layer1.1.bn2)', () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    const weights = randomWeights(rng);
    const [h, w] = [32, 32];
    const input = Float64Array.from(randomArray(3 * h * w, rng));
    for (const target of ['layer2.1', 'layer1.1.bn2']) {
      const shape = tapShape(target, 1, h, w);
      // A dense random seed exercises every path (a centre unit alone reaches few inputs at 32x32).
      const r = randomArray(shape.reduce((a, b) => a * b, 1), rng);
      const taps = referenceForward(weights, { shape: [1, 3, h, w], data: input }, target);
      const activations = new Map([...taps].map(([k, v]) => [k, v.data]));
      const grad = resnetInputGradient(weights, activations, target, r, 1, h, w, arch);
      const f = (x: Float64Array) => referenceForward(weights, { shape: [1, 3, h, w], data: x }, target).get(target)!.data;
      const indices = [0, 17, 1000, 1500, 2047, 3071];
      expect(finiteDifferenceError(f, input, r, grad, indices), `${target}, seed ${seed}`).toBeLessThan(1e-6);
    }
  });
});

describe('ResNet18 input gradient on the GPU (BackwardPlan)', () => {
  // Whole-network gradient: up to 17 convolution backwards in sequence, each a float32 gather
  // within ~2e-6 of its output's scale (see fv-backward-kernels.test.ts); the errors add, giving
  // <= ~4e-5 of the gradient's scale: the DESIGN.md whole-network tolerance of 1e-4 holds.
  const TOLERANCE = 1e-4;
  // Every kind of target: block output, branch, downsample, sum, skip (both kinds), an inner bn1,
  // the head's avgpool, and the stem.
  const targets = [
    'layer1.1.bn2', 'layer2.1', 'layer2.0.downsample.1', 'layer1.0.sum', 'layer3.0.skip', 'layer2.1.skip',
    'layer3.1.bn1', 'layer4.1', 'avgpool', 'maxpool', 'relu', 'bn1', 'conv1',
  ];
  const [batch, h, w] = [2, 40, 40];
  const seed = freshSeed();
  const rng = makeRng(seed);
  const tensors = randomWeights(rng);
  const input = randomArray(batch * 3 * h * w, rng);
  // One float64 forward serves every target (same weights and input).
  let reference: ReturnType<typeof referenceForward> | null = null;
  let weights: NetworkWeights | null = null;
  afterAll(() => {
    weights?.destroy();
  });

  /**
   * The GPU input gradient from `target` against the float64 one; returns the labels of the plan's
   * backward dispatches and the pipeline labels of its forward ones.
   */
  async function checkTarget(target: string, kernels?: { conv2d: Conv2dVariant; winogradStride2?: boolean }): Promise<{ labels: string[]; forwardPipelines: string[] }> {
      const ctx = await testContext();
      weights ??= new NetworkWeights(ctx, tensors);
      reference ??= referenceForward(tensors, { shape: [batch, 3, h, w], data: input }, 'avgpool');
      const plan = new BackwardPlan(ctx, weights, batch, h, w, target, kernels ? { kernels } : {});
      writeBuffer(ctx.device, plan.input, input);
      const shape = plan.targetShape;
      // The fv objective's seed (-1 at each image's centre unit of its channel) for a pre-ReLU
      // target; a dense random seed elsewhere (it reaches every path, and a centre unit of a
      // post-ReLU tap may be dead, giving a zero gradient that would prove little).
      const seedGrad = target === 'layer1.1.bn2'
        ? centreSeed(shape, [Math.floor(rng() * shape[1]), Math.floor(rng() * shape[1])])
        : randomArray(shape.reduce((a, b) => a * b, 1), rng);
      writeBuffer(ctx.device, plan.targetGrad, seedGrad);
      ctx.run([...plan.forward, ...plan.backward]);
      const saved = plan.forwardPlan.outputs;
      const data = await ctx.readback([{ buffer: plan.inputGrad, byteLength: input.length * 4 }, ...saved.map((o) => ({ buffer: o.buffer, byteLength: o.byteLength }))]);
      const activations = new Map(saved.map((o, i) => [o.tap, data[i + 1]]));
      expect(saved.map((o) => o.tap).sort()).toEqual(savedTaps(target).sort());
      // The forward the masks come from agrees with the float64 forward (DESIGN.md: 1e-4).
      for (const [tap, values] of activations) {
        expect(relativeError(values, reference.get(tap)!.data), `forward tap ${tap}, seed ${seed}`).toBeLessThanOrEqual(1e-4);
      }
      const expected = resnetInputGradient(tensors, activations, target, seedGrad, batch, h, w, arch);
      expect(relativeError(data[0], expected), `seed ${seed}`).toBeLessThanOrEqual(TOLERANCE);
      // The seed reaches the input (the gradient is not trivially zero).
      expect(expected.some((v) => v !== 0)).toBe(true);
      const labels = plan.backward.map((d) => d.label);
      const forwardPipelines = plan.forward.map((d) => d.pipeline.label);
      plan.dispose();
      return { labels, forwardPipelines };
  }

  for (const target of targets) {
    it(`matches the float64 reference from '${target}' (batch 2, 3x40x40, masks from the GPU forward)`, async () => {
      await checkTarget(target);
    });
  }

  // The 3x3 stride-1 gradients run on the forward's kernel: Winograd (either tile, or the mix, with
  // U of the flipped, transposed filter) where the forward runs Winograd, else one conv2d dispatch each.
  for (const conv2d of ['direct', 'rows', 'winograd', 'winograd4', 'winograd-mixed'] as const) {
    it(`matches the float64 reference from 'layer4.1' with the forward's '${conv2d}' kernels`, async () => {
      const { labels } = await checkTarget('layer4.1', { conv2d });
      const winograd = labels.filter((l) => / backward \(as a convolution\) \(winograd4?\) products$/.test(l));
      // layer4.1 .. layer1.0: all 13 of ResNet18's 3x3 stride-1 convolutions have a gradient here.
      expect(winograd.length).toBe(conv2d.startsWith('winograd') ? 13 : 0);
      if (conv2d === 'winograd4') expect(winograd.every((l) => l.includes('(winograd4)'))).toBe(true);
      // The mix by the gradients' maps (batch 2 at 40x40): F(4x4) in layer1 (10x10: 324 products
      // against F(2x2)'s 400), F(2x2) in layers 2-4 (5x5: 144 either way; 3x3 and 2x2: one tile
      // of F(4x4)).
      if (conv2d === 'winograd-mixed') expect(winograd.filter((l) => l.includes('(winograd4)')).length).toBe(4);
    });
  }

  // With winogradStride2 (compatibility mode's default) the forward runs the three 3x3 stride-2
  // convolutions by F(4x4, 3x3)'s stride-2 form; their gradients still gather (conv2d-backward).
  it("matches the float64 reference from 'layer4.1' with the forward's 'winograd4' kernels at stride 2 too", async () => {
    const { labels, forwardPipelines } = await checkTarget('layer4.1', { conv2d: 'winograd4', winogradStride2: true });
    expect(forwardPipelines.filter((l) => l.startsWith('conv2d-winograd4s2-input ')).length).toBe(3);
    expect(labels.filter((l) => / backward \(as a convolution\) \(winograd4\) products$/.test(l)).length).toBe(13);
  });

  it('plans only the blocks the target needs (a layer1 target runs no layer2..4 kernel)', async () => {
    const ctx = await testContext();
    weights ??= new NetworkWeights(ctx, tensors);
    const plan = new BackwardPlan(ctx, weights, 1, 64, 64, 'layer1.1.bn2');
    const labels = [...plan.forward, ...plan.backward].map((d) => d.label).join(' | ');
    expect(labels).toContain('layer1.1.conv2');
    expect(labels).not.toMatch(/layer[234]\./);
    plan.dispose();
  });
});
