// Per-dispatch GPU time of one feature-visualisation step (image, transforms, forward to the tap,
// backward to the input, transforms' and image's backward, Adam), from timestamp queries, each
// dispatch in its own compute pass (bench/fv-profile.mjs bundles and runs this):
//   node bench/fv-profile.mjs --adapter lavapipe --tap layer4.1 --batch 4 --size 224 [--variant winograd] [--runs 1]
// Prints the time per part and per kernel, and the slowest dispatches: per dispatch the median of
// --runs runs after a first (pipelines compiled, caches warm) that is not counted.
import { profileDispatches } from './core/profile';
import { createNodeContext, type AdapterChoice } from '../src/gpu/node';
import { BackwardPlan } from '../src/model/backward';
import { NetworkWeights } from '../src/model/gpu-weights';
import { randomWeights } from '../src/weights/random';
import type { Conv2dVariant } from '../src/kernels/conv2d-variants';
import type { Dispatch } from '../src/gpu/context';
import { AdamOptimizer, LUCENT_ADAM } from '../src/kernels/adam';
import { FourierImage, initialSpectra } from '../src/featureviz/param';
import { TransformPipeline, drawTransformsPerImage, jitterForTap, lucentTransformConfig, networkInputSize } from '../src/featureviz/transforms';
import { Rng, mixSeed } from '../src/util/random';
import { option } from './core/args';

const adapter = option('adapter', 'lavapipe') as AdapterChoice;
const tap = option('tap', 'layer4.1');
const batch = Number(option('batch', '4'));
const size = Number(option('size', '224'));
const variant = option('variant', '');
const runs = Number(option('runs', '1'));

const ctx = await createNodeContext(adapter);
const weights = new NetworkWeights(ctx, randomWeights(0));
const device = ctx.device;
// The rest of a step around the network, as src/featureviz/render.ts builds it (one input size:
// the network's, the transforms drawn once).
const channels = Array.from({ length: batch }, (_, i) => i);
const rngs = channels.map((c) => new Rng(mixSeed(0, c, 1)));
const image = new FourierImage(ctx, batch, size, size, initialSpectra(rngs, size, size));
const adam = new AdamOptimizer(ctx, image.spectrumCount, image.spectrum, image.spectrumGrad, LUCENT_ADAM, 'fv adam');
const config = lucentTransformConfig(jitterForTap(tap), size);
const draws = drawTransformsPerImage(config, channels.map((c) => new Rng(mixSeed(0, c, 2))), new Rng(3));
const inputSize = networkInputSize(config, draws[0]);
const plan = new BackwardPlan(ctx, weights, batch, inputSize, inputSize, tap, variant ? { kernels: { conv2d: variant as Conv2dVariant } } : {});
const pipeline = new TransformPipeline(ctx, config, batch, inputSize, {
  image: image.image, networkInput: plan.input, networkInputGrad: plan.inputGrad, imageGrad: image.imageGrad,
});
pipeline.setDraws(draws);
adam.setStep(1);
const tag = (part: string, ds: Dispatch[]) => ds.map((d) => ({ part, d }));
const all: { part: string; d: Dispatch }[] = [
  ...tag('image', image.forward), ...tag('transforms', pipeline.forward),
  ...tag('forward', plan.forward), ...tag('backward', plan.backward),
  ...tag('transforms', pipeline.backward), ...tag('image', image.backward), ...tag('adam', [adam.dispatch]),
];
const dispatches = all.map(({ d }) => d);
await profileDispatches(device, dispatches, 'fv profile');
const samples: number[][] = [];
for (let r = 0; r < runs; r++) samples.push(await profileDispatches(device, dispatches, 'fv profile'));
const ms = dispatches.map((_, i) => {
  const sorted = samples.map((run) => run[i]).sort((a, b) => a - b);
  return sorted.length % 2 ? sorted[sorted.length >> 1] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
});
const byKernel = new Map<string, number>();
const byPart = new Map<string, number>();
all.forEach(({ part, d }, i) => {
  const shader = `${part} ${(d.pipeline.label || d.label).replace(/ pipeline.*$/, '')}`;
  byKernel.set(shader, (byKernel.get(shader) ?? 0) + ms[i]);
  byPart.set(part, (byPart.get(part) ?? 0) + ms[i]);
});
console.log(`adapter ${adapter} tap ${tap} batch ${batch} size ${size} (network input ${inputSize}) variant ${variant || 'default'}, median of ${runs} run(s): ${[...byPart].map(([p, v]) => `${p} ${v.toFixed(0)} ms`).join(', ')}`);
for (const [k, v] of [...byKernel].sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(50)} ${v.toFixed(1)}`);
console.log('slowest dispatches:');
for (const i of ms.map((_, i) => i).sort((a, b) => ms[b] - ms[a]).slice(0, 25)) console.log(`  ${all[i].part} ${all[i].d.label.padEnd(70)} ${ms[i].toFixed(1)}`);
