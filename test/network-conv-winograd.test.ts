// The whole network with a Winograd convolution forced (`convVariant: 'winograd'`, F(2x2, 3x3), and
// 'winograd4', F(4x4, 3x3)), against the float64 CPU reference on every tap: the 13 3x3 stride-1 convolutions of ResNet18 run
// the Winograd kernels (filters made on the GPU on first use by NetworkWeights.winograd), the other
// 7 (the stem, the stride-2 3x3s and the 1x1 downsamples) fall back to 'direct'; with
// `winogradStride2`, F(4x4, 3x3) runs the three 3x3 stride-2 convolutions too, by its stride-2 form,
// and 4 fall back. An odd input size makes odd feature maps, so the last tiles of several layers
// are partial (and the stride-2 convolutions' inputs odd: 27x19, 14x10, 7x5).
// (network-conv-variants.test.ts runs 'winograd' too, at batch 2 on 45x38.)

import { describe, expect, it } from 'vitest';
import type { WinogradVariant } from '../src/kernels/conv2d-variants';
import { winogradGridLanes, winogradProductKernel, winogradSubgroupTiles } from '../src/kernels/conv2d-winograd';
import { stemRowsFor, subgroupWeightsFor } from '../src/kernels/conv2d';
import { allTapNames } from '../src/model/architecture';
import { ResNetEngine } from '../src/model/engine';
import { randomWeights } from '../src/weights/random';
import { freshSeed, makeRng, randomArray, tapErrors, testContext } from './helpers/gpu';
import { referenceForward } from './reference/resnet';

// As test/network-conv-gemm.test.ts: float32 through 20 layers of up to 4608-term sums is ~1e-5
// of each tap's scale at worst; 1e-4 leaves a 10x margin and still catches indexing errors (O(1)).
// F(2x2)'s own error is no larger than a direct sum's, F(4x4)'s a little larger (worst taps here, 5
// seeds on lavapipe: 1.9e-6 to 2.3e-6 against F(2x2)'s 1.6e-6 to 1.9e-6; with Lavin & Gray's points
// and one sum over the input channels 2.5e-6 to 3.3e-6), both far below this bound.
const F32_TOLERANCE = 1e-4;

const cases: { variant: WinogradVariant; stride2: boolean }[] = [
  { variant: 'winograd', stride2: false }, { variant: 'winograd4', stride2: false }, { variant: 'winograd4', stride2: true },
];

describe.each(cases)('ResNet18 forward with the $variant convolution forced (winogradStride2: $stride2)', ({ variant, stride2 }) => {
  it('matches every tap of the float64 reference, batch 1, 53x37 input', async () => {
    const seed = freshSeed();
    const weights = randomWeights(seed);
    const input = { shape: [1, 3, 53, 37], data: randomArray(3 * 53 * 37, makeRng(seed), -2, 2) };
    const ctx = await testContext();
    const engine = await ResNetEngine.create({ context: ctx, convVariant: variant, winogradStride2: stride2 });
    try {
      expect(engine.kernels.conv2d).toBe(variant);
      expect(engine.kernels.winogradStride2).toBe(stride2);
      engine.loadWeights(weights);
      const plan = engine.plan(1, 53, 37, allTapNames());
      const labels = plan.dispatches.map((d) => d.pipeline.label);
      const count = (prefix: string) => labels.filter((l) => l.startsWith(`${prefix} pipeline`)).length;
      // Each 3x3 stride-1 convolution: input transform, products (in registers on a CPU adapter),
      // output transform; with stride2, each 3x3 stride-2 one as well (layers 2 to 4: 128 output
      // channels and more), by the stride-2 transforms.
      const transforms = variant === 'winograd4' ? 'conv2d-winograd4' : 'conv2d-winograd';
      const strided = stride2 ? 3 : 0;
      for (const kernel of [`${transforms}-input`, `${transforms}-output`]) expect(count(kernel), kernel).toBe(13);
      for (const kernel of ['conv2d-winograd4s2-input', 'conv2d-winograd4s2-output']) expect(count(kernel), kernel).toBe(strided);
      if (winogradProductKernel(ctx.adapter) === 'tiled') {
        expect(count('conv2d-winograd-gemm')).toBe(13 + strided);
      } else {
        // In registers; on lavapipe with subgroups of 8 lanes all as the grid products
        // (winogradGridLanes), else with V shared across subgroups where a convolution has enough
        // output channels for the lanes (winogradSubgroupTiles: with 4 lanes those of layers 2 to 4).
        const grid = winogradGridLanes(ctx, { outChannels: 64 }, 1) !== null ? 13 + strided : 0;
        const shared = grid ? 0 : (winogradSubgroupTiles(ctx, { outChannels: 64 }) ? 4 : 0) + (winogradSubgroupTiles(ctx, { outChannels: 128 }) ? 9 + strided : 0);
        expect(count('conv2d-winograd-gemm-grid')).toBe(grid);
        expect(count('conv2d-winograd-gemm-subgroup')).toBe(shared);
        expect(count('conv2d-winograd-gemm-plain')).toBe(13 + strided - grid - shared);
      }
      // The 7 others (stem, stride-2, 1x1), or 4 without the stride-2 ones: 'direct', its weights
      // shared across subgroups where the device can (subgroupWeightsFor: lavapipe with
      // 'subgroups'), the stem then in its own kernel (stemRowsFor: subgroups of 7 lanes and more).
      const direct = 7 - strided;
      const stem = subgroupWeightsFor(ctx) && stemRowsFor({ kernel: 7, stride: 2 }, ctx.fixedSubgroupSize!) ? 1 : 0;
      expect(count('conv2d-stem-subgroup')).toBe(stem);
      expect(count(subgroupWeightsFor(ctx) ? 'conv2d-subgroup' : 'conv2d')).toBe(direct - stem);
      expect(count('conv2d') + count('conv2d-subgroup') + count('conv2d-stem-subgroup')).toBe(direct);
      expect(count('conv2d-rows') + count('conv2d-gemm')).toBe(0);
      expect(count(`${transforms}-filter`) + count('conv2d-winograd4s2-filter')).toBe(0); // made once by NetworkWeights, not in the plan
      const { errors, worst } = tapErrors(await engine.forward(input, { taps: allTapNames() }), referenceForward(weights, input), allTapNames());
      console.log(`${variant}${stride2 ? ' with stride 2' : ''} on ${ctx.adapter.name} (seed ${seed}): worst tap ${worst[0]} ${worst[1].toExponential(2)}`);
      for (const [tap, e] of Object.entries(errors)) expect(e, `${tap} (seed ${seed})`).toBeLessThanOrEqual(F32_TOLERANCE);
    } finally {
      engine.dispose();
    }
  });
});

describe('the backward pass of an engine whose forward runs Winograd', () => {
  for (const variant of ['winograd', 'winograd4'] as const) {
    it(`runs its stride-1 gradients on the forward's '${variant}' kernels too (U of the flipped, transposed filter), the forward part as Winograd`, async () => {
      const ctx = await testContext();
      const engine = await ResNetEngine.create({ context: ctx, convVariant: variant });
      try {
        engine.loadWeights(randomWeights(freshSeed()));
        const plan = engine.backwardPlan(1, 40, 40, 'layer2.1');
        try {
          const input = variant === 'winograd' ? /^conv2d-winograd-input / : /^conv2d-winograd4-input /;
          const gradients = plan.backward.filter((d) => / backward \(as a convolution\) \(winograd4?\) input transform$/.test(d.label));
          // layer2.1's two 3x3s, layer2.0.conv2, layer1's four 3x3s (stride 1); the stem and stride-2 ones gather.
          expect(gradients.length).toBe(7);
          for (const d of gradients) expect(d.pipeline.label, d.label).toMatch(input);
          expect(plan.backward.some((d) => d.pipeline.label.startsWith('conv2d-rows '))).toBe(false);
          expect(plan.forward.some((d) => input.test(d.pipeline.label))).toBe(true);
          // Their scratch is the forward's own (free once the forward has run), not new memory; that
          // it never holds a tap the backward reads, fv-network-backward's float64 gradients check.
          expect(plan.winogradScratchShared).toBe(2);
        } finally {
          plan.dispose();
        }
      } finally {
        engine.dispose();
      }
    });
  }
});
