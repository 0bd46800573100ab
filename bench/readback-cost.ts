// Node side of bench/readback-cost.mjs: opens headless Chromium on each adapter (lavapipe in
// compatibility mode, SwiftShader in core), runs bench/page/readback-cost.ts there, and prints one
// JSON line per adapter. Bundled and run by bench/readback-cost.mjs.

import type { BrowserAdapter } from '../test/helpers/browser';
import { option } from './core/args';
import { inProbePage } from './core/page-probe';
import type { ReadbackCostResult } from './page/readback-cost';

const adapters = option('adapters', 'lavapipe,swiftshader').split(',') as BrowserAdapter[];
const rounds = Number(option('rounds', '20'));
const warmups = Number(option('warmups', '3'));

for (const adapter of adapters) {
  const { browser, loadBefore, loadAfter, result } = await inProbePage<ReadbackCostResult>(adapter, 'readback-cost', 'readbackCost', { rounds, warmups });
  console.log(JSON.stringify({ adapter, browser, rounds, warmups, loadBefore, loadAfter, ...result }));
}
process.exit(0);
