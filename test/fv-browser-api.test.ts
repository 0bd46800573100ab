// The page-facing feature-visualisation API (src/browser/featureviz.ts) in Node, on the same engine
// a page gets: every step reported with its objective, previews every few steps, the final images
// identical to renderVis's (it is renderVis, with hooks that only read), cancellation between steps
// with the buffers freed, and partial checkpoints refused for taps they cannot reach.

import { describe, expect, it } from 'vitest';
import { visualisable, visualiseChannels } from '../src/browser/featureviz';
import { renderVis, resnetFactory } from '../src/featureviz/render';
import { ResNetEngine } from '../src/model/engine';
import { MissingWeightsError } from '../src/model/planner';
import { NetworkWeights } from '../src/model/gpu-weights';
import { randomWeights } from '../src/weights/random';
import { freshSeed, testContext } from './helpers/gpu';
import { familyWeights } from './reference/family-weights';

async function engineWith(seed: number, drop: (name: string) => boolean = () => false): Promise<ResNetEngine> {
  const engine = await ResNetEngine.create({ context: await testContext() });
  engine.loadWeights(new Map([...randomWeights(seed)].filter(([name]) => !drop(name))));
  return engine;
}

describe('visualiseChannels (the browser FV API) in Node', () => {
  it('reports every step, previews every 3 steps, and ends with the images renderVis makes', async () => {
    const seed = freshSeed();
    console.log(`seed ${seed}`);
    const engine = await engineWith(seed);
    try {
      const steps = 7;
      const size = 40;
      const channels = [5, 0];
      const seen: { step: number; objective: number[]; images: number }[] = [];
      const result = await visualiseChannels(engine, {
        tap: 'layer1.1', channels, steps, size, seed, previewEvery: 3,
        onStep: (p) => { seen.push({ step: p.step, objective: Array.from(p.objective), images: p.images?.length ?? 0 }); },
      });
      expect(seen.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(seen.filter((s) => s.images).map((s) => s.step)).toEqual([3, 6, 7]);
      for (const s of seen) expect(s.objective.every(Number.isFinite)).toBe(true);
      expect(result.objective.map((o) => o.length)).toEqual([steps, steps]);
      // The objective of the report at step t is the one stored for step t.
      for (const s of seen) s.objective.forEach((v, n) => expect(result.objective[n][s.step - 1]).toBe(v));
      expect(result.jitter).toBe(0);
      expect(result.images.map((i) => [i.channel, i.width, i.height, i.data.length])).toEqual(channels.map((c) => [c, size, size, size * size * 4]));

      // The same loop without the hooks (as the CLI runs it): bit-identical images, and the same
      // first and last units (reading the objective every step changes no arithmetic).
      const weights = new NetworkWeights(engine.ctx, randomWeights(seed));
      try {
        const plain = await renderVis(engine.ctx, 'layer1.1', channels, resnetFactory(engine.ctx, weights, 'layer1.1'), { steps, size, seed });
        expect(Buffer.from(result.pixels.buffer).equals(Buffer.from(plain.images.buffer)), 'images equal renderVis without hooks').toBe(true);
        channels.forEach((_, n) => {
          expect(-result.objective[n][0]).toBe(plain.activationFirst[n]);
          expect(-result.objective[n][steps - 1]).toBe(plain.activationLast[n]);
        });
      } finally {
        weights.destroy();
      }
      // The 8-bit RGBA is Lucent's truncation of the float image, opaque.
      const px = result.pixels[(1 * 3 + 2) * size * size + 17]; // image 1, blue, pixel 17
      expect(result.images[1].data[17 * 4 + 2]).toBe(Math.trunc(Math.fround(px * 255)));
      expect(result.images[1].data[17 * 4 + 3]).toBe(255);
    } finally {
      engine.dispose();
    }
  }, 120_000);

  it('stops between steps when aborted, rejecting with the reason, and can run again afterwards', async () => {
    const seed = freshSeed();
    const engine = await engineWith(seed);
    try {
      const controller = new AbortController();
      const steps: number[] = [];
      const run = visualiseChannels(engine, {
        tap: 'layer2.0.bn2', channels: [1], steps: 50, size: 32, seed,
        onStep: (p) => {
          steps.push(p.step);
          if (p.step === 3) controller.abort(new Error('stopped by the test'));
        },
        signal: controller.signal,
      });
      await expect(run).rejects.toThrow('stopped by the test');
      expect(steps).toEqual([1, 2, 3]);
      const again = await visualiseChannels(engine, { tap: 'layer2.0.bn2', channels: [1], steps: 2, size: 32, seed });
      expect(again.objective[0].every(Number.isFinite)).toBe(true);
      const aborted = AbortSignal.abort(new Error('already aborted'));
      await expect(visualiseChannels(engine, { tap: 'layer1.0', channels: [0], steps: 2, size: 32, signal: aborted })).rejects.toThrow('already aborted');
    } finally {
      engine.dispose();
    }
  }, 120_000);

  it('names what a partial checkpoint lacks, and refuses bad taps, channels and sizes in one line', async () => {
    const engine = await engineWith(freshSeed(), (name) => name.startsWith('layer3.') || name.startsWith('layer4.') || name.startsWith('fc.'));
    try {
      expect(visualisable(engine, 'layer2.1')).toBeNull();
      expect(visualisable(engine, 'layer3.0.bn2')).toMatch(/^cannot compute tap 'layer3.0.bn2': the checkpoint lacks layer3.0.conv1.weight/);
      await expect(visualiseChannels(engine, { tap: 'layer3.1', channels: [0], steps: 1, size: 32 })).rejects.toBeInstanceOf(MissingWeightsError);
      await expect(visualiseChannels(engine, { tap: 'fc', channels: [0], steps: 1, size: 32 })).rejects.toThrow("'fc' cannot be visualised");
      await expect(visualiseChannels(engine, { tap: 'layer1.1', channels: [64], steps: 1, size: 32 })).rejects.toThrow("channel 64 is out of range for 'layer1.1' (64 channels)");
      await expect(visualiseChannels(engine, { tap: 'layer1.1', channels: [0], steps: 1, size: 20 })).rejects.toThrow('size must be an integer in 32..512');
    } finally {
      engine.dispose();
    }
  }, 60_000);

  it('runs on any member of the family: a grouped ResNeXt tap, its own blocks and channel counts', async () => {
    const seed = freshSeed();
    console.log(`resnext50_32x4d seed ${seed}`);
    const engine = await ResNetEngine.create({ context: await testContext() });
    try {
      engine.loadWeights(familyWeights('resnext50_32x4d', seed));
      expect(engine.architecture.name).toBe('resnext50_32x4d');
      // layer2.3 exists in resnext50 (4 blocks in layer2), its bn3 has 512 channels; j = 4 by position.
      const result = await visualiseChannels(engine, { tap: 'layer2.3.bn3', channels: [511, 2], steps: 2, size: 32, seed });
      expect(result.jitter).toBe(4);
      for (const o of result.objective) expect(Array.from(o).every(Number.isFinite)).toBe(true);
      expect(result.pixels.every(Number.isFinite)).toBe(true);
      expect(visualisable(engine, 'layer4.2')).toBeNull();
      expect(visualisable(engine, 'layer4.3')).toMatch(/unknown tap 'layer4\.3'/);
      expect(visualisable(engine, 'fc')).toMatch(/conv1 \.\. layer4\.2 and avgpool/);
    } finally {
      engine.dispose();
    }
  }, 120_000);
});
