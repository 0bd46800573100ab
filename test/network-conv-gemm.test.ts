// The whole network with the tiled implicit-GEMM convolution forced (`convVariant: 'gemm'`, the
// kernel a real GPU needs), against the float64 CPU reference on every tap: every convolution of
// the plan runs conv2d-gemm.wgsl, the small late layers split over their taps with a reduction.

import { describe, expect, it } from 'vitest';
import { allTapNames } from '../src/model/architecture';
import { ResNetEngine } from '../src/model/engine';
import { randomWeights } from '../src/weights/random';
import { freshSeed, makeRng, randomArray, tapErrors, testContext } from './helpers/gpu';
import { referenceForward } from './reference/resnet';

// As test/network-conv-variants.test.ts: float32 through 20 layers of up to 4608-term sums is ~1e-5
// of each tap's scale at worst; 1e-4 leaves a 10x margin and still catches indexing errors (O(1)).
const F32_TOLERANCE = 1e-4;

describe('ResNet18 forward with the gemm convolution forced', () => {
  it('matches every tap of the float64 reference, batch 2, 45x38 input', async () => {
    const seed = freshSeed();
    const weights = randomWeights(seed);
    const input = { shape: [2, 3, 45, 38], data: randomArray(2 * 3 * 45 * 38, makeRng(seed), -2, 2) };
    const ctx = await testContext();
    const engine = await ResNetEngine.create({ context: ctx, convVariant: 'gemm' });
    try {
      expect(engine.kernels.conv2d).toBe('gemm');
      engine.loadWeights(weights);
      const plan = engine.plan(2, 45, 38, allTapNames());
      const labels = plan.dispatches.map((d) => d.pipeline.label);
      // conv1 (raw) and the 19 others: all gemm; none of the single-dispatch kernels.
      expect(labels.filter((l) => l.startsWith('conv2d-gemm')).length).toBe(20);
      expect(labels.filter((l) => /^conv2d(-rows)? pipeline/.test(l)).length).toBe(0);
      expect(labels.some((l) => l.startsWith('conv2d-splitk-reduce'))).toBe(true);
      const { errors, worst } = tapErrors(await engine.forward(input, { taps: allTapNames() }), referenceForward(weights, input), allTapNames());
      console.log(`gemm on ${ctx.adapter.name} (seed ${seed}): worst tap ${worst[0]} ${worst[1].toExponential(2)}`);
      for (const [tap, e] of Object.entries(errors)) expect(e, `${tap} (seed ${seed})`).toBeLessThanOrEqual(F32_TOLERANCE);
    } finally {
      engine.dispose();
    }
  });
});
