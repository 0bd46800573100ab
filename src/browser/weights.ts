// Weights for a web page: a URL (fetched as a stream, with progress), a File or Blob (an <input
// type=file> or a drop), or bytes already in memory, read into a validated state dict of one of
// torchvision's ResNets by loadCheckpoint (.pth zip, legacy .pth or .safetensors), the architecture
// recognised from the tensors' names and shapes. Browser-only APIs (fetch, Blob); no Node.

import type { ResNetEngine } from '../model/engine';
import { type Checkpoint, type LoadOptions, loadCheckpoint } from '../weights/load';
import type { TensorMap } from '../weights/safetensors';

/** Where weights come from: a URL (string or URL object), bytes, or a File / Blob. */
export type WeightsSource = string | URL | ArrayBuffer | ArrayBufferView | Blob;

export interface LoadWeightsOptions extends LoadOptions {
  /**
   * Called as bytes arrive (and once at the end): `total` is the size in bytes, or undefined when
   * the server does not say (no Content-Length, or a compressed transfer).
   */
  onProgress?(loaded: number, total: number | undefined): void;
  /** Cancels the download (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Name used in error messages; default: the URL's file name, the File's name, or 'weights'. */
  name?: string;
  /** Extra fetch options for URL sources (headers, credentials, cache). */
  fetchInit?: RequestInit;
}

function isBlob(x: unknown): x is Blob {
  return typeof Blob !== 'undefined' && x instanceof Blob;
}

/** The last path segment of a URL, decoded ('resnet18-f37072fd.pth'). */
function urlFileName(url: string): string {
  try {
    const path = new URL(url, globalThis.location?.href ?? 'http://localhost/').pathname;
    const last = path.split('/').filter(Boolean).pop();
    return last ? decodeURIComponent(last) : url;
  } catch {
    return url;
  }
}

/** Count the bytes of a stream as they arrive, reporting progress (at most ~100 reports when the total is known). */
async function countStream(stream: ReadableStream<Uint8Array>, total: number | undefined,
  onProgress: NonNullable<LoadWeightsOptions['onProgress']>): Promise<void> {
  const reader = stream.getReader();
  let loaded = 0;
  let lastReport = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      loaded += value.length;
      if (total === undefined || loaded - lastReport >= total / 100) {
        lastReport = loaded;
        onProgress(loaded, total !== undefined && loaded <= total ? total : undefined);
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/** Read a stream to one Uint8Array, reporting progress; preallocates when the total is known. */
async function readStream(stream: ReadableStream<Uint8Array>, total: number | undefined,
  onProgress: LoadWeightsOptions['onProgress'], signal: AbortSignal | undefined, name: string): Promise<Uint8Array> {
  const reader = stream.getReader();
  const onAbort = () => void reader.cancel(signal?.reason).catch(() => undefined);
  signal?.addEventListener('abort', onAbort);
  try {
    let buffer = new Uint8Array(total ?? 1 << 20);
    let loaded = 0;
    let lastReport = 0;
    for (;;) {
      signal?.throwIfAborted();
      const { done, value } = await reader.read();
      if (done) break;
      if (loaded + value.length > buffer.length) {
        // Unknown or wrong total (compressed transfer): grow geometrically.
        const grown = new Uint8Array(Math.max(buffer.length * 2, loaded + value.length));
        grown.set(buffer.subarray(0, loaded));
        buffer = grown;
      }
      buffer.set(value, loaded);
      loaded += value.length;
      // At most ~100 reports for a large file; every chunk for a small one.
      if (onProgress && (total === undefined || loaded - lastReport >= total / 100 || loaded === total)) {
        lastReport = loaded;
        onProgress(loaded, total !== undefined && loaded <= total ? total : undefined);
      }
    }
    signal?.throwIfAborted();
    if (total !== undefined && loaded < total) {
      throw new Error(`${name}: the download stopped after ${loaded} of ${total} bytes`);
    }
    onProgress?.(loaded, loaded);
    return loaded === buffer.length ? buffer : buffer.slice(0, loaded);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    reader.releaseLock();
  }
}

/**
 * The bytes of a weights source, with progress: fetches a URL (failing with the HTTP status),
 * streams a File / Blob, or views an ArrayBuffer / typed array (no copy).
 */
export async function readWeightsBytes(source: WeightsSource, options: LoadWeightsOptions = {}): Promise<{ bytes: Uint8Array; name: string }> {
  const { onProgress, signal } = options;
  if (typeof source === 'string' || source instanceof URL) {
    const url = String(source);
    const name = options.name ?? urlFileName(url);
    let response: Response;
    try {
      response = await fetch(url, { ...options.fetchInit, signal });
    } catch (e) {
      if (signal?.aborted) throw e;
      throw new Error(`${name}: could not fetch ${url} (${e instanceof Error ? e.message : String(e)})`);
    }
    if (!response.ok) throw new Error(`${name}: fetching ${url} failed with HTTP ${response.status} ${response.statusText}`.trim());
    const length = Number(response.headers.get('content-length'));
    // With Content-Encoding the length is of the compressed body, not of what the stream yields.
    const total = Number.isFinite(length) && length > 0 && !response.headers.get('content-encoding') ? length : undefined;
    // The bytes come from arrayBuffer(); progress from reading a clone (tee) of the body. Reading the
    // body itself through a stream reader works too, but Chromium then often reports the completed
    // request as aborted (net::ERR_ABORTED in DevTools), which pages that watch requests see as a failure.
    const counting = onProgress && response.body ? countStream(response.clone().body!, total, onProgress) : Promise.resolve();
    const [buffer] = await Promise.all([response.arrayBuffer(), counting]);
    const bytes = new Uint8Array(buffer);
    if (total !== undefined && bytes.length < total) throw new Error(`${name}: the download stopped after ${bytes.length} of ${total} bytes`);
    onProgress?.(bytes.length, bytes.length);
    return { bytes, name };
  }
  if (isBlob(source)) {
    const name = options.name ?? ((source as File).name || 'weights');
    const bytes = typeof source.stream === 'function'
      ? await readStream(source.stream() as ReadableStream<Uint8Array>, source.size, onProgress, signal, name)
      : new Uint8Array(await source.arrayBuffer());
    return { bytes, name };
  }
  const name = options.name ?? 'weights';
  let bytes: Uint8Array;
  if (source instanceof ArrayBuffer) bytes = new Uint8Array(source);
  else if (ArrayBuffer.isView(source)) bytes = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  else throw new TypeError('weights source must be a URL, an ArrayBuffer, a typed array, a File or a Blob');
  onProgress?.(bytes.length, bytes.length);
  return { bytes, name };
}

/**
 * Load and validate a checkpoint of any of torchvision's ResNets (.pth or .safetensors) from a URL,
 * File, Blob or bytes. The Checkpoint names its `architecture` (recognised, or `options.architecture`
 * insisted on), lists what the file lacks (`missing`) and has its SHA-256 (unless `hash: false`).
 * A file of no family member fails with one line naming the member it is closest to.
 */
export async function loadCheckpointFrom(source: WeightsSource, options: LoadWeightsOptions = {}): Promise<Checkpoint> {
  const { bytes, name } = await readWeightsBytes(source, options);
  return loadCheckpoint(bytes, name, { hash: options.hash, architecture: options.architecture });
}

/**
 * Load a checkpoint from a URL, File, Blob or bytes into the engine, as the architecture the
 * checkpoint was recognised as (`engine.architecture` follows it). Resolves to the Checkpoint.
 */
export async function loadCheckpointInto(engine: ResNetEngine, source: WeightsSource, options: LoadWeightsOptions = {}): Promise<Checkpoint> {
  const checkpoint = await loadCheckpointFrom(source, options);
  engine.loadWeights(checkpoint.tensors, { architecture: checkpoint.architecture });
  return checkpoint;
}

/** The state dict of a checkpoint from a URL, File, Blob or bytes, ready for engine.loadWeights(). */
export async function loadWeightsFrom(source: WeightsSource, options: LoadWeightsOptions = {}): Promise<TensorMap> {
  return (await loadCheckpointFrom(source, { hash: false, ...options })).tensors;
}
