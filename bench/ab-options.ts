// Node side of bench/ab-options.mjs: opens headless Chromium on the adapter (lavapipe in
// compatibility mode, SwiftShader in core), runs bench/page/ab-options.ts there with the two option
// sets, and prints one JSON line. Bundled and run by bench/ab-options.mjs.

import { loadavg } from 'node:os';
import { lavapipeIcd, withBrowserPage, type BrowserAdapter } from '../test/helpers/browser';
import { option } from './core/args';

const adapter = option('adapter', 'lavapipe') as BrowserAdapter;
const rounds = Number(option('rounds', '30'));
const warmups = Number(option('warmups', '5'));
const a = JSON.parse(option('a', '{}')) as Record<string, unknown>;
const b = JSON.parse(option('b', '{}')) as Record<string, unknown>;

const loadBefore = loadavg()[0];
const result = await withBrowserPage({ adapter }, async (session) => {
  await session.page.goto(session.url('/bench/.build/ab-options.html'));
  await session.page.waitForFunction('typeof window.abOptions === "function"');
  const featureLevel = adapter === 'lavapipe' ? 'compatibility' : 'core';
  return session.page.evaluate((o) => window.abOptions(o), { featureLevel, a, b, rounds, warmups } as const);
});
console.log(JSON.stringify({
  ...result, browser: adapter === 'lavapipe' ? `compatibility mode, Vulkan loader given ${lavapipeIcd()}` : 'core, SwiftShader',
  options: { a, b }, rounds, warmups, loadBefore, loadAfter: loadavg()[0],
}));
process.exit(0);
