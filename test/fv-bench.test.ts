// The arithmetic behind bench/fv.mjs's projection of the paper's fv protocol: the convolution work up
// to each tap (the depth a step's forward and backward cover) and the per-tap interpolation.

import { describe, expect, it } from 'vitest';
import { macsToTap, projectPaper } from '../bench/fv-project';
import { resnet18Macs } from '../bench/core/flops';
import { paperProbeTaps } from '../src/featureviz/fv-node';

describe('fv benchmark projection', () => {
  it('counts the forward MACs from the input to a tap', () => {
    // The whole network less the classifier.
    expect(macsToTap('layer4.1', 224)).toBe(resnet18Macs(224, 224) - 512 * 1000);
    // conv1 (7x7, 3 -> 64, 112 x 112) and layer1.0 (two 3x3 64 -> 64 at 56 x 56).
    const stem = 112 * 112 * 64 * 3 * 49;
    const conv3 = 56 * 56 * 64 * 64 * 9;
    expect(macsToTap('layer1.0', 224)).toBe(stem + 2 * conv3);
    expect(macsToTap('layer1.1.bn1', 224)).toBe(stem + 3 * conv3);
    expect(macsToTap('layer1.1.bn2', 224)).toBe(stem + 4 * conv3);
    // downsample.1 needs only the 1x1 downsample conv of its block, not conv1 / conv2.
    expect(macsToTap('layer2.0.downsample.1', 224)).toBe(stem + 4 * conv3 + 28 * 28 * 128 * 64);
  });

  it('projects the 5,568 probes from per-tap step times, exact at the measured taps', () => {
    const batches = paperProbeTaps().reduce((s, p) => s + Math.ceil(p.channels / 64), 0);
    // One constant step time: every batch costs 2560 x that.
    const flat = projectPaper({ 'layer1.1.bn2': 2 }, 64, 224, 2560);
    expect(flat.probes).toBe(5568);
    expect(flat.batches).toBe(batches);
    expect(flat.totalSeconds).toBeCloseTo(batches * 2560 * 2, 6);
    // Two taps: a line in MACs through both; the measured taps get their own times back.
    const p = projectPaper({ 'layer1.1.bn2': 10, 'layer4.1': 30 });
    const at = (tap: string) => p.perTap.find((x) => x.tap === tap)!.stepSeconds;
    expect(at('layer1.1.bn2')).toBe(10);
    expect(at('layer4.1')).toBe(30);
    const m = (t: string) => macsToTap(t, 224);
    const mid = 10 + (20 * (m('layer3.0') - m('layer1.1.bn2'))) / (m('layer4.1') - m('layer1.1.bn2'));
    expect(at('layer3.0')).toBeCloseTo(mid, 9);
    expect(at('layer2.0.bn2')).toBeGreaterThan(10);
    expect(at('layer2.0.bn2')).toBeLessThan(at('layer3.0'));
  });
});
