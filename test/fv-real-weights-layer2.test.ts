// Feature visualisation on the partial real weights: 8 channels of layer2.1 (the block output,
// after the ReLU), reduced size and steps. See fv-real-weights.ts.
//
// A post-ReLU unit that is 0 on the starting image (Lucent's start is a near-uniform grey) under
// every random transform has a zero gradient (PyTorch's relu gradient at 0 is 0) and Adam leaves
// it where it is, in Lucent as here: the paper re-ran such visualisations. Each channel's start
// and transform draws depend only on (seed, channel), so which units are dead is fixed: of channels
// 0, 8, ..., 120 at this seed and size, 0, 24, 56, 72, 80, 104 and 112 stay at 0. Channel 0 is
// checked to stay exactly 0; the 8 channels checked against the acceptance criterion are live ones.

import { describe, it } from 'vitest';
import { STEPS, SIZE, checkRealWeights, missing } from './fv-real-weights';

describe.skipIf(missing() !== null)('feature visualisation on the partial real weights', () => {
  it(`layer2.1: 8 channels, ${STEPS} steps at ${SIZE}x${SIZE}`, async () => {
    await checkRealWeights('layer2.1', [8, 16, 40, 48, 64, 88, 96, 120], [0]);
  });
});
