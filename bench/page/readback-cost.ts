// Page script of bench/readback-cost.mjs: what reading ResNet18's taps back costs a page, split
// into its parts. 50 storage buffers sized as ResNet18's 50 taps at 224 are read back by the
// engine's own readback (GpuContext.readback with a kept staging buffer, as a forward plan does)
// into fresh arrays and into arrays in use; and, in JavaScript alone, the same bytes copied from one
// ArrayBuffer into fresh arrays made four ways and into arrays in use. Every measure once a round,
// in turn; medians.

import { GpuContext, ReadbackSlot } from '../../src/gpu/context';

declare global {
  interface Window {
    readbackCost(options: { featureLevel: 'core' | 'compatibility'; rounds: number; warmups: number }): Promise<ReadbackCostResult>;
  }
}

export interface ReadbackCostResult {
  /** The adapter's name as the engine describes it. */
  deviceAdapter: string;
  megabytes: number;
  buffers: number;
  /** Every sample (ms) of each measure, warm-ups left out. */
  samples: Record<string, number[]>;
}

/** ResNet18's taps at 224, batch 1, in bytes: the stem's 3 (64 x 112 x 112), then 64, 128, 256 and 512 channels at 56, 28, 14, 7. */
const TAP_BYTES = [...Array(3).fill(3211264), ...Array(10).fill(802816), ...Array(10).fill(401408), ...Array(17).fill(200704), ...Array(10).fill(100352)];

window.readbackCost = async ({ featureLevel, rounds, warmups }) => {
  const ctx = await GpuContext.create({ featureLevel });
  try {
    const total = TAP_BYTES.reduce((a, b) => a + b, 0);
    const sources = TAP_BYTES.map((bytes, i) => ({
      buffer: ctx.createStorageBuffer(`readback-cost tap ${i}`, new Float32Array(bytes / 4).fill(i)),
      byteLength: bytes,
    }));
    const inUse = TAP_BYTES.map((bytes) => new Float32Array(bytes / 4));
    const slot = new ReadbackSlot();
    const source = new ArrayBuffer(total);
    const offsets: number[] = [];
    TAP_BYTES.reduce((at, bytes) => (offsets.push(at), at + bytes), 0);
    const view = (i: number) => new Float32Array(source, offsets[i], TAP_BYTES[i] / 4);
    let kept: unknown = null; // the last fresh arrays, alive until the next measure, as a caller's would be
    const measures: Record<string, () => Promise<void> | void> = {
      'readback, fresh arrays': async () => { kept = await ctx.readback(sources, undefined, slot); },
      'readback, arrays in use': async () => { await ctx.readback(sources, undefined, slot, inUse); },
      'copy: slice per tap': () => { kept = TAP_BYTES.map((bytes, i) => new Float32Array(source.slice(offsets[i], offsets[i] + bytes))); },
      'copy: new array and set, per tap': () => { kept = TAP_BYTES.map((_, i) => { const a = new Float32Array(TAP_BYTES[i] / 4); a.set(view(i)); return a; }); },
      'copy: one slice, views': () => { const all = source.slice(0); kept = TAP_BYTES.map((bytes, i) => new Float32Array(all, offsets[i], bytes / 4)); },
      'copy: one new array and set, views': () => { const all = new Float32Array(total / 4); all.set(new Float32Array(source)); kept = TAP_BYTES.map((bytes, i) => all.subarray(offsets[i] / 4, (offsets[i] + bytes) / 4)); },
      'copy: into arrays in use': () => { TAP_BYTES.forEach((_, i) => inUse[i].set(view(i))); },
    };
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(measures).map((k) => [k, []]));
    for (let r = 0; r < warmups + rounds; r++) {
      for (const [name, run] of Object.entries(measures)) {
        const t0 = performance.now();
        await run();
        if (r >= warmups) samples[name].push(performance.now() - t0);
      }
    }
    if (kept === null) throw new Error('nothing measured');
    return { deviceAdapter: ctx.adapter.name, megabytes: total / 1e6, buffers: TAP_BYTES.length, samples };
  } finally {
    ctx.destroy();
  }
};
