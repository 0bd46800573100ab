// Headless Chromium with WebGPU, for tests and benchmarks: a static file server on 127.0.0.1 (a
// secure context, unlike about:blank), Chromium driven by puppeteer-core, console errors collected,
// and everything closed again, with a timeout on every step so nothing hangs.
//
// Which Chromium: $CHROMIUM_PATH, else the system's (Debian's /usr/bin/chromium), else the headless
// Chromium shipped in the npm package @sparticuz/chromium (unpacked on first use by
// src/gpu/shipped-runtime-node.ts; WebGPU on the SwiftShader beside it). So a machine with Node and
// npm only runs the browser tests too.
//
// Adapters (measured on a 2-core machine without a GPU, Chromium 156, Mesa 25.0.7):
//   'swiftshader'  Chromium's own Vulkan CPU driver. Core WebGPU; adapter "swiftshader", fallback.
//   'lavapipe'     WebGPU compatibility mode on ANGLE over Vulkan, Vulkan being Mesa's lavapipe
//                  (`--use-angle=vulkan --use-webgpu-adapter=opengles`, the loader pointed at
//                  lvp_icd.json). The page must call requestAdapter({ featureLevel: 'compatibility' }).
//                  Storage bindings are capped at 128 MiB there.
//
// Usage:
//   const session = await openBrowserPage({ adapter: 'swiftshader' });
//   try { await session.page.goto(session.url('/bench/page/index.html')); ... } finally { await session.close(); }
// or withBrowserPage({ ... }, async (session) => { ... }), which closes in every case.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
// puppeteer-core is imported when a browser is launched, so Node-only users of this module (the
// benchmark on a GPU machine without Chromium) do not need it installed.
import type { Browser, Page } from 'puppeteer-core';
import { shippedChromium, shippedRuntimeUnavailable, shippedSource } from '../../src/gpu/shipped-runtime-node';

const SYSTEM_CHROMIUMS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome-stable', '/usr/bin/google-chrome'];

/** $CHROMIUM_PATH, else the system's Chromium, or null. */
export function systemChromium(): string | null {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  return SYSTEM_CHROMIUMS.find((p) => existsSync(p)) ?? null;
}

/** The Chromium to launch (system, else npm-shipped) with the environment it needs, and which it is. */
export async function resolveChromium(): Promise<{ executable: string; env: Record<string, string>; source: string }> {
  const system = systemChromium();
  if (system) return { executable: system, env: {}, source: system };
  const unavailable = shippedRuntimeUnavailable();
  if (unavailable) throw new Error(`no Chromium: none on this system (set CHROMIUM_PATH) and ${unavailable}`);
  const shipped = await shippedChromium();
  return { ...shipped, source: `the headless Chromium shipped in ${shippedSource()}` };
}

export const BASE_CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

/** Flags of WebGPU compatibility mode on ANGLE/Vulkan (OpenGL ES backend of Dawn). */
export const COMPAT_LAVAPIPE_ARGS = ['--use-angle=vulkan', '--use-webgpu-adapter=opengles'];

const LAVAPIPE_ICDS = [
  '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json',
  '/usr/share/vulkan/icd.d/lvp_icd.aarch64.json',
  '/usr/share/vulkan/icd.d/lvp_icd.json',
];

export type BrowserAdapter = 'swiftshader' | 'lavapipe';

/**
 * The lavapipe ICD file, or null when Mesa's Vulkan drivers are not installed.
 * RESNET_STREAM_LAVAPIPE_ICD names another one (a newer Mesa unpacked beside the system's:
 * bench/README.md, "A newer Mesa, nothing installed").
 */
export function lavapipeIcd(): string | null {
  const named = process.env.RESNET_STREAM_LAVAPIPE_ICD;
  if (named) return existsSync(named) ? named : null;
  return LAVAPIPE_ICDS.find((p) => existsSync(p)) ?? null;
}

/** Whether some Chromium can be launched (the system's or the npm-shipped one). */
export function chromiumAvailable(): boolean {
  return systemChromium() !== null || shippedRuntimeUnavailable() === null;
}

/** The skip reason of a browser test where no Chromium can be had, or null. */
export function noChromiumReason(): string | null {
  if (chromiumAvailable()) return null;
  const reason = `skipped: no Chromium (none on this system, and ${shippedRuntimeUnavailable()})`;
  console.log(reason);
  return reason;
}

// ---------------------------------------------------------------------------------------------
// Static file server

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.wgsl': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpeg': 'image/jpeg',
  '.jpg': 'image/jpeg',
  '.onnx': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.pth': 'application/octet-stream',
  '.safetensors': 'application/octet-stream',
};

export interface StaticServer {
  /** 'http://127.0.0.1:PORT' */
  origin: string;
  port: number;
  root: string;
  /** origin + path (path starts with '/'). */
  url(path: string): string;
  close(): Promise<void>;
}

export interface StaticServerOptions {
  /** Folder to serve; default: the repository root (two folders above this file). */
  root?: string;
  /**
   * Send COOP/COEP headers so the page is cross-origin isolated (SharedArrayBuffer, wasm threads:
   * ONNX Runtime's multi-threaded wasm EP needs it). Default true.
   */
  crossOriginIsolated?: boolean;
}

/** The repository root: the nearest folder above this module with package.json and node_modules. */
export function repoRoot(): string {
  return findRepoRoot();
}

/** Serve `root` on 127.0.0.1 on a free port. GET and HEAD only; no directory listings; no `..`. */
export async function startStaticServer(options: StaticServerOptions = {}): Promise<StaticServer> {
  const root = resolve(options.root ?? findRepoRoot());
  const isolated = options.crossOriginIsolated ?? true;
  const sockets = new Set<Socket>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(text);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed');
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return send(400, 'bad url');
    }
    if (pathname === '/favicon.ico') {
      res.writeHead(204);
      return res.end();
    }
    const file = normalize(join(root, pathname));
    if (file !== root && !file.startsWith(root + sep)) return send(403, 'forbidden');
    let target = file;
    try {
      if (statSync(target).isDirectory()) target = join(target, 'index.html');
      if (!statSync(target).isFile()) return send(404, 'not found');
    } catch {
      return send(404, `not found: ${pathname}`);
    }
    const headers: Record<string, string | number> = {
      'content-type': MIME[extname(target).toLowerCase()] ?? 'application/octet-stream',
      'content-length': statSync(target).size,
      'cache-control': 'no-store',
    };
    if (isolated) {
      headers['cross-origin-opener-policy'] = 'same-origin';
      headers['cross-origin-embedder-policy'] = 'require-corp';
      headers['cross-origin-resource-policy'] = 'same-origin';
    }
    res.writeHead(200, headers);
    if (req.method === 'HEAD') return res.end();
    const stream = createReadStream(target);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  let closed: Promise<void> | null = null;
  return {
    origin,
    port,
    root,
    url: (path: string) => origin + (path.startsWith('/') ? path : `/${path}`),
    close() {
      closed ??= new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
        setTimeout(ok, 2000).unref();
      });
      return closed;
    },
  };
}

function findRepoRoot(): string {
  // Walk up from this file (or from a bundle of it under bench/.build/) to the folder with package.json.
  let dir = resolve(new URL('.', import.meta.url).pathname);
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'node_modules'))) return dir;
    dir = resolve(dir, '..');
  }
  return process.cwd();
}

// ---------------------------------------------------------------------------------------------
// Chromium

export interface LaunchOptions {
  adapter?: BrowserAdapter;
  /** More command-line flags. */
  extraArgs?: string[];
  /** Extra environment for the browser process. */
  env?: Record<string, string | undefined>;
  /** Launch timeout; default 60 s. */
  launchTimeoutMs?: number;
  /** Longest a single DevTools call (page.evaluate...) may take; default 30 min (benchmarks). */
  protocolTimeoutMs?: number;
  /** Keep Chromium's stdout/stderr (debugging). */
  dumpio?: boolean;
}

export interface LaunchedBrowser {
  browser: Browser;
  adapter: BrowserAdapter;
  /** Which Chromium: its path, or the npm package it came from. */
  chromium: string;
  args: string[];
  userDataDir: string;
  close(): Promise<void>;
}

/**
 * Headless Chromium without WebGPU, for static pages opened from disk (the report, the channel site),
 * with its profile in `userDataDir`.
 */
export async function launchStaticBrowser(userDataDir: string): Promise<Browser> {
  const chromium = await resolveChromium();
  const { default: puppeteer } = await import('puppeteer-core');
  return puppeteer.launch({
    executablePath: chromium.executable,
    env: { ...process.env, ...chromium.env },
    headless: true,
    args: ['--no-sandbox', `--user-data-dir=${userDataDir}`, '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-gpu'],
  });
}

/** The flags and environment for an adapter; throws when the adapter is not installed. */
export function chromiumConfig(adapter: BrowserAdapter): { args: string[]; env: Record<string, string | undefined> } {
  if (adapter === 'swiftshader') {
    return { args: [...BASE_CHROMIUM_ARGS], env: {} };
  }
  const icd = lavapipeIcd();
  if (!icd) throw new Error('lavapipe not found: install mesa-vulkan-drivers (Mesa 25, bookworm-backports)');
  return {
    args: [...BASE_CHROMIUM_ARGS, ...COMPAT_LAVAPIPE_ARGS],
    env: { VK_ICD_FILENAMES: icd, VK_DRIVER_FILES: icd },
  };
}

export async function launchChromium(options: LaunchOptions = {}): Promise<LaunchedBrowser> {
  const chromium = await resolveChromium();
  const adapter = options.adapter ?? 'swiftshader';
  const config = chromiumConfig(adapter);
  const userDataDir = mkdtempSync(join(tmpdir(), 'resnet-stream-chromium-'));
  const args = [...config.args, `--user-data-dir=${userDataDir}`, ...(options.extraArgs ?? [])];
  const env: Record<string, string | undefined> = { ...process.env, ...chromium.env, ...config.env, ...options.env };
  if (adapter === 'swiftshader') {
    delete env.VK_ICD_FILENAMES;
    delete env.VK_DRIVER_FILES;
  }
  let browser: Browser;
  try {
    const { default: puppeteer } = await import('puppeteer-core');
    browser = await puppeteer.launch({
      executablePath: chromium.executable,
      headless: true,
      args,
      ignoreDefaultArgs: ['--headless'],
      env,
      timeout: options.launchTimeoutMs ?? 60_000,
      protocolTimeout: options.protocolTimeoutMs ?? 30 * 60_000,
      dumpio: options.dumpio ?? false,
      handleSIGINT: true,
      handleSIGTERM: true,
      handleSIGHUP: true,
    });
  } catch (e) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw e;
  }
  let closed: Promise<void> | null = null;
  return {
    browser,
    adapter,
    chromium: chromium.source,
    args,
    userDataDir,
    close() {
      closed ??= (async () => {
        const proc = browser.process();
        try {
          await withTimeout(browser.close(), 10_000, 'browser.close');
        } catch {
          proc?.kill('SIGKILL');
        }
        if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
        rmSync(userDataDir, { recursive: true, force: true, maxRetries: 3 });
      })();
      return closed;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// A page on the server, with console errors collected

export interface BrowserPageOptions extends LaunchOptions, StaticServerOptions {
  /** Echo the page's console to this process's stderr, prefixed. */
  echoConsole?: boolean;
}

export interface BrowserSession {
  browser: Browser;
  page: Page;
  server: StaticServer;
  adapter: BrowserAdapter;
  /** Which Chromium: its path, or the npm package it came from. */
  chromium: string;
  args: string[];
  /** Console messages of type 'error', uncaught page errors, and failed requests, in order. */
  consoleErrors: string[];
  /** Every console message, '[type] text'. */
  consoleLog: string[];
  url(path: string): string;
  close(): Promise<void>;
}

export async function openBrowserPage(options: BrowserPageOptions = {}): Promise<BrowserSession> {
  const server = await startStaticServer(options);
  let launched: LaunchedBrowser | null = null;
  try {
    launched = await launchChromium(options);
    const page = await launched.browser.newPage();
    page.setDefaultTimeout(options.protocolTimeoutMs ?? 30 * 60_000);
    const consoleErrors: string[] = [];
    const consoleLog: string[] = [];
    page.on('console', (msg) => {
      const line = `[${msg.type()}] ${msg.text()}`;
      consoleLog.push(line);
      if (msg.type() === 'error') consoleErrors.push(msg.text());
      if (options.echoConsole) process.stderr.write(`  page ${line}\n`);
    });
    page.on('pageerror', (err) => {
      const text = `uncaught: ${err instanceof Error ? err.message : String(err)}`;
      consoleErrors.push(text);
      if (options.echoConsole) process.stderr.write(`  page ${text}\n`);
    });
    page.on('requestfailed', (req) => consoleErrors.push(`request failed: ${req.url()} ${req.failure()?.errorText ?? ''}`));
    const l = launched;
    let closed: Promise<void> | null = null;
    return {
      browser: l.browser,
      page,
      server,
      adapter: l.adapter,
      chromium: l.chromium,
      args: l.args,
      consoleErrors,
      consoleLog,
      url: server.url,
      close() {
        closed ??= (async () => {
          try {
            await l.close();
          } finally {
            await server.close();
          }
        })();
        return closed;
      },
    };
  } catch (e) {
    await launched?.close();
    await server.close();
    throw e;
  }
}

/** Open a page, run fn, and close browser and server whatever happens (timeout: default 30 min). */
export async function withBrowserPage<T>(options: BrowserPageOptions & { timeoutMs?: number },
  fn: (session: BrowserSession) => Promise<T>): Promise<T> {
  const session = await openBrowserPage(options);
  try {
    return await withTimeout(fn(session), options.timeoutMs ?? 30 * 60_000, 'browser session');
  } finally {
    await session.close();
  }
}

/** What the page's WebGPU reports (adapter info, fallback flag, a few limits), or why it has none. */
export async function describePageWebGpu(page: Page, featureLevel: 'core' | 'compatibility' = 'core'): Promise<{
  ok: boolean; error?: string; vendor?: string; architecture?: string; device?: string; description?: string;
  isFallbackAdapter?: boolean; features?: string[]; maxStorageBufferBindingSize?: number; maxBufferSize?: number;
  /** WebGL's unmasked renderer: names the driver under ANGLE (compat mode's adapter info is empty). */
  glRenderer?: string;
}> {
  return page.evaluate(async (level: string) => {
    const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
    if (!gpu) return { ok: false, error: 'navigator.gpu is missing' };
    const adapter = await gpu.requestAdapter(level === 'compatibility' ? ({ featureLevel: 'compatibility' } as GPURequestAdapterOptions) : {});
    if (!adapter) return { ok: false, error: 'no adapter' };
    const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
    let glRenderer: string | undefined;
    try {
      const gl = document.createElement('canvas').getContext('webgl');
      const ext = gl?.getExtension('WEBGL_debug_renderer_info');
      glRenderer = gl && ext ? String(gl.getParameter(ext.UNMASKED_RENDERER_WEBGL)) : undefined;
    } catch {
      /* no WebGL */
    }
    return {
      glRenderer,
      ok: true,
      vendor: info?.vendor, architecture: info?.architecture, device: info?.device, description: info?.description,
      isFallbackAdapter: (info as GPUAdapterInfo & { isFallbackAdapter?: boolean })?.isFallbackAdapter
        ?? (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter,
      features: [...adapter.features].map(String).sort(),
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    };
  }, featureLevel);
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what} timed out after ${(ms / 1000).toFixed(0)} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
