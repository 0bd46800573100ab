// Every tap against PyTorch: ../shared/data/reference/tench-taps.safetensors holds torchvision's taps
// for the tench image with the partial real weights; its `input` is fed in here.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ResNetEngine } from '../src/model/engine';
import { readSafetensors } from '../src/weights/safetensors';
import { loadCheckpoint } from '../src/weights/load';
import { testContext } from './helpers/gpu';
import { PARTIAL_WEIGHTS, TENCH_TAPS, sharedMissing } from './helpers/shared';

// DESIGN.md: whole-network taps within 1e-4 of each tap's largest magnitude. PyTorch (float32, its
// own summation order) and our kernels differ by float32 rounding only; at 224 the deepest taps
// carry ~1e-6..1e-5 relative error from 4608-term sums, so 1e-4 catches any real discrepancy.
const TOLERANCE = 1e-4;

const missing = sharedMissing(PARTIAL_WEIGHTS, TENCH_TAPS);

// The reference file's `bn1` taps (stem and every block) are post-ReLU: its script keeps the tensor
// returned by bn1 and then calls torchvision's ReLU, which is `inplace=True`, so the stored tensor
// was overwritten (its bn1 equals its relu exactly, minimum 0). Our bn1 taps are pre-ReLU as
// METHOD.md defines them; they are compared here after a ReLU, and their negative part is checked
// to exist, so the comparison cannot pass by accident.
const INPLACE_RELU_IN_REFERENCE = (tap: string) => tap === 'bn1' || tap.endsWith('.bn1');

describe.skipIf(missing)('taps vs PyTorch (tench, partial real weights)', () => {
  it('every reference tap agrees within 1e-4 of its largest magnitude', async () => {
    const reference = readSafetensors(new Uint8Array(readFileSync(TENCH_TAPS))).tensors;
    const checkpoint = loadCheckpoint(new Uint8Array(readFileSync(PARTIAL_WEIGHTS)), 'partial');
    const engine = await ResNetEngine.create({ context: await testContext() });
    engine.loadWeights(checkpoint.tensors);
    const taps = [...reference.keys()].filter((t) => t !== 'zoom_in' && t !== 'zoom_out');
    const got = await engine.forward(reference.get('input')!, { taps });
    const lines: string[] = [];
    const errors = new Map<string, number>();
    for (const tap of taps) {
      const want = reference.get(tap)!;
      let have = got.get(tap)!;
      expect(have.shape, tap).toEqual(want.shape);
      if (INPLACE_RELU_IN_REFERENCE(tap)) {
        expect(have.data.reduce((m, v) => Math.min(m, v), 0), `${tap} is pre-ReLU`).toBeLessThan(0);
        have = { shape: have.shape, data: have.data.map((v) => Math.max(v, 0)) };
      }
      let scale = 0;
      let worst = 0;
      for (let i = 0; i < want.data.length; i++) {
        scale = Math.max(scale, Math.abs(want.data[i]));
        const d = Math.abs(have.data[i] - want.data[i]);
        worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
      }
      errors.set(tap, worst / scale);
      lines.push(`  ${tap.padEnd(22)} max|diff| ${worst.toExponential(2)}  / scale ${scale.toFixed(3)} = ${(worst / scale).toExponential(2)}` +
        (INPLACE_RELU_IN_REFERENCE(tap) ? '  (after ReLU: reference stored post-ReLU)' : ''));
    }
    console.log(`taps vs PyTorch on ${engine.adapter.name}:\n${lines.join('\n')}`);
    for (const [tap, e] of errors) expect(e, tap).toBeLessThanOrEqual(TOLERANCE);
    // The shared checkpoint lacks layer4's 3x3 convolutions: the engine says so.
    const status = engine.computability();
    expect(status.lastComputable).toBe('layer3.1');
    expect(status.missingTensors).toContain('layer4.0.conv1.weight');
    engine.dispose();
  });
});
