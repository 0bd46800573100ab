// Running the hand-written ONNX model (onnx-resnet.ts) with ONNX Runtime Web: the WebGPU EP (the
// peer) or the wasm EP (a CPU reference row). The `ort` namespace is passed in, configured by the
// caller for its environment (browser: wasmPaths; Node: wasmBinary and numThreads = 1).

import type * as ortTypes from 'onnxruntime-web';

type Ort = typeof ortTypes;

export interface OrtPeer {
  predict(input: { shape: number[]; data: Float32Array }): Promise<Float32Array>;
  dispose(): Promise<void>;
}

export async function createOrtPeer(ort: Ort, model: Uint8Array, ep: 'webgpu' | 'wasm'): Promise<OrtPeer> {
  const session = await ort.InferenceSession.create(model, {
    executionProviders: [ep],
    graphOptimizationLevel: 'all',
    // Outputs come back to the CPU (the default), so a run includes the readback, as for the others.
  });
  return {
    async predict(input) {
      const feeds = { input: new ort.Tensor('float32', input.data, input.shape) };
      const out = await session.run(feeds);
      const logits = out.logits;
      const data = (await logits.getData()) as Float32Array;
      logits.dispose();
      return data;
    },
    dispose: () => session.release(),
  };
}
