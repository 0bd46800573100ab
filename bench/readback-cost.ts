// Node side of bench/readback-cost.mjs: opens headless Chromium on each adapter (lavapipe in
// compatibility mode, SwiftShader in core), runs bench/page/readback-cost.ts there, and prints one
// JSON line per adapter. Bundled and run by bench/readback-cost.mjs.

import { loadavg } from 'node:os';
import { lavapipeIcd, withBrowserPage, type BrowserAdapter } from '../test/helpers/browser';
import { option } from './core/args';

const adapters = option('adapters', 'lavapipe,swiftshader').split(',') as BrowserAdapter[];
const rounds = Number(option('rounds', '20'));
const warmups = Number(option('warmups', '3'));

for (const adapter of adapters) {
  const loadBefore = loadavg()[0];
  const result = await withBrowserPage({ adapter }, async (session) => {
    await session.page.goto(session.url('/bench/.build/readback-cost.html'));
    await session.page.waitForFunction('typeof window.readbackCost === "function"');
    const featureLevel = adapter === 'lavapipe' ? 'compatibility' : 'core';
    return session.page.evaluate((o) => window.readbackCost(o), { featureLevel, rounds, warmups } as const);
  });
  console.log(JSON.stringify({
    adapter, browser: adapter === 'lavapipe' ? `compatibility mode, Vulkan loader given ${lavapipeIcd()}` : 'core, SwiftShader',
    rounds, warmups, loadBefore, loadAfter: loadavg()[0], ...result,
  }));
}
process.exit(0);
