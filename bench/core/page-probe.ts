// The Node side of a benchmark page probe (core/page-probe.mjs builds and runs it): headless
// Chromium on the adapter (lavapipe in compatibility mode, SwiftShader in core), the probe's page
// /bench/.build/NAME.html opened, its window function called with the options and the feature
// level, and what it returns, with the browser and the load average around it.

import { loadavg } from 'node:os';
import { lavapipeIcd, withBrowserPage, type BrowserAdapter } from '../../test/helpers/browser';

export interface ProbeRun<R> {
  browser: string;
  loadBefore: number;
  loadAfter: number;
  result: R;
}

/** Calls `window[fn]({ featureLevel, ...options })` in page `name` on `adapter`. */
export async function inProbePage<R>(adapter: BrowserAdapter, name: string, fn: string, options: Record<string, unknown>): Promise<ProbeRun<R>> {
  const loadBefore = loadavg()[0];
  const result = await withBrowserPage({ adapter }, async (session) => {
    await session.page.goto(session.url(`/bench/.build/${name}.html`));
    await session.page.waitForFunction(`typeof window.${fn} === "function"`);
    const featureLevel = adapter === 'lavapipe' ? 'compatibility' : 'core';
    return session.page.evaluate((f, o) => (window as unknown as Record<string, (o: unknown) => Promise<unknown>>)[f](o), fn, { featureLevel, ...options });
  });
  return {
    browser: adapter === 'lavapipe' ? `compatibility mode, Vulkan loader given ${lavapipeIcd()}` : 'core, SwiftShader',
    loadBefore, loadAfter: loadavg()[0], result: result as R,
  };
}
