// The whole network with each conv2d variant forced (the engine's `convVariant`), and with f16
// convolution weights (`precision: 'f16'`) where the adapter has 'shader-f16', against the float64
// CPU reference: the per-adapter choice must never select a kernel the network was not run with.
// Runs on the test adapter (lavapipe where present; RESNET_STREAM_ADAPTER=swiftshader for SwiftShader).

import { describe, expect, it } from 'vitest';
import { CONV2D_VARIANTS, supportsF16 } from '../src/kernels/conv2d';
import { paddedInputFor } from '../src/kernels/conv2d-variants';
import { allTapNames } from '../src/model/architecture';
import { ResNetEngine } from '../src/model/engine';
import { randomWeights } from '../src/weights/random';
import { freshSeed, makeRng, randomArray, relativeError, testContext } from './helpers/gpu';
import { referenceForward } from './reference/resnet';

// f32: as test/network.test.ts (float32 through 20 layers of up to 4608-term sums: ~1e-5 of each
// tap's scale at worst; 1e-4 leaves a 10x margin and still catches indexing errors, which are O(1)).
const F32_TOLERANCE = 1e-4;
// f16 weights: each weight carries a relative rounding error of at most u = 2^-11. A convolution's
// output error is then a sum of n terms x*w*delta with independent |delta| <= u, about u/sqrt(3)
// of the output's scale (a random walk over the same n terms as the output itself), and at most
// ~4x that at the worst element of a tap. The errors of successive layers add (ReLU and BN pass
// them on unamplified): the deepest tap, fc, sits behind 17 convolutions on its longest path, so
// 17 * 4 * u / sqrt(3) = 1.9e-2 bounds the worst element; we use 2e-2. The error must also exceed
// the f32 tolerance, which shows the f16 weights were really read.
const U16 = 2 ** -11;
const F16_TOLERANCE = 2e-2;

function worstErrors(got: Map<string, { shape: number[]; data: Float32Array }>, want: Map<string, { shape: number[]; data: Float64Array | Float32Array }>) {
  const errors: Record<string, number> = {};
  for (const tap of allTapNames()) {
    expect(got.get(tap)!.shape, tap).toEqual(want.get(tap)!.shape);
    errors[tap] = relativeError(got.get(tap)!.data, want.get(tap)!.data);
  }
  return errors;
}

describe('ResNet18 forward with each conv2d variant forced', () => {
  for (const variant of CONV2D_VARIANTS) {
    it(`${variant}: matches every tap of the float64 reference, batch 2, 45x38 input`, async () => {
      const seed = freshSeed();
      const weights = randomWeights(seed);
      const input = { shape: [2, 3, 45, 38], data: randomArray(2 * 3 * 45 * 38, makeRng(seed), -2, 2) };
      const ctx = await testContext();
      const engine = await ResNetEngine.create({ context: ctx, convVariant: variant });
      try {
        expect(engine.kernels.conv2d).toBe(variant);
        engine.loadWeights(weights);
        const plan = engine.plan(2, 45, 38, allTapNames());
        // The forced variant really runs: 'rows' takes the 3x3 stride-1 convolutions.
        const rowsDispatches = plan.dispatches.filter((d) => d.pipeline.label.startsWith('conv2d-rows')).length;
        expect(rowsDispatches).toBe(variant === 'rows' ? 13 : 0);
        // The mix runs both tiles here: F(4x4) in layer1 (12x10 maps: 9 of its tiles, 324 products
        // against F(2x2)'s 480), F(2x2) in layers 2-4 (6x5: 144 products either way; 3x3 and 2x2:
        // one tile of F(4x4)).
        const inputTransforms = (kernel: string) => plan.dispatches.filter((d) => d.pipeline.label.startsWith(kernel)).length;
        if (variant === 'winograd-mixed') expect([inputTransforms('conv2d-winograd4-input'), inputTransforms('conv2d-winograd-input')]).toEqual([4, 9]);
        const errors = worstErrors(await engine.forward(input, { taps: allTapNames() }), referenceForward(weights, input));
        const worst = Object.entries(errors).sort((a, b) => b[1] - a[1])[0];
        console.log(`${variant} on ${ctx.adapter.name} (seed ${seed}): worst tap ${worst[0]} ${worst[1].toExponential(2)}`);
        for (const [tap, e] of Object.entries(errors)) expect(e, `${tap} (seed ${seed})`).toBeLessThanOrEqual(F32_TOLERANCE);
      } finally {
        engine.dispose();
      }
    });
  }

  it('f16 weights: every tap within the f16 bound of the float64 reference', async (test) => {
    const ctx = await testContext();
    if (!supportsF16(ctx)) {
      const reason = `${ctx.adapter.name} does not offer 'shader-f16' (Node lavapipe does)`;
      console.log(`skipped: ${reason}`);
      test.skip(reason);
      return;
    }
    const seed = freshSeed();
    const weights = randomWeights(seed);
    const input = { shape: [2, 3, 45, 38], data: randomArray(2 * 3 * 45 * 38, makeRng(seed), -2, 2) };
    const engine = await ResNetEngine.create({ context: ctx, precision: 'f16' });
    try {
      engine.loadWeights(weights);
      const plan = engine.plan(2, 45, 38, allTapNames());
      expect(plan.dispatches.filter((d) => d.pipeline.label.startsWith('conv2d-f16')).length).toBeGreaterThanOrEqual(20);
      const errors = worstErrors(await engine.forward(input, { taps: allTapNames() }), referenceForward(weights, input));
      const worst = Object.entries(errors).sort((a, b) => b[1] - a[1])[0];
      console.log(`f16 weights on ${ctx.adapter.name} (seed ${seed}): worst tap ${worst[0]} ${worst[1].toExponential(2)} = ${(worst[1] / U16).toFixed(1)} u`);
      for (const [tap, e] of Object.entries(errors)) expect(e, `${tap} (seed ${seed})`).toBeLessThanOrEqual(F16_TOLERANCE);
      expect(errors.fc, 'f16 weights were not used').toBeGreaterThan(F32_TOLERANCE);
    } finally {
      engine.dispose();
    }
  });

  it("'direct' reading zero-padded inputs (paddedInput, SwiftShader's default): every tap the same bits as without", async () => {
    const seed = freshSeed();
    const weights = randomWeights(seed);
    const input = { shape: [2, 3, 45, 38], data: randomArray(2 * 3 * 45 * 38, makeRng(seed), -2, 2) };
    const ctx = await testContext();
    const byDefault = await ResNetEngine.create({ context: ctx });
    expect(byDefault.kernels.paddedInput).toBe(paddedInputFor(ctx.adapter));
    byDefault.dispose();
    const results = [];
    for (const paddedInput of [false, true]) {
      const engine = await ResNetEngine.create({ context: ctx, paddedInput });
      try {
        engine.loadWeights(weights);
        // The stem and the three stride-2 3x3 convolutions read a padded copy (the 1x1 downsamples have no padding).
        const pads = engine.plan(2, 45, 38, allTapNames()).dispatches.filter((d) => d.pipeline.label.startsWith('zero-pad ')).length;
        expect(pads).toBe(paddedInput ? 4 : 0);
        results.push(await engine.forward(input, { taps: allTapNames() }));
      } finally {
        engine.dispose();
      }
    }
    for (const tap of allTapNames()) {
      const [a, b] = results.map((r) => r.get(tap)!.data);
      expect(new Uint32Array(b.buffer, b.byteOffset, b.length), `${tap} (seed ${seed})`).toEqual(new Uint32Array(a.buffer, a.byteOffset, a.length));
    }
  });

  it('refuses f16 on an adapter without shader-f16, in one line', async (test) => {
    const ctx = await testContext();
    if (supportsF16(ctx)) { test.skip(); return; }
    await expect(ResNetEngine.create({ context: ctx, precision: 'f16' })).rejects.toThrow(/shader-f16/);
  });
});
