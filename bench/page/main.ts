// The benchmark page (bundled to bench/.build/page.js, served from 127.0.0.1 by the runner). It
// exposes window.bench.runStep(step): the runner drives it step by step through puppeteer. Its
// environment (the GPU, the peers' loaders) is bench/page/env.ts.

import { type Step, runStep } from '../core/suite';
import { browserSuiteEnv } from './env';

const params = new URLSearchParams(location.search);
const featureLevel = params.get('featureLevel') === 'compatibility' ? 'compatibility' : 'core';

const logEl = document.getElementById('log');
function log(line: string): void {
  console.log(`[bench] ${line}`);
  if (logEl) logEl.textContent += `${line}\n`;
}

const env = browserSuiteEnv(featureLevel, log);

declare global {
  interface Window {
    bench: { runStep(step: Step): Promise<unknown>; ready: boolean };
  }
}

window.bench = { runStep: (step: Step) => runStep(env, step), ready: true };
log(`ready (featureLevel ${featureLevel}, crossOriginIsolated ${self.crossOriginIsolated})`);
