// The convolution data gradient (shaders/conv2d-backward.wgsl) at ResNet18's stride-2 shapes, one
// adapter per process, with several counts of groups of 4 input channels per thread (the
// shader's CGROUPS): each shape's dispatches interleaved round by round, medians, and every
// form's output compared bit for bit with the first form's; optionally an earlier version of the
// shader (--baseline-file, one group per thread, the same Params) beside them.
// Bundled and run by bench/conv-backward.mjs (options there). Prints one JSON line.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { adapterLine, createNodeContext, type AdapterChoice } from '../src/gpu/node';
import { type Conv2dShape, conv2dOutputSize } from '../src/kernels/conv2d';
import { RESNET18, blockConvs, spatialPlan } from '../src/model/architecture';
import { conv2dBackwardChannelGroups, conv2dBackwardDispatch, conv2dBackwardKernel } from '../src/kernels/conv2d-backward';
import { lcgValues, option } from './core/args';
import { median } from './core/stats';

const adapter = option('adapter', 'lavapipe') as AdapterChoice;
const batch = Number(option('batch', '8'));
const rounds = Number(option('rounds', '5'));
const warmups = Number(option('warmups', '1'));
const groupCounts = option('groups', '1,4,8').split(',').map(Number);
const formName = (groups: number) => `${groups} group${groups > 1 ? 's' : ''}`;
const baselineFile = option('baseline-file', '');
const baselineName = option('baseline-name', 'baseline');
const baseline = baselineFile ? conv2dBackwardKernel(`conv2d-backward (${baselineName})`, readFileSync(baselineFile, 'utf8')) : null;

/** ResNet18's stride-2 convolutions at 224 (the gradients a feature-visualisation step runs here). */
const plan = spatialPlan(224, 224);
const convs: { name: string; shape: Omit<Conv2dShape, 'batch'> }[] = [
  { spec: RESNET18.stem, input: [224, 224] },
  ...RESNET18.blocks.flatMap((b, i) => blockConvs(b).map((spec) => ({ spec, input: i === 0 ? plan.pooled : plan.blocks[i - 1] }))),
].filter(({ spec }) => spec.stride === 2).map(({ spec, input: [h, w] }) => ({
  name: `${spec.conv} ${spec.kernel}x${spec.kernel} s2 (${spec.inChannels} -> ${spec.outChannels}, ${h})`,
  shape: {
    inChannels: spec.inChannels, inHeight: h, inWidth: w, outChannels: spec.outChannels,
    kernel: spec.kernel, stride: spec.stride, padding: spec.padding,
  },
}));

const ctx = await createNodeContext(adapter);
const loadBefore = loadavg()[0];
const results = [];
for (const { name, shape } of convs) {
  const s: Conv2dShape = { batch, ...shape };
  const [oh, ow] = conv2dOutputSize(s);
  const inCount = batch * s.inChannels * s.inHeight * s.inWidth;
  const gradOutput = ctx.createStorageBuffer(`conv-backward bench dy (${name})`, lcgValues(batch * s.outChannels * oh * ow, 1));
  const weightsTransposed = ctx.createStorageBuffer(`conv-backward bench weights (${name})`,
    lcgValues(Math.ceil(s.inChannels / 4) * s.outChannels * s.kernel * s.kernel * 4, 2));
  // Only the counts the shape can use (a thread never owns more groups than the shape has).
  const usable = groupCounts.filter((g) => g <= Math.ceil(s.inChannels / 4));
  const outputs = usable.map((f) => ctx.device.createBuffer({
    label: `conv-backward bench dx (${name}, ${formName(f)})`, size: inCount * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
  }));
  const dispatches = usable.map((f, i) => conv2dBackwardDispatch(ctx, s, { gradOutput, weightsTransposed, gradInput: outputs[i] },
    `conv-backward bench ${name}, ${formName(f)}`, f));
  const names = usable.map(formName);
  if (baseline) {
    // The earlier shader's grid is that of one group per thread.
    const oneGroup = conv2dBackwardDispatch(ctx, s, { gradOutput, weightsTransposed, gradInput: outputs[0] }, 'grid', 1);
    const output = ctx.device.createBuffer({
      label: `conv-backward bench dx (${name}, ${baselineName})`, size: inCount * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    outputs.push(output);
    names.push(baselineName);
    dispatches.push(ctx.dispatch(`conv-backward bench ${name}, ${baselineName}`, baseline, {
      constants: { KSIZE: s.kernel, STRIDE: s.stride, WG: 64 },
      params: {
        inChannels: s.inChannels, inHeight: s.inHeight, inWidth: s.inWidth, outChannels: s.outChannels,
        outHeight: oh, outWidth: ow, padding: s.padding, add: 0, mask: 0,
      },
      buffers: [gradOutput, weightsTransposed, ctx.placeholder, ctx.placeholder, output],
      workgroups: oneGroup.workgroups,
    }));
  }
  const samples: number[][] = names.map(() => []);
  for (let round = 0; round < warmups + rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const start = performance.now();
      ctx.run([dispatches[i]]);
      await ctx.finish();
      if (round >= warmups) samples[i].push(performance.now() - start);
    }
  }
  const read = await ctx.readback(outputs.map((buffer) => ({ buffer, byteLength: inCount * 4 })));
  const identical = read.map((o) => o.every((v, i) => Object.is(v, read[0][i])));
  results.push({
    name, shape: s, chosen: formName(conv2dBackwardChannelGroups(ctx, s)),
    forms: names.map((form, i) => ({ form, medianMs: median(samples[i]), samples: samples[i], identicalToFirst: identical[i] })),
  });
  [gradOutput, weightsTransposed, ...outputs].forEach((b) => b.destroy());
  process.stderr.write(`[conv-backward] ${name}: ${names.map((f, i) => `${f} ${median(samples[i]).toFixed(1)} ms`).join(', ')}\n`);
}
console.log(JSON.stringify({ adapterLine: adapterLine(ctx), batch, rounds, warmups, forms: [...groupCounts.map(formName), ...(baseline ? [baselineName] : [])], loadavgBefore: loadBefore, loadavgAfter: loadavg()[0], results }));
ctx.destroy();
