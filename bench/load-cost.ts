// What a load costs an adapter, against a multiply-add: bench/kernels/load-probe.wgsl's entry points
// timed on one adapter, interleaved round by round (a machine whose speed drifts moves them alike).
// Bundled and run by bench/load-cost.mjs (options there). Prints one JSON line: per probe the
// median ms of a dispatch and the ns per load (or per vec4 multiply-add) per invocation.
import { loadavg } from 'node:os';
import probeSource from './kernels/load-probe.wgsl';
import { adapterLine, createNodeContext, type AdapterChoice } from '../src/gpu/node';
import { option } from './core/args';
import { median } from './core/stats';

const adapter = option('adapter', 'lavapipe') as AdapterChoice;
const rounds = Number(option('rounds', '7'));
const warmups = Number(option('warmups', '2'));
const LOOP = 4096;
const WORKGROUPS = 128;
const INVOCATIONS = WORKGROUPS * 64;

const ctx = await createNodeContext(adapter);
const { device } = ctx;
const module = device.createShaderModule({ label: 'load-probe', code: probeSource });
const elements = 4 * LOOP + 64 * 16;
const scalars = device.createBuffer({ label: 'load-probe scalars', size: elements * 4, usage: GPUBufferUsage.STORAGE });
const vectors = device.createBuffer({ label: 'load-probe vectors', size: elements * 16, usage: GPUBufferUsage.STORAGE });
const table = device.createBuffer({ label: 'load-probe table', size: 1024 * 16, usage: GPUBufferUsage.UNIFORM });
const sums = device.createBuffer({ label: 'load-probe sums', size: INVOCATIONS * 16, usage: GPUBufferUsage.STORAGE });
const TEXTURE_WIDTH = 1024;
const texels = device.createTexture({
  label: 'load-probe texels', size: [TEXTURE_WIDTH, Math.ceil(elements / TEXTURE_WIDTH)], format: 'rgba32float', usage: GPUTextureUsage.TEXTURE_BINDING,
});
const layout = device.createBindGroupLayout({
  label: 'load-probe layout',
  entries: [
    { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } },
    { binding: 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } },
    { binding: 2, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } },
    { binding: 3, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'storage' } },
    { binding: 4, visibility: GPUShaderStage.COMPUTE, texture: { sampleType: 'unfilterable-float' } },
  ],
});
const bindGroup = device.createBindGroup({
  label: 'load-probe bindings', layout,
  entries: [
    ...[scalars, vectors, table, sums].map((buffer, binding) => ({ binding, resource: { buffer } })),
    { binding: 4, resource: texels.createView({ label: 'load-probe texels view' }) },
  ],
});
const pipelineLayout = device.createPipelineLayout({ label: 'load-probe pipeline layout', bindGroupLayouts: [layout] });

interface Probe { name: string; entryPoint: string; indexMode: number; what: 'load' | 'fma'; perIteration: number }
const probes: Probe[] = [
  { name: 'storage f32, per-invocation index', entryPoint: 'scalarLoads', indexMode: 1, what: 'load', perIteration: 4 },
  { name: 'storage f32, workgroup-uniform index', entryPoint: 'scalarLoads', indexMode: 0, what: 'load', perIteration: 4 },
  { name: 'storage vec4, per-invocation index', entryPoint: 'vec4Loads', indexMode: 1, what: 'load', perIteration: 4 },
  { name: 'storage vec4, workgroup-uniform index', entryPoint: 'vec4Loads', indexMode: 0, what: 'load', perIteration: 4 },
  { name: 'uniform buffer vec4, per-invocation index', entryPoint: 'uniformLoads', indexMode: 1, what: 'load', perIteration: 4 },
  { name: 'uniform buffer vec4, workgroup-uniform index', entryPoint: 'uniformLoads', indexMode: 0, what: 'load', perIteration: 4 },
  { name: 'workgroup memory vec4, per-invocation index', entryPoint: 'workgroupLoads', indexMode: 1, what: 'load', perIteration: 4 },
  { name: 'workgroup memory vec4, workgroup-uniform index', entryPoint: 'workgroupLoads', indexMode: 0, what: 'load', perIteration: 4 },
  { name: 'texture rgba32float texel, per-invocation index', entryPoint: 'textureLoads', indexMode: 1, what: 'load', perIteration: 4 },
  { name: 'texture rgba32float texel, workgroup-uniform index', entryPoint: 'textureLoads', indexMode: 0, what: 'load', perIteration: 4 },
  { name: 'vec4 multiply-add, no loads', entryPoint: 'fmaOnly', indexMode: 0, what: 'fma', perIteration: 16 },
];

const pipelines = await Promise.all(probes.map((p) => device.createComputePipelineAsync({
  label: `load-probe ${p.entryPoint} index mode ${p.indexMode}`, layout: pipelineLayout,
  compute: { module, entryPoint: p.entryPoint, constants: { INDEX_MODE: p.indexMode, LOOP, TEXTURE_WIDTH } },
})));

async function run(i: number): Promise<number> {
  const encoder = device.createCommandEncoder({ label: `load-probe ${probes[i].name}` });
  const pass = encoder.beginComputePass({ label: `load-probe ${probes[i].name}` });
  pass.setPipeline(pipelines[i]);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(WORKGROUPS);
  pass.end();
  const t = performance.now();
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
  return performance.now() - t;
}

const load0 = loadavg()[0];
const samples = probes.map(() => [] as number[]);
for (let r = 0; r < warmups + rounds; r++) {
  // Rotate the order each round so no probe always runs first.
  for (let k = 0; k < probes.length; k++) {
    const i = (k + r) % probes.length;
    const ms = await run(i);
    if (r >= warmups) samples[i].push(ms);
  }
}
const results = probes.map((p, i) => {
  const ms = median(samples[i]);
  const count = INVOCATIONS * LOOP * p.perIteration;
  return { ...p, medianMs: ms, nsPerOpPerInvocation: (ms * 1e6) / count, samples: samples[i] };
});
process.stdout.write(`${JSON.stringify({
  adapter: ctx.adapter, adapterLine: adapterLine(ctx), loop: LOOP, workgroups: WORKGROUPS, rounds, warmups,
  loadavgBefore: load0, loadavgAfter: loadavg()[0], results,
})}\n`);
process.exit(0);
