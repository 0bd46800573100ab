// GPU time per dispatch from timestamp queries: each dispatch in its own compute pass with
// timestampWrites (a profiling run only; timed runs keep one pass for the whole forward). Used by
// the benchmark's per-kernel profile (engine-adapter.ts) and bench/fv-profile.ts.

/** What a dispatch needs to be replayed: the engine's Dispatch has these fields. */
export interface ProfiledDispatch {
  label: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  workgroups: [number, number, number];
}

/** Runs `dispatches` once, in order, and returns the GPU milliseconds of each (the device needs 'timestamp-query'). */
export async function profileDispatches(device: GPUDevice, dispatches: readonly ProfiledDispatch[], label = 'bench profile'): Promise<number[]> {
  const n = dispatches.length;
  const querySet = device.createQuerySet({ label: `${label} timestamps`, type: 'timestamp', count: 2 * n });
  const resolve = device.createBuffer({ label: `${label} resolve`, size: 16 * n, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const staging = device.createBuffer({ label: `${label} staging`, size: 16 * n, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const encoder = device.createCommandEncoder({ label: `${label} encoder` });
    dispatches.forEach((d, i) => {
      const pass = encoder.beginComputePass({
        label: `profile ${d.label}`,
        timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
      });
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(...d.workgroups);
      pass.end();
    });
    encoder.resolveQuerySet(querySet, 0, 2 * n, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, staging, 0, 16 * n);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const stamps = new BigUint64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    return dispatches.map((_, i) => (stamps[2 * i + 1] > stamps[2 * i] ? Number(stamps[2 * i + 1] - stamps[2 * i]) / 1e6 : 0));
  } finally {
    querySet.destroy();
    resolve.destroy();
    staging.destroy();
  }
}
