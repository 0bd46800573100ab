// The benchmark page (bundled to bench/.build/page.js, served from 127.0.0.1 by the runner). It
// exposes window.bench.runStep(step): the runner drives it step by step through puppeteer.
// ONNX Runtime is not bundled: its own ESM build is imported from node_modules at run time, with
// its wasm files next to it (wasmPaths).

import type * as tfc from '@tensorflow/tfjs-core';
import type * as ortTypes from 'onnxruntime-web';
import { type Step, type SuiteEnv, runStep } from '../core/suite';
import { loadTfjsWebgpu } from '../peers/tfjs-webgpu';

const params = new URLSearchParams(location.search);
const featureLevel = params.get('featureLevel') === 'compatibility' ? 'compatibility' : 'core';
const ORT_DIR = '/node_modules/onnxruntime-web/dist/';

// In compatibility mode every adapter request of the page, the peers' included, must ask for the
// compatibility adapter: a plain core request in this browser gets SwiftShader (the fallback adapter)
// instead of lavapipe, and tfjs and ORT would then be measured on another adapter than ours.
if (featureLevel === 'compatibility' && typeof GPU !== 'undefined') {
  const original = GPU.prototype.requestAdapter;
  GPU.prototype.requestAdapter = function requestAdapter(this: GPU, options?: GPURequestAdapterOptions) {
    return original.call(this, { ...options, featureLevel: 'compatibility' } as GPURequestAdapterOptions);
  };
}

const logEl = document.getElementById('log');
function log(line: string): void {
  console.log(`[bench] ${line}`);
  if (logEl) logEl.textContent += `${line}\n`;
}

let tf: Promise<typeof tfc> | null = null;
let ort: Promise<typeof ortTypes> | null = null;

const env: SuiteEnv = {
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

declare global {
  interface Window {
    bench: { runStep(step: Step): Promise<unknown>; ready: boolean };
  }
}

window.bench = { runStep: (step: Step) => runStep(env, step), ready: true };
log(`ready (featureLevel ${featureLevel}, crossOriginIsolated ${self.crossOriginIsolated})`);
