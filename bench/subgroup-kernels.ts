// The CPU adapters' subgroup kernels against the forms they replace, at ResNet18's shapes, one
// adapter per process: 'direct' with its weights shared by shuffles (shaders/conv2d-subgroup.wgsl)
// against conv2d.wgsl's CPU form, at the stem, stride-2 and 1x1 convolutions; and the Winograd
// register products with V shared across each subgroup (conv2d-winograd-gemm-subgroup.wgsl) against
// conv2d-winograd-gemm-plain.wgsl, at the 3x3 stride-1 convolutions in both tile sizes (the
// products dispatch alone, on one input transform's V); and the stride-2 convolutions' input
// gradients (conv2d-backward-subgroup.wgsl against conv2d-backward.wgsl, each with the channel
// groups the engine picks); and on subgroups of 7 lanes and more the stem kernel
// (conv2d-stem-subgroup.wgsl) against the subgroup form of 'direct' it replaces; and 'direct' with
// a zero-padded input (zero-pad.wgsl and PADDED_INPUT, the pad timed with it) against the same
// form without, at the convolutions with padding; where the grid products run (lavapipe, subgroups
// of 8), each of their layouts (conv2d-winograd-gemm-grid.wgsl) against the products the engine
// ran before them; and the stem's max pool with its 3x3 window written out against loops over it.
// `--kernels` picks the groups (direct, winograd, backward, maxpool). Each shape's two forms interleaved,
// the order alternating round by round; medians; the two outputs compared bit for bit.
// Bundled and run by bench/subgroup-kernels.mjs (options there). Prints one JSON line.
import { loadavg } from 'node:os';
import { adapterLine, createNodeContext, type AdapterChoice } from '../src/gpu/node';
import { type Conv2dShape, conv2dDispatch, conv2dOutputSize, packConv2dWeights, stemRowsFor, subgroupWeightsFor } from '../src/kernels/conv2d';
import { conv2dWinogradDispatches, winogradFilter, winogradGridLanes, winogradScratchBytes, winogradSubgroupTiles, winogradTiles, type WinogradTile } from '../src/kernels/conv2d-winograd';
import { RESNET18, blockConvs, spatialPlan } from '../src/model/architecture';
import { conv2dBackwardChannelGroups, conv2dBackwardDispatch, conv2dBackwardSubgroupWeights } from '../src/kernels/conv2d-backward';
import type { Dispatch } from '../src/gpu/context';
import { zeroPadDispatch, zeroPadLength } from '../src/kernels/zero-pad';
import { maxpool2dDispatch, maxpool2dOutputSize } from '../src/kernels/maxpool2d';
import { paddedInputFor } from '../src/kernels/conv2d-variants';
import { lcgValues, option } from './core/args';
import { median } from './core/stats';

const adapter = option('adapter', 'lavapipe') as AdapterChoice;
const batch = Number(option('batch', '1'));
const rounds = Number(option('rounds', '9'));
const warmups = Number(option('warmups', '2'));
/** Which groups of pairs to time: direct, winograd, backward, maxpool (default all). */
const groupsToRun = new Set(option('kernels', 'direct,winograd,backward,maxpool').split(','));

// ResNet18's convolutions at 224, once per distinct shape.
const plan = spatialPlan(224, 224);
const specs = [
  { spec: RESNET18.stem, input: [224, 224] },
  // A block's first convolution and its downsample read the block's input, the others its output.
  ...RESNET18.blocks.flatMap((b, i) => blockConvs(b).map((spec) => ({
    spec, input: spec === b.branch[0] || spec === b.downsample ? (i === 0 ? plan.pooled : plan.blocks[i - 1]) : plan.blocks[i],
  }))),
].map(({ spec, input: [h, w] }) => ({
  name: `${spec.conv} ${spec.kernel}x${spec.kernel} s${spec.stride} (${spec.inChannels} -> ${spec.outChannels}, ${h})`,
  shape: { batch, inChannels: spec.inChannels, inHeight: h, inWidth: w, outChannels: spec.outChannels, kernel: spec.kernel, stride: spec.stride, padding: spec.padding } as Conv2dShape,
}));
const distinct = <T extends { shape: Conv2dShape }>(list: T[]) => [...new Map(list.map((c) => [JSON.stringify(c.shape), c])).values()];
const directShapes = distinct(specs.filter((c) => c.shape.stride !== 1 || c.shape.kernel !== 3));
const winogradShapes = distinct(specs.filter((c) => c.shape.stride === 1 && c.shape.kernel === 3));

const ctx = await createNodeContext(adapter);
const loadBefore = loadavg()[0];
const storage = (label: string, bytes: number) => ctx.device.createBuffer({ label, size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });

/**
 * Times a pair of forms (plain, subgroup: one dispatch each, or a list run as one submission)
 * interleaved; reads both outputs back and compares them.
 */
async function pair(name: string, kernel: string, chosen: boolean, dispatches: [Dispatch | Dispatch[], Dispatch | Dispatch[]], outputs: [GPUBuffer, GPUBuffer], bytes: number) {
  const samples: [number[], number[]] = [[], []];
  for (let round = 0; round < warmups + rounds; round++) {
    for (const i of round % 2 ? [1, 0] : [0, 1]) {
      const start = performance.now();
      ctx.run([dispatches[i]].flat());
      await ctx.finish();
      if (round >= warmups) samples[i].push(performance.now() - start);
    }
  }
  const [a, b] = await ctx.readback(outputs.map((buffer) => ({ buffer, byteLength: bytes })));
  const plainMs = median(samples[0]);
  const subgroupMs = median(samples[1]);
  process.stderr.write(`[subgroup-kernels] ${kernel} ${name}: plain ${plainMs.toFixed(2)} ms, subgroup ${subgroupMs.toFixed(2)} ms\n`);
  return { name, kernel, chosen, plainMs, subgroupMs, samples, identical: a.every((v, i) => Object.is(v, b[i])) };
}

const results = [];
for (const { name, shape: s } of groupsToRun.has('direct') ? directShapes : []) {
  const [oh, ow] = conv2dOutputSize(s);
  const count = s.batch * s.outChannels * oh * ow;
  const inputs = {
    input: ctx.createStorageBuffer(`subgroup bench input (${name})`, lcgValues(s.batch * s.inChannels * s.inHeight * s.inWidth, 1)),
    weights: ctx.createStorageBuffer(`subgroup bench weights (${name})`, packConv2dWeights(lcgValues(s.outChannels * s.inChannels * s.kernel * s.kernel, 2), s)),
    scale: ctx.createStorageBuffer(`subgroup bench scale (${name})`, lcgValues(s.outChannels, 3)),
    shift: ctx.createStorageBuffer(`subgroup bench shift (${name})`, lcgValues(s.outChannels, 4)),
  };
  const outputs: [GPUBuffer, GPUBuffer] = [storage(`subgroup bench output (${name}, plain)`, count * 4), storage(`subgroup bench output (${name}, subgroup)`, count * 4)];
  const form = { relu: true, variant: 'direct' as const, tapLoop: 'one' as const, channelsPerThread: 16 as const };
  const dispatches: [Dispatch, Dispatch] = [
    conv2dDispatch(ctx, s, { ...inputs, output: outputs[0] }, { ...form, subgroupWeights: false }, `subgroup bench ${name} (plain)`),
    conv2dDispatch(ctx, s, { ...inputs, output: outputs[1] }, { ...form, subgroupWeights: true }, `subgroup bench ${name} (subgroup)`),
  ];
  results.push(await pair(name, 'direct', subgroupWeightsFor(ctx), dispatches, outputs, count * 4));
  const lanes = ctx.fixedSubgroupSize;
  if (lanes !== null && stemRowsFor(s, lanes)) {
    // The stem kernel (conv2d-stem-subgroup.wgsl) against the subgroup form it replaces: 'plain' is
    // conv2d-subgroup.wgsl here.
    const stemPair: [Dispatch, Dispatch] = [
      conv2dDispatch(ctx, s, { ...inputs, output: outputs[0] }, { ...form, subgroupWeights: true, stemRows: false }, `subgroup bench ${name} (subgroup)`),
      conv2dDispatch(ctx, s, { ...inputs, output: outputs[1] }, { ...form, subgroupWeights: true, stemRows: true }, `subgroup bench ${name} (stem kernel)`),
    ];
    results.push(await pair(name, 'direct, stem kernel (plain column: the subgroup form it replaces)', subgroupWeightsFor(ctx), stemPair, outputs, count * 4));
  }
  if (s.padding > 0) {
    // 'direct' reading a zero-padded copy of its input, the pad included (zero-pad.wgsl, then
    // PADDED_INPUT), against the same form reading the input as it is: the adapter's own form, and
    // where that is the subgroup form also conv2d.wgsl's CPU form.
    const pad = { planes: s.batch * s.inChannels, height: s.inHeight, width: s.inWidth, pad: s.padding };
    const padded = storage(`padded bench input (${name})`, zeroPadLength(pad) * 4);
    const cpuForm = { subgroupWeights: false, tapLoop: 'one', channelsPerThread: 16 } as const;
    for (const own of subgroupWeightsFor(ctx) ? [true, false] : [true]) {
      const forced = own ? {} : cpuForm;
      const padPair: [Dispatch, Dispatch[]] = [
        conv2dDispatch(ctx, s, { ...inputs, output: outputs[0] }, { relu: true, variant: 'direct', ...forced }, `padded bench ${name} (unpadded)`),
        [
          zeroPadDispatch(ctx, pad, { input: inputs.input, output: padded }),
          conv2dDispatch(ctx, s, { ...inputs, input: padded, output: outputs[1] }, { relu: true, variant: 'direct', paddedInput: true, ...forced }, `padded bench ${name} (padded)`),
        ],
      ];
      const kernel = `direct${own ? '' : " (conv2d.wgsl's CPU form)"}, padded input and its pad (plain column: the input unpadded)`;
      results.push(await pair(name, kernel, own && paddedInputFor(ctx.adapter), padPair, outputs, count * 4));
    }
    padded.destroy();
  }
  [...Object.values(inputs), ...outputs].forEach((b) => b.destroy());
}
for (const tile of [2, 4] as WinogradTile[]) {
  for (const { name, shape: s } of groupsToRun.has('winograd') ? winogradShapes : []) {
    const bytes = winogradScratchBytes(s, tile);
    const count = s.batch * s.outChannels * s.inHeight * s.inWidth;
    const inputs = {
      input: ctx.createStorageBuffer(`subgroup bench input (${name})`, lcgValues(s.batch * s.inChannels * s.inHeight * s.inWidth, 1)),
      weights: ctx.createStorageBuffer(`subgroup bench filter (${name})`, winogradFilter(lcgValues(s.outChannels * s.inChannels * 9, 2), s, tile)),
      scale: ctx.createStorageBuffer(`subgroup bench scale (${name})`, lcgValues(s.outChannels, 3)),
      shift: ctx.createStorageBuffer(`subgroup bench shift (${name})`, lcgValues(s.outChannels, 4)),
      scratch: storage(`subgroup bench V (${name})`, bytes.input),
    };
    const output = storage(`subgroup bench output (${name})`, count * 4);
    const products: [GPUBuffer, GPUBuffer] = [storage(`subgroup bench M (${name}, plain)`, bytes.products), storage(`subgroup bench M (${name}, subgroup)`, bytes.products)];
    const [transform, plainProducts] = conv2dWinogradDispatches(ctx, s, { ...inputs, output, products: products[0] }, { relu: false, product: 'plain', tile, subgroupTiles: false, gridLanes: null });
    const [, subgroupProducts] = conv2dWinogradDispatches(ctx, s, { ...inputs, output, products: products[1] }, { relu: false, product: 'plain', tile, subgroupTiles: true, gridLanes: null });
    ctx.run([transform]);
    await ctx.finish();
    results.push(await pair(name, `winograd F(${tile}x${tile}) products`, winogradSubgroupTiles(ctx, s), [plainProducts, subgroupProducts], products, bytes.products));
    // The grid products (conv2d-winograd-gemm-grid.wgsl), each layout of the lanes, against the
    // form the engine ran before them: the subgroup products where it took those, else the plain.
    const { tiles } = winogradTiles(s, tile);
    const chosenLanes = winogradGridLanes(ctx, s, tiles);
    if (chosenLanes !== null) {
      const before = winogradSubgroupTiles(ctx, s) ? subgroupProducts : plainProducts;
      for (const gridLanes of [2, 4, 8] as const) {
        const [, gridProducts] = conv2dWinogradDispatches(ctx, s, { ...inputs, output, products: products[1] }, { relu: false, product: 'plain', tile, gridLanes });
        const kernel = `winograd F(${tile}x${tile}) products, grid of ${gridLanes} x ${8 / gridLanes} lanes (plain column: the ${winogradSubgroupTiles(ctx, s) ? 'subgroup' : 'plain'} products)`;
        results.push(await pair(name, kernel, gridLanes === chosenLanes, [before, gridProducts], products, bytes.products));
      }
    }
    [...Object.values(inputs), output, ...products].forEach((b) => b.destroy());
  }
}
for (const { name, shape: s } of groupsToRun.has('backward') ? directShapes : []) {
  const [oh, ow] = conv2dOutputSize(s);
  const count = s.batch * s.inChannels * s.inHeight * s.inWidth;
  const inputs = {
    gradOutput: ctx.createStorageBuffer(`subgroup bench dy (${name})`, lcgValues(s.batch * s.outChannels * oh * ow, 1)),
    weightsTransposed: ctx.createStorageBuffer(`subgroup bench transposed weights (${name})`, lcgValues(Math.ceil(s.inChannels / 4) * s.outChannels * s.kernel * s.kernel * 4, 2)),
  };
  const outputs: [GPUBuffer, GPUBuffer] = [storage(`subgroup bench dx (${name}, plain)`, count * 4), storage(`subgroup bench dx (${name}, subgroup)`, count * 4)];
  const groups = conv2dBackwardChannelGroups(ctx, s);
  const dispatches: [Dispatch, Dispatch] = [
    conv2dBackwardDispatch(ctx, s, { ...inputs, gradInput: outputs[0] }, `subgroup bench ${name} gradient (plain)`, groups, false),
    conv2dBackwardDispatch(ctx, s, { ...inputs, gradInput: outputs[1] }, `subgroup bench ${name} gradient (subgroup)`, groups, true),
  ];
  results.push(await pair(name, `input gradient (${groups} channel group${groups > 1 ? 's' : ''})`, conv2dBackwardSubgroupWeights(ctx), dispatches, outputs, count * 4));
  [...Object.values(inputs), ...outputs].forEach((b) => b.destroy());
}
if (groupsToRun.has('maxpool')) {
  // The stem's max pool with its 3x3 window written out (maxpool2d.wgsl's WINDOW3) against the
  // loops over the window (plain column).
  const pool = { batch, channels: 64, inHeight: 112, inWidth: 112, kernel: 3, stride: 2, padding: 1 };
  const [oh, ow] = maxpool2dOutputSize(pool);
  const count = batch * 64 * oh * ow;
  const input = ctx.createStorageBuffer('maxpool bench input', lcgValues(batch * 64 * 112 * 112, 1));
  const outputs: [GPUBuffer, GPUBuffer] = [storage('maxpool bench output (loops)', count * 4), storage('maxpool bench output (written out)', count * 4)];
  const dispatches: [Dispatch, Dispatch] = [
    maxpool2dDispatch(ctx, pool, input, outputs[0], 'maxpool bench (loops)', false),
    maxpool2dDispatch(ctx, pool, input, outputs[1], 'maxpool bench (written out)', true),
  ];
  results.push(await pair('maxpool 3x3 s2 (64, 112)', 'max pool, the 3x3 window written out (plain column: loops over the window)', true, dispatches, outputs, count * 4));
  [input, ...outputs].forEach((b) => b.destroy());
}
const sizes = ctx.subgroupSizes;
console.log(JSON.stringify({ adapterLine: adapterLine(ctx), subgroupSizes: sizes, batch, rounds, warmups, loadavgBefore: loadBefore, loadavgAfter: loadavg()[0], results }));
ctx.destroy();
