// Page script of `bench/head-to-head.mjs --browser`: the head-to-head's rounds (bench/core/head-to-head.ts,
// ours against ONNX Runtime's wasm engine, interleaved) in a page, on the page's adapter at the
// feature level the Node side asks for (lavapipe: compatibility mode), ORT with its two wasm threads.

import { type HeadToHeadOptions, type HeadToHeadRun, runHeadToHead } from '../core/head-to-head';
import { browserSuiteEnv } from './env';

declare global {
  interface Window {
    headToHead(options: HeadToHeadOptions & { featureLevel: 'core' | 'compatibility' }):
      Promise<HeadToHeadRun & { userAgent: string; cores: number }>;
  }
}

window.headToHead = async ({ featureLevel, ...options }) => {
  const env = browserSuiteEnv(featureLevel, (line) => console.log(`[head-to-head] ${line}`));
  const run = await runHeadToHead(env, options);
  return { ...run, userAgent: env.userAgent, cores: env.cores };
};
