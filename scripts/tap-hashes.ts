// SHA-256 of the float32 bytes of every tap the engine reads back, for a fixed set of forwards:
// the tench reference input with the shared partial checkpoint, and a seeded random-weights
// network (batch 2, 45x38), each with every conv2d variant (CONV2D_VARIANTS), several tap sets and ablations
// (fused and unfused paths), f16 weights where the adapter has 'shader-f16', and a short seeded
// feature visualisation (the backward pass). Two runs of the same code on the same adapter must
// print the same hashes: a refactor that claims "bit-identical taps" is checked by diffing them.
//
//   node scripts/tap-hashes.mjs OUT.json [--adapter lavapipe|swiftshader]

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { visualiseChannels } from '../src/browser/featureviz';
import { type AdapterChoice, createNodeContext, defaultCpuAdapter } from '../src/gpu/node';
import { allTapNames } from '../src/model/architecture';
import { ResNetEngine } from '../src/model/engine';
import { CONV2D_VARIANTS, type Conv2dVariant } from '../src/kernels/conv2d-variants';
import { loadCheckpoint } from '../src/weights/load';
import { randomWeights } from '../src/weights/random';
import { mulberry32 } from '../src/util/random';
import { type HostTensor, type TensorMap, readSafetensors } from '../src/weights/safetensors';

const args = process.argv.slice(2);
const out = args.find((a) => !a.startsWith('--'));
if (!out) throw new Error('usage: node scripts/tap-hashes.mjs OUT.json [--adapter lavapipe|swiftshader]');
const adapterArg = args.includes('--adapter') ? args[args.indexOf('--adapter') + 1] : undefined;
const shared = resolve(process.cwd(), '../shared/data');
const weightsPath = resolve(shared, 'weights/resnet18-imagenet1k-v1-partial.pth');
const tenchPath = resolve(shared, 'reference/tench-taps.safetensors');

const sha = (data: Float32Array) => createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');

const ctx = await createNodeContext((adapterArg as AdapterChoice | undefined) ?? defaultCpuAdapter());
const result: Record<string, unknown> = { adapter: ctx.adapter.name, cases: {} };
const cases = result.cases as Record<string, Record<string, string>>;

interface Case {
  taps: string[];
  ablations?: { tap: string; channels: number[]; values?: number[] }[];
}

async function run(name: string, weights: TensorMap, input: HostTensor, variants: Conv2dVariant[], list: Record<string, Case>) {
  const precisions: ('f32' | 'f16')[] = ctx.device.features.has('shader-f16') ? ['f32', 'f16'] : ['f32'];
  for (const precision of precisions) {
    for (const variant of variants) {
      const engine = await ResNetEngine.create({ context: ctx, convVariant: variant, precision });
      try {
        engine.loadWeights(weights);
        const computable = new Set(engine.computableTaps());
        for (const [label, c] of Object.entries(list)) {
          const taps = c.taps.filter((t) => computable.has(t));
          const got = await engine.forward(input, { taps, ablations: c.ablations });
          const hashes: Record<string, string> = {};
          for (const t of taps) hashes[t] = `${got.get(t)!.shape.join('x')} ${sha(got.get(t)!.data)}`;
          cases[`${name} ${precision} ${variant} ${label}`] = hashes;
          console.error(`${name} ${precision} ${variant} ${label}: ${taps.length} taps`);
        }
        if (precision === 'f32') {
          // The backward pass, through the public feature-visualisation entry point.
          const fv = await visualiseChannels(engine, { tap: 'layer1.1', channels: [3, 17], steps: 3, size: 40, seed: 7 });
          cases[`${name} ${precision} ${variant} fv layer1.1`] = {
            pixels: sha(fv.pixels), objective: fv.objective.map((o) => sha(o)).join(' '),
          };
        }
      } finally {
        engine.dispose();
      }
    }
  }
}

const everything = allTapNames();
const caseList = (last: string): Record<string, Case> => ({
  all: { taps: everything },
  logits: { taps: [last] },
  some: { taps: ['relu', 'layer1.1.sum', 'layer2.0.bn1', 'layer3.0.skip', last] },
  raw: { taps: ['conv1', 'maxpool', 'layer2.1'] },
  ablated: {
    taps: ['layer1.0', 'layer2.0.bn2', last],
    ablations: [{ tap: 'layer1.0.bn1', channels: [1, 5] }, { tap: 'layer2.0.sum', channels: [0, 9, 100], values: [0.5, -1, 2] }],
  },
  'ablated-fused': { taps: [last], ablations: [{ tap: 'relu', channels: [2] }, { tap: 'layer1.1', channels: [7], values: [3] }] },
});

// (a) The tench reference input, the shared partial checkpoint (through layer3.1).
if (existsSync(weightsPath) && existsSync(tenchPath)) {
  const checkpoint = loadCheckpoint(new Uint8Array(readFileSync(weightsPath)), 'partial');
  const input = readSafetensors(new Uint8Array(readFileSync(tenchPath))).tensors.get('input')!;
  await run('tench', checkpoint.tensors, input, CONV2D_VARIANTS, caseList('layer3.1'));
} else {
  console.error('tench: ../shared not found, skipped');
}

// (b) Seeded random weights, batch 2, 45x38 (every tap, through fc).
{
  const seed = 1234;
  const weights = randomWeights(seed);
  const rng = mulberry32(seed + 1);
  const data = new Float32Array(2 * 3 * 45 * 38).map(() => 4 * rng() - 2);
  await run('random', weights, { shape: [2, 3, 45, 38], data }, CONV2D_VARIANTS, caseList('fc'));
}

writeFileSync(out, `${JSON.stringify(result, null, 1)}\n`);
console.error(`wrote ${Object.keys(cases).length} cases to ${out}`);
ctx.destroy();
