// The ceiling: our best dense matmul on the same adapter, in GFLOP/s. Two kernels
// (bench/kernels/matmul-4x4.wgsl and matmul-8x8.wgsl: 4x4 and 8x8 register blocks, vec4 loads) x a
// few workgroup shapes are probed briefly; the fastest is timed in full. Each sample is `repeats`
// dispatches in one compute pass and one submission, waited for with onSubmittedWorkDone.

import matmul4x4Wgsl from './kernels/matmul-4x4.wgsl';
import matmul8x8Wgsl from './kernels/matmul-8x8.wgsl';
import { type Timing, type TimingPlan, timeRuns } from './core/stats';
import { mulberry32 } from '../src/util/random';

export interface MatmulResult {
  size: number;
  /** The kernel timed in full: 'matmul-4x4' or 'matmul-8x8'. */
  kernel: string;
  workgroup: [number, number];
  repeatsPerSample: number;
  /** ms per matmul */
  timing: Timing;
  gflops: { median: number; best: number };
  probes: { kernel: string; workgroup: [number, number]; ms: number; gflops: number }[];
  /** max |C - C_ref| / max |C_ref| over 64 sampled entries (float64 reference). */
  checkRelError: number;
}

const KERNELS = [
  { name: 'matmul-4x4', code: matmul4x4Wgsl, block: 4 },
  { name: 'matmul-8x8', code: matmul8x8Wgsl, block: 8 },
];
const WORKGROUPS: [number, number][] = [[8, 8], [16, 16], [16, 4], [4, 16]];

export async function benchMatmul(device: GPUDevice, size: number, plan: TimingPlan,
  log: (s: string) => void = () => {}): Promise<MatmulResult> {
  const n = size;
  const rng = mulberry32(99);
  const A = new Float32Array(n * n).map(() => rng() * 2 - 1);
  const B = new Float32Array(n * n).map(() => rng() * 2 - 1);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  const mk = (label: string, data: Float32Array | null, extra = 0) => {
    const buf = device.createBuffer({ label, size: n * n * 4, usage: usage | extra });
    if (data) device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
    return buf;
  };
  const bufA = mk('matmul A', A);
  const bufB = mk('matmul B', B);
  const bufC = mk('matmul C', null, GPUBufferUsage.COPY_SRC);
  const dims = device.createBuffer({ label: 'matmul dims', size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(dims, 0, new Uint32Array([n, n, n, 0]));
  const modules = new Map(KERNELS.map((k) => [k.name, device.createShaderModule({ label: `${k.name} shader`, code: k.code })]));

  const setup = (kernel: (typeof KERNELS)[number], wg: [number, number]) => {
    const pipeline = device.createComputePipeline({
      label: `${kernel.name} pipeline (${wg[0]}x${wg[1]})`,
      layout: 'auto',
      compute: { module: modules.get(kernel.name)!, entryPoint: 'main', constants: { WG_X: wg[0], WG_Y: wg[1] } },
    });
    const bindGroup = device.createBindGroup({
      label: 'matmul bind group',
      layout: pipeline.getBindGroupLayout(0),
      entries: [bufA, bufB, bufC, dims].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const grid: [number, number] = [Math.ceil(n / kernel.block / wg[0]), Math.ceil(n / kernel.block / wg[1])];
    return async (repeats: number) => {
      const encoder = device.createCommandEncoder({ label: 'matmul encoder' });
      const pass = encoder.beginComputePass({ label: 'matmul pass' });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      for (let r = 0; r < repeats; r++) pass.dispatchWorkgroups(grid[0], grid[1]);
      pass.end();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
    };
  };

  const flop = 2 * n * n * n;
  const probes: MatmulResult['probes'] = [];
  let best: { kernel: (typeof KERNELS)[number]; wg: [number, number]; ms: number } | null = null;
  for (const kernel of KERNELS) for (const wg of WORKGROUPS) {
    if (wg[0] * wg[1] > device.limits.maxComputeInvocationsPerWorkgroup) continue;
    const run = setup(kernel, wg);
    await run(1); // compile + first use
    let ms = Infinity;
    for (let i = 0; i < 2; i++) {
      const t0 = performance.now();
      await run(1);
      ms = Math.min(ms, performance.now() - t0);
    }
    probes.push({ kernel: kernel.name, workgroup: wg, ms, gflops: flop / ms / 1e6 });
    log(`${kernel.name} ${n}^3 workgroup ${wg[0]}x${wg[1]}: ${ms.toFixed(1)} ms, ${(flop / ms / 1e6).toFixed(2)} GFLOP/s`);
    if (!best || ms < best.ms) best = { kernel, wg, ms };
  }
  if (!best) throw new Error('no matmul workgroup shape fits this device');
  // Enough dispatches per sample that a sample lasts >= ~50 ms (submission overhead amortised).
  const repeats = Math.max(1, Math.min(64, Math.ceil(50 / Math.max(best.ms, 0.01))));
  const run = setup(best.kernel, best.wg);
  const raw = await timeRuns(() => run(repeats), plan, `${best.kernel.name} ${n}^3 ${best.wg.join('x')} x${repeats}`, log);
  const timing: Timing = {
    ...raw,
    samples: raw.samples.map((s) => s / repeats),
    median: raw.median / repeats, min: raw.min / repeats, max: raw.max / repeats, mean: raw.mean / repeats,
  };

  // Check 64 entries of C against a float64 dot product.
  const staging = device.createBuffer({ label: 'matmul readback', size: n * n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(bufC, 0, staging, 0, n * n * 4);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const C = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  let worst = 0;
  let scale = 0;
  for (let s = 0; s < 64; s++) {
    const i = Math.floor(rng() * n);
    const j = Math.floor(rng() * n);
    let ref = 0;
    for (let k = 0; k < n; k++) ref += A[i * n + k] * B[k * n + j];
    worst = Math.max(worst, Math.abs(C[i * n + j] - ref));
    scale = Math.max(scale, Math.abs(ref));
  }
  for (const b of [bufA, bufB, bufC, dims, staging]) b.destroy();
  return {
    size: n,
    kernel: best.kernel.name,
    workgroup: best.wg,
    repeatsPerSample: repeats,
    timing,
    gflops: { median: flop / timing.median / 1e6, best: flop / timing.min / 1e6 },
    probes,
    checkRelError: worst / Math.max(scale, 1e-30),
  };
}
