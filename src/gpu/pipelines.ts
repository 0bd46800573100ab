// Pipeline cache: one compute pipeline per (shader, entry point, override constants), created once
// per device and reused by every plan. Keys are explicit strings, as tfjs-backend-webgpu does.

export class PipelineCache {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly modules = new Map<string, GPUShaderModule>();
  /** Milliseconds spent creating pipelines (reported separately by the benchmark). */
  creationMs = 0;

  constructor(private readonly device: GPUDevice) {}

  get(label: string, code: string, constants: Record<string, number> = {}, entryPoint = 'main'): GPUComputePipeline {
    const constantKey = Object.keys(constants).sort().map((k) => `${k}=${constants[k]}`).join(',');
    const key = `${label}|${entryPoint}|${constantKey}`;
    let pipeline = this.pipelines.get(key);
    if (pipeline) return pipeline;
    const start = performance.now();
    let module = this.modules.get(label);
    if (!module) {
      module = this.device.createShaderModule({ label: `${label} shader`, code });
      this.modules.set(label, module);
    }
    pipeline = this.device.createComputePipeline({
      label: `${label} pipeline${constantKey ? ` (${constantKey})` : ''}`,
      layout: 'auto',
      compute: { module, entryPoint, constants },
    });
    this.creationMs += performance.now() - start;
    this.pipelines.set(key, pipeline);
    return pipeline;
  }

  get size(): number {
    return this.pipelines.size;
  }
}
