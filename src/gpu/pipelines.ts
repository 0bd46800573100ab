// Pipeline cache: one shader module per composed kernel source and one compute pipeline per
// (module, entry point, override constants), created once per device and reused by every plan.
// The keys are derived from what the GPU compiles, the code and the constants, as
// tfjs-backend-webgpu derives its shaderKey; labels only name things.

import type { Kernel } from './kernel';

export class PipelineCache {
  /** By the module's whole WGSL source, then by entry point and constants. */
  private readonly modules = new Map<string, { module: GPUShaderModule; pipelines: Map<string, GPUComputePipeline> }>();
  private count = 0;
  /** Milliseconds spent creating pipelines (reported separately by the benchmark). */
  creationMs = 0;

  constructor(private readonly device: GPUDevice) {}

  get(kernel: Kernel, constants: Record<string, number> = {}, entryPoint = 'main'): GPUComputePipeline {
    const constantKey = Object.keys(constants).sort().map((k) => `${k}=${constants[k]}`).join(',');
    const key = `${entryPoint}|${constantKey}`;
    let entry = this.modules.get(kernel.code);
    let pipeline = entry?.pipelines.get(key);
    if (pipeline) return pipeline;
    const start = performance.now();
    if (!entry) {
      entry = { module: this.device.createShaderModule({ label: `${kernel.label} shader`, code: kernel.code }), pipelines: new Map() };
      this.modules.set(kernel.code, entry);
    }
    pipeline = this.device.createComputePipeline({
      label: `${kernel.label} pipeline${constantKey ? ` (${constantKey})` : ''}`,
      layout: 'auto',
      compute: { module: entry.module, entryPoint, constants },
    });
    this.creationMs += performance.now() - start;
    entry.pipelines.set(key, pipeline);
    this.count++;
    return pipeline;
  }

  get size(): number {
    return this.count;
  }
}
