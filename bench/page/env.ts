// The benchmark's environment in a page (bench/page/main.ts, bench/page/head-to-head.ts): the page's
// navigator.gpu, and the peers' loaders (tfjs-webgpu bundled; ONNX Runtime's own ESM build imported
// from node_modules at run time, with its wasm files next to it, two threads where the page is
// cross-origin isolated).

import type * as tfc from '@tensorflow/tfjs-core';
import type * as ortTypes from 'onnxruntime-web';
import type { SuiteEnv } from '../core/suite';
import { loadTfjsWebgpu } from '../peers/tfjs-webgpu';

const ORT_DIR = '/node_modules/onnxruntime-web/dist/';

/** The suite's environment in this page at `featureLevel`; progress lines go through `log`. */
export function browserSuiteEnv(featureLevel: 'core' | 'compatibility', log: (line: string) => void): SuiteEnv {
  // In compatibility mode every adapter request of the page, the peers' included, must ask for the
  // compatibility adapter: a plain core request in this browser gets SwiftShader (the fallback
  // adapter) instead of lavapipe, and tfjs and ORT would then be measured on another adapter than ours.
  if (featureLevel === 'compatibility' && typeof GPU !== 'undefined') {
    const original = GPU.prototype.requestAdapter;
    GPU.prototype.requestAdapter = function requestAdapter(this: GPU, options?: GPURequestAdapterOptions) {
      return original.call(this, { ...options, featureLevel: 'compatibility' } as GPURequestAdapterOptions);
    };
  }
  let tf: Promise<typeof tfc> | null = null;
  let ort: Promise<typeof ortTypes> | null = null;
  return {
    kind: 'browser',
    get gpu(): GPU {
      const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
      if (!gpu) throw new Error('navigator.gpu is missing (start Chromium with --enable-unsafe-webgpu)');
      return gpu;
    },
    featureLevel,
    loadTf() {
      tf ??= loadTfjsWebgpu();
      return tf;
    },
    loadOrt() {
      ort ??= (async () => {
        const url = `${ORT_DIR}ort.webgpu.min.mjs`;
        const mod = (await import(/* @vite-ignore */ url)) as typeof ortTypes & { default?: typeof ortTypes };
        const o = (mod.InferenceSession ? mod : mod.default) as typeof ortTypes;
        o.env.wasm.wasmPaths = ORT_DIR;
        o.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(2, navigator.hardwareConcurrency || 1) : 1;
        o.env.logLevel = 'warning';
        return o;
      })();
      return ort;
    },
    async readFile(path: string) {
      const res = await fetch(path.startsWith('/') ? path : `/${path}`);
      if (!res.ok) throw new Error(`fetch ${path}: ${res.status}`);
      return new Uint8Array(await res.arrayBuffer());
    },
    log,
    cores: navigator.hardwareConcurrency,
    userAgent: navigator.userAgent,
  };
}
