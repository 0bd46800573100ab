// Page script of the browser forward test: the engine exactly as a page embeds it (the public API
// of src/index.ts), on seeded random weights, returning every tap for comparison with Node.

import { ResNetEngine, allTapNames } from '../../src/index';
import { randomWeights } from '../../src/weights/random';

declare global {
  interface Window {
    runForward(seed: number, shape: number[], featureLevel: 'core' | 'compatibility'): Promise<{
      adapter: string; taps: Record<string, { shape: number[]; data: number[] }>;
    }>;
  }
}

window.runForward = async (seed, shape, featureLevel) => {
  const engine = await ResNetEngine.create({ featureLevel });
  try {
    engine.loadWeights(randomWeights(seed));
    const count = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(count);
    // A simple LCG input, reproduced on the Node side.
    let s = seed >>> 0;
    for (let i = 0; i < count; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      data[i] = (s / 4294967296) * 4 - 2;
    }
    const out = await engine.forward({ shape, data }, { taps: allTapNames() });
    const taps: Record<string, { shape: number[]; data: number[] }> = {};
    for (const [name, t] of out) taps[name] = { shape: t.shape, data: Array.from(t.data) };
    return { adapter: `${engine.adapter.name} (${engine.adapter.description || engine.adapter.vendor})`, taps };
  } finally {
    engine.dispose();
  }
};
