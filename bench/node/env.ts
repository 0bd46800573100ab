// The Node benchmark's environment (bench/node/main.ts, bench/node/head-to-head.ts): Dawn's GPU for
// one adapter, exposed as navigator.gpu for the peers, and the peers' loaders (tfjs-webgpu, ONNX
// Runtime Web with its wasm binary read from disk and one thread, as Node allows).

import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as tfc from '@tensorflow/tfjs-core';
import type * as ortTypes from 'onnxruntime-web';
import type { SuiteEnv } from '../core/suite';
import { loadTfjsWebgpu } from '../peers/tfjs-webgpu';
import { type AdapterChoice, resolveNodeGpu } from '../../src/gpu/node';

/**
 * Dawn's Node binding segfaults when queue.writeBuffer gets a view on a SharedArrayBuffer (and
 * rejects a raw one); ONNX Runtime's wasm heap is one. Copy such sources into an ordinary buffer
 * first. Only views on shared memory are copied, so tfjs and our engine are unaffected.
 */
function guardSharedMemoryWrites(): void {
  const Queue = (globalThis as { GPUQueue?: { prototype: GPUQueue } }).GPUQueue;
  if (!Queue || (Queue.prototype as { __sabGuard?: boolean }).__sabGuard) return;
  const original = Queue.prototype.writeBuffer;
  Queue.prototype.writeBuffer = function writeBuffer(this: GPUQueue, buffer: GPUBuffer, offset: number,
    data: BufferSource | SharedArrayBuffer, dataOffset?: number, size?: number) {
    let src = data as ArrayBufferView | ArrayBuffer | SharedArrayBuffer;
    if (typeof SharedArrayBuffer !== 'undefined') {
      if (src instanceof SharedArrayBuffer) src = new Uint8Array(src).slice().buffer;
      else if (ArrayBuffer.isView(src) && src.buffer instanceof SharedArrayBuffer) {
        src = (src as unknown as { slice(): ArrayBufferView }).slice();
      }
    }
    return original.call(this, buffer, offset, src as BufferSource, dataOffset, size);
  } as GPUQueue['writeBuffer'];
  (Queue.prototype as { __sabGuard?: boolean }).__sabGuard = true;
}

/** The suite's environment in Node for `adapter` (progress lines go through `log`). */
export async function nodeSuiteEnv(adapter: AdapterChoice, root: string, log: (line: string) => void): Promise<SuiteEnv> {
  const require = createRequire(join(root, 'package.json'));
  // Dawn's navigator.gpu, resolved as the CLI resolves --adapter (src/gpu/node.ts): the peers need
  // the GPU object itself.
  const { gpu, origin: adapterOrigin } = await resolveNodeGpu(adapter);
  // tfjs-backend-webgpu looks for navigator.gpu when it is imported.
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (!nav) (globalThis as { navigator?: unknown }).navigator = { gpu };
  else if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });

  let tf: Promise<typeof tfc> | null = null;
  let ort: Promise<typeof ortTypes> | null = null;
  return {
    kind: 'node',
    gpu,
    featureLevel: 'core',
    loadTf() {
      tf ??= loadTfjsWebgpu();
      return tf;
    },
    loadOrt() {
      ort ??= (async () => {
        const mod = (await import('onnxruntime-web/webgpu')) as typeof ortTypes & { default?: typeof ortTypes };
        const o = (mod.InferenceSession ? mod : mod.default) as typeof ortTypes;
        guardSharedMemoryWrites();
        // Node: no Worker for the threaded path, and fetch() cannot read file:// URLs.
        o.env.wasm.numThreads = 1;
        o.env.wasm.wasmBinary = readFileSync(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm'));
        o.env.logLevel = 'warning';
        return o;
      })();
      return ort;
    },
    async readFile(path: string) {
      return new Uint8Array(readFileSync(join(root, path)));
    },
    log,
    cores: cpus().length,
    userAgent: `Node ${process.version}; webgpu (Dawn) ${require('webgpu/package.json').version}; adapter choice ${adapter}, from ${adapterOrigin}`,
  };
}
