// tfjs with its WebGPU backend, initialised: what the page and Node environments of the benchmark
// (bench/page/main.ts, bench/node/env.ts) load as the tfjs peer, on whatever navigator.gpu they set.

import type * as tfc from '@tensorflow/tfjs-core';

export async function loadTfjsWebgpu(): Promise<typeof tfc> {
  const core = (await import('@tensorflow/tfjs-core')) as typeof tfc;
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await core.setBackend('webgpu'))) throw new Error('tfjs: the webgpu backend failed to initialise');
  await core.ready();
  return core;
}
