// Feature visualisation on the partial real weights: 8 channels of layer1.1.bn2 (the branch, before
// any ReLU), reduced size and steps. See fv-real-weights.ts.

import { describe, it } from 'vitest';
import { STEPS, SIZE, checkRealWeights, missing } from './fv-real-weights';

describe.skipIf(missing() !== null)('feature visualisation on the partial real weights', () => {
  it(`layer1.1.bn2: 8 channels, ${STEPS} steps at ${SIZE}x${SIZE}`, async () => {
    await checkRealWeights('layer1.1.bn2', [0, 5, 11, 17, 23, 31, 42, 60]);
  });
});
