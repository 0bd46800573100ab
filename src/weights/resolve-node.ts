// Node only (file system, network): where the CLI's weights come from, and reading them.
// Never import this from src/index.ts or anything the browser bundle reaches.
//
// Order: the --weights flag, then $RESNET_STREAM_WEIGHTS, then the cached official download
// (verified once against its SHA-256 prefix, then trusted by a marker file), then, only when the
// caller allows it, a download. Otherwise a one-line error that says what to do.

import { stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import {
  DEFAULT_TIMEOUT_MS,
  WEIGHTS_FILE,
  WEIGHTS_SHA256_PREFIX,
  WEIGHTS_URL,
  defaultCacheDir,
  downloadWeights,
  offlineAdvice,
  verifyCachedFile,
} from '../../weights/download.mjs';
import { type Checkpoint, type LoadOptions, loadCheckpoint } from './load';
import { readFileBytes } from '../util/files-node';

export { WEIGHTS_FILE, WEIGHTS_SHA256_PREFIX, WEIGHTS_URL, defaultCacheDir };

export interface ResolveWeightsOptions {
  /** The --weights command-line value, if given. */
  flag?: string;
  /** Fetch the official file when nothing else is found (default false). */
  allowDownload?: boolean;
  /** Environment to read RESNET_STREAM_WEIGHTS / RESNET_STREAM_CACHE from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Cache folder (default $RESNET_STREAM_CACHE or ~/.cache/resnet-stream). */
  cacheDir?: string;
  /** Download source (a mirror) and the hash prefix it must match; tests point these at a local server. */
  url?: string;
  sha256Prefix?: string;
  /** Progress bar on stderr while downloading (default: when stderr is a terminal). */
  progress?: boolean;
  timeoutMs?: number;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function existingFile(path: string, from: string): Promise<string> {
  const full = resolve(path);
  try {
    const s = await stat(full);
    if (!s.isFile()) throw new Error(`${from} '${path}' is not a file`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${from} '${path}': no such file`);
    throw error;
  }
  return full;
}

/** The path of the weights file to use, by the order above. */
export async function resolveWeightsPath(options: ResolveWeightsOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  if (options.flag) return existingFile(options.flag, '--weights');
  if (env.RESNET_STREAM_WEIGHTS) return existingFile(env.RESNET_STREAM_WEIGHTS, 'RESNET_STREAM_WEIGHTS');
  const cacheDir = options.cacheDir ?? defaultCacheDir(env);
  const sha256Prefix = options.sha256Prefix ?? WEIGHTS_SHA256_PREFIX;
  const cached = join(cacheDir, WEIGHTS_FILE);
  if (await isFile(cached)) {
    await verifyCachedFile(cached, sha256Prefix);
    return cached;
  }
  if (options.allowDownload) {
    return downloadWeights({
      url: options.url ?? WEIGHTS_URL,
      cacheDir,
      sha256Prefix,
      progress: options.progress ?? Boolean(process.stderr.isTTY),
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
  }
  throw new Error(
    `no ResNet18 weights: pass --weights FILE (a torchvision .pth or .safetensors state dict), set RESNET_STREAM_WEIGHTS=FILE, ` +
      `or run 'node weights/download.mjs' to fetch ${WEIGHTS_FILE} into ${cacheDir} (offline: ${offlineAdvice().replace(/^C/, 'c')})`,
  );
}

/**
 * Read and validate a checkpoint file (see loadCheckpoint); errors name the file by its base name.
 * The file's bytes are read once and not copied (readFileBytes), so loading holds the file and its
 * float32 tensors, never a second copy of the file.
 */
export function readCheckpointFile(path: string, options: LoadOptions = {}): Checkpoint {
  return loadCheckpoint(readFileBytes(path), basename(path), options);
}
