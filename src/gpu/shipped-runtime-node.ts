// Node only. WebGPU for a machine that has nothing but Node and npm: the SwiftShader Vulkan driver,
// the Vulkan loader and a headless Chromium that the npm package `@sparticuz/chromium` ships
// (MIT; an optional dependency, linux-x64 only). Its files are brotli-compressed inside the
// package; they are unpacked once, on first use, into the cache folder
// ($RESNET_STREAM_CACHE or ~/.cache/resnet-stream, else the temporary folder when that is not
// writable), each step written under a temporary name and renamed, so that two processes starting
// at once, or a process killed half way, never leave a half-written driver behind.
//
// The package is never imported (its index unpacks into /tmp on import-time checks of its own);
// only its compressed files are read, with the tar reader it depends on.

import { chmodSync, createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress } from 'node:zlib';
import { defaultCacheDir } from '../../weights/download.mjs';

export const SHIPPED_PACKAGE = '@sparticuz/chromium';

export interface ShippedRuntime {
  /** `@sparticuz/chromium@143.0.4` */
  source: string;
  /** The folder the files are unpacked into. */
  dir: string;
  /** The Vulkan loader, `libvulkan.so.1`. */
  loader: string;
  /** The SwiftShader ICD manifest, `vk_swiftshader_icd.json` (its library sits beside it). */
  icd: string;
}

/** Where the package is, or why it cannot serve on this platform. */
function locatePackage(): { root: string; version: string } | { unavailable: string } {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { unavailable: `${SHIPPED_PACKAGE} ships SwiftShader for linux-x64 only, not ${process.platform}-${process.arch}` };
  }
  let main: string;
  try {
    main = createRequire(import.meta.url).resolve(SHIPPED_PACKAGE);
  } catch {
    return { unavailable: `the optional npm package ${SHIPPED_PACKAGE} is not installed (npm install ${SHIPPED_PACKAGE})` };
  }
  // The exports map hides package.json; walk up from the entry to it.
  for (let dir = dirname(main); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === SHIPPED_PACKAGE) return { root: dir, version: pkg.version ?? 'unknown' };
  }
  return { unavailable: `${SHIPPED_PACKAGE} is installed but its package.json was not found` };
}

function writableCacheRoot(): string {
  for (const root of [defaultCacheDir(), join(tmpdir(), `resnet-stream-${process.getuid?.() ?? 'user'}`)]) {
    try {
      mkdirSync(root, { recursive: true });
      return root;
    } catch {
      /* try the next */
    }
  }
  throw new Error('no writable folder for the npm-shipped SwiftShader (set RESNET_STREAM_CACHE)');
}

function tempName(path: string): string {
  return `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Unpack a brotli-compressed tar into `target` (created whole, by rename), with the tar reader
 * the package at `packageRoot` depends on (tar-fs).
 */
async function unpackTar(archive: string, target: string, packageRoot: string): Promise<void> {
  const tarFs = createRequire(join(packageRoot, 'package.json'))('tar-fs') as { extract: (dir: string) => NodeJS.WritableStream };
  const staging = tempName(target);
  try {
    await pipeline(createReadStream(archive), createBrotliDecompress(), tarFs.extract(staging));
    try {
      renameSync(staging, target);
    } catch (e) {
      // Another process finished first: its copy is the same files.
      if (!existsSync(target)) throw e;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Unpack a brotli-compressed single file into `target` (executable), by rename. */
async function unpackFile(archive: string, target: string): Promise<void> {
  const staging = tempName(target);
  try {
    await pipeline(createReadStream(archive), createBrotliDecompress(), createWriteStream(staging, { mode: 0o755 }));
    chmodSync(staging, 0o755);
    renameSync(staging, target);
  } finally {
    rmSync(staging, { force: true });
  }
}

let cached: Promise<ShippedRuntime> | null = null;

/** Why the shipped runtime cannot be used here, or null when it can. Cheap; unpacks nothing. */
export function shippedRuntimeUnavailable(): string | null {
  const found = locatePackage();
  return 'unavailable' in found ? found.unavailable : null;
}

/** `@sparticuz/chromium@VERSION`, or null when the package cannot serve here. */
export function shippedSource(): string | null {
  const found = locatePackage();
  return 'unavailable' in found ? null : `${SHIPPED_PACKAGE}@${found.version}`;
}

/** The shipped Vulkan loader and SwiftShader driver, unpacked on first use. */
export function shippedRuntime(): Promise<ShippedRuntime> {
  cached ??= (async () => {
    const found = locatePackage();
    if ('unavailable' in found) throw new Error(found.unavailable);
    const dir = join(writableCacheRoot(), `swiftshader-npm-${found.version}`);
    const runtime: ShippedRuntime = {
      source: `${SHIPPED_PACKAGE}@${found.version}`,
      dir,
      loader: join(dir, 'libvulkan.so.1'),
      icd: join(dir, 'vk_swiftshader_icd.json'),
    };
    if (!existsSync(runtime.icd)) {
      await unpackTar(join(found.root, 'bin', 'swiftshader.tar.br'), dir, found.root);
    }
    return runtime;
  })();
  cached.catch(() => { cached = null; });
  return cached;
}

/**
 * The shipped headless Chromium (chrome-headless-shell, WebGPU on the SwiftShader beside it),
 * unpacked on first use next to the driver (about 190 MB, a few seconds), with its fonts and a
 * fontconfig file that also lists the system's font folders (a bare machine may have none).
 */
export async function shippedChromium(): Promise<{ executable: string; env: Record<string, string> }> {
  const runtime = await shippedRuntime();
  const found = locatePackage();
  if ('unavailable' in found) throw new Error(found.unavailable);
  const executable = join(runtime.dir, 'chromium');
  if (!existsSync(executable) || statSync(executable).size === 0) {
    await unpackFile(join(found.root, 'bin', 'chromium.br'), executable);
  }
  const fonts = join(runtime.dir, 'fonts');
  if (!existsSync(fonts)) {
    await unpackTar(join(found.root, 'bin', 'fonts.tar.br'), fonts, found.root);
  }
  const config = join(runtime.dir, 'fonts.conf');
  if (!existsSync(config)) {
    const dirs = [fonts, '/usr/share/fonts', '/usr/local/share/fonts', join(homedir(), '.fonts')];
    const xml = '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
      + dirs.map((d) => `  <dir>${d}</dir>\n`).join('')
      + `  <cachedir>${join(runtime.dir, 'fonts-cache')}</cachedir>\n</fontconfig>\n`;
    const staging = tempName(config);
    writeFileSync(staging, xml);
    renameSync(staging, config);
  }
  return { executable, env: { FONTCONFIG_FILE: config } };
}
