#!/usr/bin/env node
// Download torchvision's ResNet18 ImageNet weights (IMAGENET1K_V1, resnet18-f37072fd.pth, 44.7 MB)
// into the cache, verify them, and print the path. Plain Node ESM: no build step.
//
//   node weights/download.mjs [--cache DIR] [--url MIRROR_URL] [--force] [--quiet]
//
// Cache: $RESNET_STREAM_CACHE, else ~/.cache/resnet-stream/. The file is verified as torchvision
// verifies it: its SHA-256 must start with the 8 hex digits in its name (f37072fd); a file that
// fails is deleted. A verified file gets a marker beside it (<file>.verified: hash, size, mtime) so
// later runs need not hash 45 MB again. The CLI imports the same functions (src/weights/resolve-node.ts).

import { createHash } from 'node:crypto';
import { createReadStream, realpathSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import cliProgress from 'cli-progress';

export const WEIGHTS_URL = 'https://download.pytorch.org/models/resnet18-f37072fd.pth';
export const WEIGHTS_FILE = 'resnet18-f37072fd.pth';
export const WEIGHTS_SHA256_PREFIX = 'f37072fd';
/** No response, or no bytes for this long, and the download is abandoned. */
export const DEFAULT_TIMEOUT_MS = 20_000;

/** $RESNET_STREAM_CACHE, else ~/.cache/resnet-stream. */
export function defaultCacheDir(env = process.env) {
  return env.RESNET_STREAM_CACHE ? resolve(env.RESNET_STREAM_CACHE) : join(homedir(), '.cache', 'resnet-stream');
}

/** What to do when the file cannot be fetched. */
export function offlineAdvice(fileName = WEIGHTS_FILE) {
  return `Copy ${fileName} from a machine that has it and pass --weights FILE or set RESNET_STREAM_WEIGHTS=FILE`;
}

/** Hex SHA-256 of a file, streamed. */
export async function sha256File(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

function markerPath(path) {
  return `${path}.verified`;
}

async function writeMarker(path, sha256) {
  const { size, mtimeMs } = await stat(path);
  await writeFile(markerPath(path), `${JSON.stringify({ sha256, size, mtimeMs: Math.trunc(mtimeMs) })}\n`);
}

/**
 * Check a cached file once: if its marker matches the file (size, mtime) and the expected hash
 * prefix, trust it; else hash it, and write the marker when it passes. Throws when it fails.
 * Returns the file's SHA-256.
 */
export async function verifyCachedFile(path, sha256Prefix = WEIGHTS_SHA256_PREFIX) {
  const { size, mtimeMs } = await stat(path);
  try {
    const marker = JSON.parse(await readFile(markerPath(path), 'utf8'));
    if (marker.size === size && marker.mtimeMs === Math.trunc(mtimeMs) && typeof marker.sha256 === 'string' && marker.sha256.startsWith(sha256Prefix)) {
      return marker.sha256;
    }
  } catch {
    // no marker, or an unreadable one: hash the file
  }
  const sha256 = await sha256File(path);
  if (!sha256.startsWith(sha256Prefix)) {
    throw new Error(`${path} fails its check: sha256 ${sha256.slice(0, 16)}... does not start with ${sha256Prefix}; delete it and download again`);
  }
  await writeMarker(path, sha256);
  return sha256;
}

function reasonOf(error) {
  if (error?.name === 'TimeoutError' || error?.name === 'AbortError') return error.message;
  const cause = error?.cause;
  if (cause?.code) return `${cause.code}${cause.hostname ? ` ${cause.hostname}` : ''}`;
  return cause?.message ?? error?.message ?? String(error);
}

/**
 * Download `url` into `cacheDir/fileName`, with a progress bar on stderr when `progress`, verifying
 * the SHA-256 prefix. Resolves to the file's path; rejects with a one-line Error that says what to
 * do instead when there is no route.
 */
export async function downloadWeights({
  url = WEIGHTS_URL,
  cacheDir = defaultCacheDir(),
  fileName = WEIGHTS_FILE,
  sha256Prefix = WEIGHTS_SHA256_PREFIX,
  timeoutMs = DEFAULT_TIMEOUT_MS,
  progress = Boolean(process.stderr.isTTY),
} = {}) {
  const target = join(cacheDir, fileName);
  const partial = `${target}.part`;
  const failure = (reason) => new Error(`could not download ${url}: ${reason}. ${offlineAdvice(fileName)}`);
  await mkdir(cacheDir, { recursive: true });

  // One timer covers both the wait for a response and any stall while the body streams.
  const controller = new AbortController();
  let timer;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new DOMException(`no data for ${timeoutMs / 1000} s`, 'TimeoutError')), timeoutMs);
  };
  let bar;
  let file;
  try {
    arm();
    let response;
    try {
      response = await fetch(url, { signal: controller.signal });
    } catch (error) {
      throw failure(reasonOf(controller.signal.aborted ? controller.signal.reason : error));
    }
    if (!response.ok || !response.body) throw failure(`HTTP ${response.status} ${response.statusText}`.trim());
    const total = Number(response.headers.get('content-length')) || 0;
    if (progress) {
      bar = new cliProgress.SingleBar(
        { format: `${fileName} [{bar}] {percentage}% | {done}/{size} MB | {eta_formatted}`, stream: process.stderr, hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total || 1, 0, { done: '0.0', size: total ? (total / 2 ** 20).toFixed(1) : '?' });
    }
    const hash = createHash('sha256');
    file = await open(partial, 'w');
    let received = 0;
    try {
      for await (const chunk of response.body) {
        arm();
        hash.update(chunk);
        await file.write(chunk);
        received += chunk.length;
        bar?.update(total ? received : 0, { done: (received / 2 ** 20).toFixed(1) });
      }
    } catch (error) {
      throw failure(`interrupted after ${received} bytes (${reasonOf(controller.signal.aborted ? controller.signal.reason : error)})`);
    }
    await file.close();
    file = undefined;
    bar?.stop();
    bar = undefined;
    if (total && received !== total) throw failure(`received ${received} of ${total} bytes`);
    const sha256 = hash.digest('hex');
    if (!sha256.startsWith(sha256Prefix)) {
      throw new Error(
        `downloaded ${url}, but its sha256 ${sha256.slice(0, 16)}... does not start with ${sha256Prefix}: deleted it. ` +
          `Try again, or ${offlineAdvice(fileName).replace(/^C/, 'c')}`,
      );
    }
    await rename(partial, target);
    await writeMarker(target, sha256);
    return target;
  } finally {
    clearTimeout(timer);
    bar?.stop();
    await file?.close().catch(() => {});
    await rm(partial, { force: true });
  }
}

async function main(argv) {
  const args = { cache: undefined, url: undefined, force: false, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--cache' || a === '--url') {
      if (!argv[i + 1]) throw new Error(`${a} needs a value`);
      args[a.slice(2)] = argv[++i];
    } else if (a === '--force') args.force = true;
    else if (a === '--quiet') args.quiet = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: node weights/download.mjs [--cache DIR] [--url MIRROR_URL] [--force] [--quiet]\n');
      return;
    } else throw new Error(`unknown argument '${a}' (try --help)`);
  }
  const cacheDir = args.cache ? resolve(args.cache) : defaultCacheDir();
  const target = join(cacheDir, WEIGHTS_FILE);
  if (!args.force) {
    const present = await stat(target).then(() => true, () => false);
    if (present) {
      await verifyCachedFile(target);
      process.stdout.write(`${target}\n`);
      return;
    }
  }
  const path = await downloadWeights({ url: args.url, cacheDir, progress: !args.quiet && Boolean(process.stderr.isTTY) });
  process.stdout.write(`${path}\n`);
}

const invokedDirectly = (() => {
  try {
    // Bundlers inline this module into the CLI, whose own URL then matches argv[1]: require the
    // script's own file name as well.
    return Boolean(process.argv[1]) && /download\.mjs$/.test(process.argv[1])
      && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
})();

if (invokedDirectly) {
  main(process.argv.slice(2)).catch((error) => {
    process.stderr.write(`download.mjs: ${error.message}\n`);
    process.exitCode = 1;
  });
}
