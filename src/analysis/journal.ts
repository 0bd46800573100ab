// The run journal: every batch of centre values the engine produced, appended as it arrives, so a
// crashed or interrupted analysis resumes by replaying it (no GPU work is redone) and ends with a
// byte-identical analysis.json. Entries are plain JSON (float32 data as little-endian base64, exact
// to the bit). This module is browser-safe; src/cli/journal-node.ts stores a journal as a JSON-lines file.

/** What a transform does to an image before the forward pass (METHOD.md, "Scale invariance"). */
export type Transform =
  /** The image as preprocessed (Resize 256, CenterCrop 224, normalise). */
  | 'none'
  /** S: centre-crop 112, bilinear resize to 224 (align_corners = false), on the normalised tensor. */
  | 'zoomIn'
  /** S^-1: mean of each 2x2 block to 112, then reflect-pad 56 on every side, on the normalised tensor. */
  | 'zoomOut'
  /**
   * The follow-up's zoom at factor s (two decimals, '1.05'): CenterCrop(round(224 (2 - s))), then
   * bilinear resize to 224 (s = 1.5 is S, s = 1 the identity).
   */
  | `zoom@${string}`;

export function sweepTransform(factor: number): Transform {
  return `zoom@${factor.toFixed(2)}`;
}

/** The zoom factor of a sweep transform, or null for the others. */
export function sweepFactor(transform: Transform): number | null {
  return transform.startsWith('zoom@') ? Number(transform.slice(5)) : null;
}

/** The run a journal belongs to: a resumed run must have the same configuration. */
export interface RunConfig {
  blocks: string[];
  variant: string;
  topK: number;
  batchSize: number;
  /** Number of images in the set and a hash of their names in order. */
  images: number;
  imagesHash: string;
  taps: string[];
  zoomFactors: number[];
  keepTuningCurves: boolean;
  /**
   * The caller's metadata (weights and their hash, adapter, ...): a resume with other weights or on
   * another adapter would mix two runs' numbers, so it is refused like any other difference.
   */
  meta: Record<string, string | number | boolean | null>;
  /**
   * Hash of the SHA-256 of every image this run streams, in order (present when the caller gives the
   * images' `sha256`): the same names with other contents are another run.
   */
  contentHash?: string;
  /** Present in a shard's journal: which share of the images it streams (shard.ts). */
  shard?: { index: number; count: number };
}

/** One image as a journal header lists it: its name and, when known, the SHA-256 of its contents. */
export interface JournalImage {
  name: string;
  sha256?: string;
}

export interface JournalHeader {
  type: 'header';
  version: 1;
  configHash: string;
  config: RunConfig;
  /** When the run first started (ISO 8601); a resume keeps it. Reported in run.json, not analysis.json. */
  createdAt: string;
  /**
   * What a merge needs beside the batches (written by runs since sharding; absent before): the images
   * this run streams (a shard: its share), the network and the blocks left out.
   */
  images?: JournalImage[];
  architecture?: string;
  skipped?: { block: string; reason: string }[];
}

export interface JournalBatch {
  type: 'batch';
  /** Position in the run's plan, e.g. 'stream/12', 'zoomIn/3'. */
  key: string;
  transform: Transform;
  /** Indices of the batch's images in the image set. */
  images: number[];
  taps: string[];
  /** Per tap, the centre values [image][channel] as little-endian float32, base64. */
  values: Record<string, string>;
}

export type JournalEntry = JournalHeader | JournalBatch;

/**
 * Where a run keeps its entries. `entries()` yields what earlier runs stored, in append order (nothing
 * for a fresh run); `append` must have stored the entry durably when its promise resolves.
 */
export interface Journal {
  entries(): AsyncIterable<JournalEntry> | Iterable<JournalEntry>;
  append(entry: JournalEntry): void | Promise<void>;
}

/** A journal in memory, also the JSON-serialisable state of a run (`JSON.stringify(journal.state)`). */
export class MemoryJournal implements Journal {
  readonly state: JournalEntry[];

  constructor(state: JournalEntry[] = []) {
    this.state = state;
  }

  entries(): Iterable<JournalEntry> {
    return this.state.slice();
  }

  append(entry: JournalEntry): void {
    this.state.push(entry);
  }

  static fromJSON(text: string): MemoryJournal {
    return new MemoryJournal(JSON.parse(text) as JournalEntry[]);
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  const CHUNK = 0x8000;
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, i + CHUNK)));
  }
  return btoa(binary);
}

function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Float32 values as little-endian base64 (bit-exact, NaN payloads included). */
export function encodeFloat32(values: Float32Array): string {
  if (LITTLE_ENDIAN) return bytesToBase64(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return bytesToBase64(bytes);
}

export function decodeFloat32(text: string): Float32Array {
  const bytes = base64ToBytes(text);
  if (bytes.length % 4 !== 0) throw new Error(`journal: float32 data of ${bytes.length} bytes is not a multiple of 4`);
  if (LITTLE_ENDIAN) return new Float32Array(bytes.buffer, 0, bytes.length / 4);
  const view = new DataView(bytes.buffer);
  return Float32Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

/** cyrb53: a fast, well-mixed 53-bit string hash, as 14 hex digits (identification, not security). */
export function hashString(text: string, seed = 0): string {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, '0');
}

/** Hash of a configuration: key order is fixed by RunConfig's construction. */
export function configHash(config: RunConfig): string {
  return hashString(JSON.stringify(config));
}
