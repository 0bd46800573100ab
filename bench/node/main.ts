// The Node side of the benchmark (bundled to bench/.build/node-bench.mjs): WebGPU from Dawn (npm
// `webgpu`), one adapter per process (the Vulkan loader reads VK_ICD_FILENAMES once).
//   node bench/.build/node-bench.mjs --adapter lavapipe|swiftshader|default --steps steps.json --out results.json
// Reads a JSON array of steps, runs them in order, writes a JSON array of results (one per step, as
// soon as each finishes, so a crash keeps what was measured). Progress goes to stderr.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as tfc from '@tensorflow/tfjs-core';
import type * as ortTypes from 'onnxruntime-web';
import { type Step, type SuiteEnv, runStep } from '../core/suite';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && process.argv[i + 1]) return process.argv[i + 1];
  if (fallback !== undefined) return fallback;
  throw new Error(`missing --${name}`);
}

type AdapterChoice = 'swiftshader' | 'lavapipe' | 'default';
const adapter = arg('adapter', 'default') as AdapterChoice;
const steps = JSON.parse(readFileSync(arg('steps'), 'utf8')) as Step[];
const outPath = arg('out');
const root = process.cwd();
const require = createRequire(join(root, 'package.json'));

const ICDS: Record<'swiftshader' | 'lavapipe', string[]> = {
  swiftshader: ['/usr/lib/chromium/vk_swiftshader_icd.json', '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
    '/opt/google/chrome/vk_swiftshader_icd.json'],
  lavapipe: ['/usr/share/vulkan/icd.d/lvp_icd.json', '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json',
    '/usr/share/vulkan/icd.d/lvp_icd.aarch64.json'],
};

/**
 * Dawn's navigator.gpu with the Vulkan loader pointed at one driver ('default': whatever the
 * environment names, e.g. VK_DRIVER_FILES=.../nvidia_icd.json, or the loader finds). Done here
 * rather than through src/gpu/node.ts because the peers need the GPU object itself.
 */
function dawnGpu(choice: AdapterChoice): GPU {
  if (choice !== 'default') {
    const icd = ICDS[choice].find((p) => existsSync(p));
    if (!icd) throw new Error(`${choice}: no Vulkan ICD file found (${ICDS[choice].join(', ')})`);
    process.env.VK_ICD_FILENAMES = icd;
    delete process.env.VK_DRIVER_FILES;
  }
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const dawn = require('webgpu') as { create(flags: string[]): GPU; globals: Record<string, unknown> };
  Object.assign(globalThis, dawn.globals);
  return dawn.create([]);
}

const gpu = dawnGpu(adapter);
// tfjs-backend-webgpu looks for navigator.gpu when it is imported.
const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
if (!nav) (globalThis as { navigator?: unknown }).navigator = { gpu };
else if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

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

let tf: Promise<typeof tfc> | null = null;
let ort: Promise<typeof ortTypes> | null = null;

const env: SuiteEnv = {
  kind: 'node',
  gpu,
  featureLevel: 'core',
  loadTf() {
    tf ??= (async () => {
      const core = (await import('@tensorflow/tfjs-core')) as typeof tfc;
      await import('@tensorflow/tfjs-backend-webgpu');
      if (!(await core.setBackend('webgpu'))) throw new Error('tfjs: the webgpu backend failed to initialise');
      await core.ready();
      return core;
    })();
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
  userAgent: `Node ${process.version}; webgpu (Dawn) ${require('webgpu/package.json').version}; adapter choice ${adapter}`,
};

const results: unknown[] = [];
for (const step of steps) {
  try {
    results.push(await runStep(env, step));
  } catch (e) {
    results.push({ error: String((e as Error).stack ?? e) });
  }
  writeFileSync(outPath, JSON.stringify(results));
}
// Dawn keeps the process alive with its own threads; leave explicitly.
process.exit(0);
