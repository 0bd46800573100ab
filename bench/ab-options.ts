// Node side of bench/ab-options.mjs: opens headless Chromium on the adapter (lavapipe in
// compatibility mode, SwiftShader in core), runs bench/page/ab-options.ts there with the two option
// sets, and prints one JSON line. Bundled and run by bench/ab-options.mjs.

import type { BrowserAdapter } from '../test/helpers/browser';
import { option } from './core/args';
import { inProbePage } from './core/page-probe';
import type { AbOptionsResult } from './page/ab-options';

const adapter = option('adapter', 'lavapipe') as BrowserAdapter;
const rounds = Number(option('rounds', '30'));
const warmups = Number(option('warmups', '5'));
const a = JSON.parse(option('a', '{}')) as Record<string, unknown>;
const b = JSON.parse(option('b', '{}')) as Record<string, unknown>;

const { browser, loadBefore, loadAfter, result } = await inProbePage<AbOptionsResult>(adapter, 'ab-options', 'abOptions', { a, b, rounds, warmups });
console.log(JSON.stringify({ ...result, browser, options: { a, b }, rounds, warmups, loadBefore, loadAfter }));
process.exit(0);
