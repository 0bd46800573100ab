// Channel ablation in the engine (forward option `ablations`: zero- or value-replacement of chosen
// channels of a tap) against the float64 reference with the same replacement made at the same point,
// on seeded random weights at a small input. Covers the fused paths (ReLU fused into a convolution
// or the residual add) and the unfused ones, several ablations in one forward, plan caching, and the
// errors.

import { describe, expect, it } from 'vitest';
import { ResNetEngine } from '../src/model/engine';
import { type Ablation, MissingWeightsError } from '../src/model/planner';
import { randomWeights } from '../src/weights/random';
import { freshSeed, makeRng, randomArray, relativeError, testContext } from './helpers/gpu';
import { referenceForward } from './reference/resnet';

/** As in network.test.ts: float32 through 20 layers lands near 1e-5 of a tap's scale. */
const TOLERANCE = 1e-4;

/** The reference's edit hook that applies `ablations` where they are produced. */
function referenceAblation(ablations: Ablation[]) {
  return (tap: string, data: Float64Array, shape: number[]) => {
    for (const a of ablations.filter((x) => x.tap === tap)) {
      const [n, c, h, w] = shape;
      a.channels.forEach((ch, i) => {
        const v = Math.fround(a.values?.[i] ?? 0);
        for (let b = 0; b < n; b++) data.fill(v, (b * c + ch) * h * w, (b * c + ch + 1) * h * w);
      });
    }
  };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

interface Case {
  what: string;
  ablations: Ablation[];
  /** Taps read back and compared (the ablated one, its ReLU and downstream ones). */
  taps: string[];
  /** A tap before every ablation: must be unchanged. */
  upstream: string;
}

const CASES: Case[] = [
  {
    what: 'zero-ablation of a block output (ReLU fused into the residual add)',
    ablations: [{ tap: 'layer1.1', channels: [0, 5, 63] }],
    taps: ['layer2.0.bn1', 'layer3.1.sum', 'fc'],
    upstream: 'layer1.1.bn2',
  },
  {
    what: 'mean-ablation of a branch (bn2, before the add)',
    ablations: [{ tap: 'layer2.0.bn2', channels: [1, 100, 127], values: [0.3, -1.2, 2.5] }],
    taps: ['layer2.0.bn2', 'layer2.0.sum', 'layer2.0', 'layer4.1', 'fc'],
    upstream: 'layer2.0.downsample.1',
  },
  {
    what: 'mean-ablation of a pre-ReLU sum, read back',
    ablations: [{ tap: 'layer3.1.sum', channels: [7, 200, 255], values: [0.25, 1.5, 0] }],
    taps: ['layer3.1.sum', 'layer3.1', 'avgpool', 'fc'],
    upstream: 'layer3.1.bn2',
  },
  {
    what: 'several taps at once: stem ReLU (fused), bn1 inside a block, downsample.1, a block output',
    ablations: [
      { tap: 'relu', channels: [3, 40], values: [0.7, 0] },
      { tap: 'layer1.0.bn1', channels: [10] },
      { tap: 'layer3.0.downsample.1', channels: [0, 128], values: [-0.5, 0.9] },
      { tap: 'layer4.0', channels: [511], values: [3] },
    ],
    taps: ['maxpool', 'layer1.0.bn2', 'layer3.0.sum', 'layer4.0', 'fc'],
    upstream: 'input',
  },
  {
    what: 'the stem ReLU after the raw conv1 path (separate batchnorm kernel with fused ReLU)',
    ablations: [{ tap: 'relu', channels: [0, 63], values: [0.2, 1.1] }],
    taps: ['relu', 'layer1.0', 'fc'],
    upstream: 'conv1',
  },
];

describe('channel ablation vs the float64 reference', () => {
  it('zero- and mean-ablation change exactly what the reference changes', async () => {
    const seed = freshSeed();
    const weights = randomWeights(seed);
    const input = { shape: [2, 3, 40, 44], data: randomArray(2 * 3 * 40 * 44, makeRng(seed + 1), -2, 2) };
    const engine = await ResNetEngine.create({ context: await testContext() });
    engine.loadWeights(weights);
    const clean = referenceForward(weights, input);
    const errors: string[] = [];
    for (const c of CASES) {
      const got = await engine.forward(input, { taps: [c.upstream, ...c.taps], ablations: c.ablations });
      const want = referenceForward(weights, input, 'fc', referenceAblation(c.ablations));
      // The reference's ablation took effect downstream (else the comparison would prove little).
      expect(maxAbsDiff(want.get('fc')!.data, clean.get('fc')!.data), c.what).toBeGreaterThan(1e-6);
      expect(relativeError(got.get(c.upstream)!.data, clean.get(c.upstream)!.data), `${c.what}: ${c.upstream} (seed ${seed})`).toBeLessThanOrEqual(TOLERANCE);
      for (const tap of c.taps) {
        const e = relativeError(got.get(tap)!.data, want.get(tap)!.data);
        errors.push(`  ${tap.padEnd(22)} ${e.toExponential(2)}  (${c.what})`);
        expect(e, `${c.what}: ${tap} (seed ${seed})`).toBeLessThanOrEqual(TOLERANCE);
      }
      // A read-back ablated tap holds exactly the replacement values in the ablated channels.
      for (const a of c.ablations.filter((x) => c.taps.includes(x.tap))) {
        const t = got.get(a.tap)!;
        const [n, ch, h, w] = t.shape;
        a.channels.forEach((k, i) => {
          for (let b = 0; b < n; b++) {
            const plane = t.data.subarray((b * ch + k) * h * w, (b * ch + k + 1) * h * w);
            expect(plane.every((v) => v === Math.fround(a.values?.[i] ?? 0)), `${a.tap} channel ${k}`).toBe(true);
          }
        });
      }
    }
    console.log(`ablation vs float64 reference (seed ${seed}), worst error / tap scale:\n${errors.join('\n')}`);
    engine.dispose();
  });

  it('omitted values are zero-ablation; plans with and without ablation do not leak into each other', async () => {
    const seed = freshSeed();
    const weights = randomWeights(seed);
    const input = { shape: [1, 3, 36, 33], data: randomArray(3 * 36 * 33, makeRng(seed + 2), -2, 2) };
    const engine = await ResNetEngine.create({ context: await testContext() });
    engine.loadWeights(weights);
    const before = (await engine.forward(input, { taps: ['fc'] })).get('fc')!.data.slice();
    const zero = (await engine.forward(input, { taps: ['fc'], ablations: [{ tap: 'layer2.1', channels: [4, 9] }] })).get('fc')!.data.slice();
    const zeros = (await engine.forward(input, { taps: ['fc'], ablations: [{ tap: 'layer2.1', channels: [4, 9], values: [0, 0] }] })).get('fc')!.data.slice();
    const other = (await engine.forward(input, { taps: ['fc'], ablations: [{ tap: 'layer2.1', channels: [4, 9], values: [1, 2] }] })).get('fc')!.data.slice();
    const after = (await engine.forward(input, { taps: ['fc'] })).get('fc')!.data;
    expect(zeros).toEqual(zero);
    expect(after).toEqual(before);
    expect(maxAbsDiff(zero, before)).toBeGreaterThan(0);
    expect(maxAbsDiff(other, zero)).toBeGreaterThan(0);
    // An empty channel list ablates nothing.
    const none = (await engine.forward(input, { taps: ['fc'], ablations: [{ tap: 'layer2.1', channels: [] }] })).get('fc')!.data;
    expect(none).toEqual(before);
    engine.dispose();
  });
});

describe('ablation errors', () => {
  it('refuses channels out of range, non-ablatable taps and taps the weights cannot compute', async () => {
    const weights = randomWeights(3);
    const input = { shape: [1, 3, 32, 32], data: randomArray(3 * 32 * 32, makeRng(4), -1, 1) };
    const engine = await ResNetEngine.create({ context: await testContext() });
    engine.loadWeights(weights);
    const attempt = (ablations: Ablation[], taps = ['fc']) => engine.forward(input, { taps, ablations });
    await expect(attempt([{ tap: 'layer1.1', channels: [64] }])).rejects.toThrow(/ablation of 'layer1\.1': channel 64 is out of range 0\.\.63/);
    await expect(attempt([{ tap: 'layer3.1.sum', channels: [-1] }])).rejects.toThrow(/channel -1 is out of range 0\.\.255/);
    await expect(attempt([{ tap: 'layer2.0.bn2', channels: [1.5] }])).rejects.toThrow(/channel 1\.5 is out of range/);
    await expect(attempt([{ tap: 'input', channels: [0] }])).rejects.toThrow(/ablation of 'input' is not supported/);
    await expect(attempt([{ tap: 'fc', channels: [0] }])).rejects.toThrow(/ablation of 'fc' is not supported/);
    await expect(attempt([{ tap: 'avgpool', channels: [0] }])).rejects.toThrow(/ablation of 'avgpool' is not supported/);
    await expect(attempt([{ tap: 'layer2.1.skip', channels: [0] }])).rejects.toThrow(/ablate 'layer2\.1\.skip' through the tap it aliases/);
    await expect(attempt([{ tap: 'layer9.0', channels: [0] }])).rejects.toThrow(/unknown tap 'layer9\.0'/);
    // The engine still works after the refusals.
    const ok = await engine.forward(input, { taps: ['fc'], ablations: [{ tap: 'layer1.1', channels: [63] }] });
    expect(ok.get('fc')!.data.every(Number.isFinite)).toBe(true);

    // Partial weights (as the shared checkpoint): layer4 cannot be ablated, nor fc read.
    const partial = randomWeights(3);
    partial.delete('layer4.0.conv1.weight');
    engine.loadWeights(partial);
    await expect(engine.forward(input, { taps: ['layer3.1'], ablations: [{ tap: 'layer4.0', channels: [0] }] }))
      .rejects.toThrow(MissingWeightsError);
    await expect(engine.forward(input, { taps: ['layer3.1'], ablations: [{ tap: 'layer4.0', channels: [0] }] }))
      .rejects.toThrow(/lacks layer4\.0\.conv1\.weight/);
    // Ablating what it can compute still works.
    const got = await engine.forward(input, { taps: ['layer3.1'], ablations: [{ tap: 'layer2.1', channels: [0] }] });
    expect(got.get('layer3.1')!.shape).toEqual([1, 256, 2, 2]);
    engine.dispose();
  });
});
