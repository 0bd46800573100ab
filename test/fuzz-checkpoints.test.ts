// Fuzzing the checkpoint readers through the CLI: corrupted variants of REAL checkpoints, each run as
// `node dist/cli.js inspect --weights <variant> --json` in a child process with a time limit.
//
// Sources: (a) test/fixtures/weights/resnet18-stem-layer1.0.pth, written by torch.save itself
// (scripts/fixtures/make-fuzz-checkpoint.py); (b) the shared 14 MB partial ImageNet checkpoint when
// ../shared is present (fewer variants); (c) a safetensors file of (a)'s tensors.
// Mutations (seeded, mulberry32): truncation at random offsets; byte flips in the zip's local
// headers / central directory / end record, in the pickle, in the tensor data; renamed zip entries;
// shapes altered by editing the size tuple's integer in the pickle (a real shape change, the pickle
// stays valid); dtypes altered by renaming the storage class (FloatStorage -> ShortStorage in place,
// -> HalfStorage and DoubleStorage with the zip rebuilt around the new pickle); for safetensors also
// header-length, dtype and offset edits.
//
// Every variant must end in one of two ways, else the test fails:
//   - exit 0 and a correct load: every tensor identical to the original's (SHA-256 of its float32
//     values), except where the mutation legitimately changes values, which is then checked: a data
//     flip changes exactly the tensor whose storage holds the flipped byte; a HalfStorage variant
//     holds the float16 reading of each storage's first half; a pickle flip may point a tensor at
//     another storage of the same size (torch.load would do the same), so its values must equal
//     some original tensor's;
//   - exit 1 with exactly one stderr line, starting 'error: ', naming the file or a quoted entry /
//     tensor, no stack frame, not the CLI's internal-error form. Mutations that must be refused
//     (truncation, a NaN/Inf/negative-variance data flip, a shape change, ...) must also name the right
//     thing.
// A signal, a timeout (hang), another exit code or a multi-line stderr fails.

import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../src/weights/load';
import { readZip } from '../src/weights/zip';
import { writeSafetensors } from '../src/weights/safetensors';
import { CLI, type CliRun, badError, mapLimit, ownLines, runCli } from './helpers/fuzz-cli';
import { makeRng } from './helpers/gpu';
import { PARTIAL_WEIGHTS } from './helpers/shared';

const FIXTURE = resolve(__dirname, 'fixtures/weights/resnet18-stem-layer1.0.pth');
const TIMEOUT_MS = 20_000;
const CONCURRENCY = 2;

type Expect =
  | { kind: 'error'; names?: RegExp } // must be refused (naming this, if given)
  | { kind: 'same' } // a load must equal the original exactly
  | { kind: 'data'; tensor: string | null; names?: RegExp } // data flip: only `tensor` may change (null: an ignored tensor)
  | { kind: 'any-original' } // pickle flip: each tensor equals some original tensor
  | { kind: 'values'; hashes: Map<string, string> } // a load must give exactly these
  | { kind: 'loose' }; // a flip anywhere: tensors equal some original tensor, except at most one

interface Variant {
  name: string;
  bytes: Uint8Array;
  expect: Expect;
}

interface Original {
  hashes: Map<string, string>;
  /** storage record (zip entry name) -> the state-dict key that uses it. */
  storageOwner: Map<string, string>;
}

const sha = (data: Float32Array) => createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');

function originalOf(bytes: Uint8Array): Map<string, string> {
  const ck = loadCheckpoint(bytes, 'original', { hash: false });
  return new Map([...ck.tensors].map(([k, t]) => [k, sha(t.data)]));
}

// ---------------------------------------------------------------------------------------------
// A minimal walk of torch's data.pkl: where each tensor's storage key and size integers are.

interface PickleTensor {
  key: string; // state-dict key
  storageKey: string;
  /** Byte positions of the integer opcodes of the size tuple (BININT1 'K' / BININT2 'M' / BININT 'J'). */
  sizeOps: number[];
}

function walkTorchPickle(pkl: Uint8Array): PickleTensor[] {
  const dv = new DataView(pkl.buffer, pkl.byteOffset, pkl.byteLength);
  const out: PickleTensor[] = [];
  const strings: string[] = [];
  let pos = 0;
  let afterPersid = -1; // ints seen since the last BINPERSID (-1: not inside)
  let current: PickleTensor | null = null;
  let lastKey = '';
  const dec = new TextDecoder();
  while (pos < pkl.length) {
    const op = pkl[pos];
    const at = pos++;
    switch (op) {
      case 0x80: case 0x71: case 0x68: pos += 1; break; // PROTO, BINPUT, BINGET
      case 0x72: case 0x6a: pos += 4; break; // LONG_BINPUT, LONG_BINGET
      case 0x4b: case 0x4d: case 0x4a: { // BININT1, BININT2, BININT
        pos += op === 0x4b ? 1 : op === 0x4d ? 2 : 4;
        if (afterPersid >= 0) {
          if (afterPersid > 0 && current) current.sizeOps.push(at);
          afterPersid++;
        }
        break;
      }
      case 0x58: { // BINUNICODE
        const n = dv.getUint32(pos, true);
        const s = dec.decode(pkl.subarray(pos + 4, pos + 4 + n));
        strings.push(s);
        if (afterPersid < 0 && s !== 'storage' && s !== 'cpu' && !/^\d+$/.test(s)) lastKey = s;
        pos += 4 + n;
        break;
      }
      case 0x63: { // GLOBAL
        pos = pkl.indexOf(0x0a, pkl.indexOf(0x0a, pos) + 1) + 1;
        break;
      }
      case 0x51: { // BINPERSID: the storage key is the last digit string pushed
        const storageKey = [...strings].reverse().find((s) => /^\d+$/.test(s)) ?? '?';
        current = { key: lastKey, storageKey, sizeOps: [] };
        out.push(current);
        afterPersid = 0;
        break;
      }
      case 0x74: case 0x85: case 0x86: case 0x87: case 0x29: // TUPLE*, EMPTY_TUPLE: the size tuple ends
        if (afterPersid > 0 || (op === 0x29 && afterPersid === 1)) afterPersid = -1;
        break;
      case 0x2e: pos = pkl.length; break; // STOP
      default: break; // zero-argument opcodes (MARK, REDUCE, SETITEMS, NEWFALSE, EMPTY_DICT, ...)
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Variant generators.

function flip(bytes: Uint8Array, at: number, mask: number): Uint8Array {
  const out = bytes.slice();
  out[at] ^= mask || 1;
  return out;
}

/** Replace the bytes of `from` with `to` (same length) at every place they occur within [start, end). */
function replaceAll(bytes: Uint8Array, start: number, end: number, from: string, to: string): Uint8Array {
  const out = bytes.slice();
  const f = new TextEncoder().encode(from);
  const t = new TextEncoder().encode(to);
  for (let i = start; i + f.length <= end; i++) {
    if (f.every((b, k) => out[i + k] === b)) out.set(t, i);
  }
  return out;
}

function pthVariants(label: string, bytes: Uint8Array, counts: { trunc: number; header: number; pickle: number; data: number; shapes: number }, seed: number): {
  variants: Variant[];
  original: Original;
} {
  const rnd = makeRng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const zip = readZip(bytes, label);
  const entries = [...zip.entries.values()];
  const pklEntry = entries.find((e) => e.name.endsWith('/data.pkl'))!;
  const prefix = pklEntry.name.slice(0, -'/data.pkl'.length);
  const pkl = bytes.subarray(pklEntry.dataOffset, pklEntry.dataOffset + pklEntry.size);
  const tensors = walkTorchPickle(pkl);
  const hashes = originalOf(bytes);
  const storageOwner = new Map(tensors.map((t) => [`${prefix}/data/${t.storageKey}`, t.key]));
  const variants: Variant[] = [];
  const add = (name: string, b: Uint8Array, expect: Expect) => variants.push({ name: `${label}-${variants.length}-${name}`, bytes: b, expect });

  // Truncations: always refused (the end-of-central-directory record is the last thing in the file).
  add('empty', bytes.subarray(0, 0), { kind: 'error' });
  add('trunc-last-byte', bytes.subarray(0, bytes.length - 1), { kind: 'error' });
  for (let i = 0; i < counts.trunc; i++) add(`trunc`, bytes.subarray(0, int(bytes.length)), { kind: 'error' });

  // Flips in the zip structure: local headers of each entry, the central directory and end record.
  const headerRanges: [number, number][] = entries.map((e) => [e.dataOffset - 30 - e.name.length, e.dataOffset]);
  const cdStart = Math.max(...entries.map((e) => e.dataOffset + e.compressedSize));
  headerRanges.push([cdStart, bytes.length], [cdStart, bytes.length]); // the directory twice as likely
  for (let i = 0; i < counts.header; i++) {
    const [a, b] = headerRanges[int(headerRanges.length)];
    // A flip there may be harmless (a CRC, a timestamp): then the load must be exact.
    add('zip-flip', flip(bytes, a + int(b - a), 1 << int(8)), { kind: 'same' });
  }

  // Targeted edits of zip fields: sizes, offsets, counts, the compression method, the entry count.
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = bytes.length - 22;
  while (dv.getUint32(eocd, true) !== 0x06054b50) eocd--;
  const cdOffset = dv.getUint32(eocd + 16, true);
  const centralHeaders: number[] = [];
  for (let at = cdOffset, i = 0; i < entries.length; i++) {
    centralHeaders.push(at);
    at += 46 + dv.getUint16(at + 28, true) + dv.getUint16(at + 30, true) + dv.getUint16(at + 32, true);
  }
  const setField = (at: number, size: 2 | 4, value: number) => {
    const out = bytes.slice();
    const o = new DataView(out.buffer);
    if (size === 2) o.setUint16(at, value, true);
    else o.setUint32(at, value >>> 0, true);
    return out;
  };
  // Entries are read lazily: an edit of a size or method only shows in an entry the load reads (the
  // pickle, version, the storages of resnet18 tensors). Offsets are checked for every entry.
  const readNames = new Set([pklEntry.name, `${prefix}/version`, ...[...storageOwner].filter(([, k]) => !k.endsWith('num_batches_tracked')).map(([n]) => n)]);
  const readHeaders = centralHeaders.filter((_, i) => readNames.has(entries[i].name));
  const pick = () => readHeaders[int(readHeaders.length)];
  add('cd-compressed-size-huge', setField(pick() + 20, 4, 0xfffffff0), { kind: 'error' });
  add('cd-both-sizes-huge', (() => { const h = pick(); const o = setField(h + 20, 4, 0x7ffffff0); new DataView(o.buffer).setUint32(h + 24, 0x7ffffff0, true); return o; })(), { kind: 'error' });
  add('cd-size-zip64-marker', setField(pick() + 24, 4, 0xffffffff), { kind: 'error' });
  add('cd-local-offset-past-end', setField(pick() + 42, 4, bytes.length + 100), { kind: 'error' });
  add('cd-local-offset-random', setField(pick() + 42, 4, int(bytes.length)), { kind: 'error' });
  add('cd-method-deflate', setField(pick() + 10, 2, 8), { kind: 'error' });
  add('cd-method-bzip2', setField(pick() + 10, 2, 12), { kind: 'error' });
  add('cd-name-length', setField(pick() + 28, 2, 0xffff), { kind: 'error' });
  // torch.save (1.13) writes a zip64 end record even for small files, and it takes precedence: edits
  // of the classic record's fields are then harmless (the load must be exact), edits of the zip64
  // record's are not.
  const zip64 = dv.getUint32(eocd - 20, true) === 0x07064b50 ? Number(dv.getBigUint64(eocd - 12, true)) : -1;
  const classic: Expect = zip64 >= 0 ? { kind: 'same' } : { kind: 'error' };
  add('eocd-count-huge', setField(eocd + 10, 2, 0xffff), classic);
  add('eocd-cd-offset', setField(eocd + 16, 4, cdOffset + 1), classic);
  add('eocd-cd-offset-past-end', setField(eocd + 16, 4, 0xffffff00), classic);
  add('eocd-cd-size', setField(eocd + 12, 4, 0xffffffff), classic);
  if (zip64 >= 0) {
    const set64 = (at: number, value: bigint) => {
      const out = bytes.slice();
      new DataView(out.buffer).setBigUint64(at, value, true);
      return out;
    };
    add('zip64-count-huge', set64(zip64 + 32, 0xffffffffffn), { kind: 'error' });
    add('zip64-count-4e9', set64(zip64 + 32, 4_000_000_000n), { kind: 'error' });
    add('zip64-cd-size', set64(zip64 + 40, 1n << 62n), { kind: 'error' });
    add('zip64-cd-offset', set64(zip64 + 48, BigInt(cdOffset + 7)), { kind: 'error' });
    add('zip64-cd-offset-past-end', set64(zip64 + 48, 1n << 40n), { kind: 'error' });
    add('zip64-locator', set64(eocd - 12, BigInt(bytes.length * 2)), { kind: 'error' });
  }

  // Flips in the pickle: refused, or a load whose tensors are all original tensors.
  for (let i = 0; i < counts.pickle; i++) {
    add('pickle-flip', flip(bytes, pklEntry.dataOffset + int(pklEntry.size), 1 << int(8)), { kind: 'any-original' });
  }

  // Flips in tensor data: the tensor owning that storage changes, or is refused by name (NaN/Inf,
  // negative variance). Flip the exponent's top bit of a float32 sometimes, so NaN/Inf do occur.
  const dataEntries = entries.filter((e) => e.name.includes('/data/'));
  for (let i = 0; i < counts.data; i++) {
    const e = dataEntries[int(dataEntries.length)];
    const owner = storageOwner.get(e.name) ?? null;
    const element = int(e.size >> 2);
    const at = e.dataOffset + element * 4 + (i % 3 === 0 ? 3 : int(4));
    const mask = i % 3 === 0 ? 0x7f : 1 << int(8); // 0x7f on the top byte: exponent all ones -> Inf/NaN
    const ignored = owner?.endsWith('num_batches_tracked') ?? true;
    add(`data-flip-${owner}`, flip(bytes, at, mask), {
      kind: 'data',
      tensor: ignored ? null : owner,
      names: ignored ? undefined : new RegExp(`'${owner!.replace(/\./g, '\\.')}'`),
    });
  }

  // Values made non-finite (exponent bits set: NaN or Inf) or, for a running variance, negative (the
  // sign bit flipped): refused, naming the tensor.
  const floatStorages = dataEntries.filter((e) => storageOwner.has(e.name) && !storageOwner.get(e.name)!.endsWith('num_batches_tracked'));
  for (let i = 0; i < Math.max(2, counts.data >> 2); i++) {
    const e = floatStorages[int(floatStorages.length)];
    const owner = storageOwner.get(e.name)!;
    const at = e.dataOffset + 4 * int(e.size >> 2);
    const out = bytes.slice();
    out[at + 3] |= 0x7f;
    out[at + 2] |= 0x80;
    add(`data-nonfinite-${owner}`, out, { kind: 'error', names: new RegExp(`'${owner.replace(/\./g, '\\.')}' holds (NaN|[+-]Inf)`) });
  }
  const variances = floatStorages.filter((e) => storageOwner.get(e.name)!.endsWith('running_var'));
  for (let i = 0; i < 2 && variances.length; i++) {
    const e = variances[int(variances.length)];
    const owner = storageOwner.get(e.name)!;
    add(`data-negative-var-${owner}`, flip(bytes, e.dataOffset + 4 * int(e.size >> 2) + 3, 0x80),
      { kind: 'error', names: new RegExp(`'${owner.replace(/\./g, '\\.')}' holds the negative variance`) });
  }

  // Renamed entries (same length, so the archive stays consistent): the pickle, a storage, the prefix.
  const pklName = new TextEncoder().encode(pklEntry.name);
  const renamePkl = replaceAll(bytes, 0, bytes.length, pklEntry.name, pklEntry.name.replace('data.pkl', 'data.pkx'));
  add('rename-data.pkl', renamePkl, { kind: 'error', names: /data\.pkl/ });
  const bigStorage = dataEntries.reduce((a, b) => (b.size > a.size ? b : a));
  const renamed = bigStorage.name.replace(/\/data\/(\d)/, '/data/x');
  // (a tensor whose storage is gone is named; with 1-digit keys other entries may be renamed too)
  add('rename-storage', replaceAll(bytes, 0, bytes.length, `${bigStorage.name}`, renamed), { kind: 'error', names: /tensor '[^']+' refers to storage/ });
  // Only the first entry's prefix renamed: two prefixes, still one data.pkl -> the storages are absent.
  const firstStorageHeader = dataEntries[0].dataOffset - 30 - dataEntries[0].name.length;
  const onePrefix = replaceAll(bytes, firstStorageHeader, dataEntries[0].dataOffset, prefix, prefix.replace(/^./, 'Z'));
  add('rename-local-header-only', onePrefix, { kind: 'same' }); // the reader uses the central directory's names
  void pklName;

  // Shapes: change the first dimension of a tensor's size tuple in the pickle (a real shape change).
  const shaped = tensors.filter((t) => t.sizeOps.length && !t.key.endsWith('num_batches_tracked'));
  const nShapes = Math.min(counts.shapes, shaped.length);
  for (let i = 0; i < nShapes; i++) {
    const t = shaped[Math.floor((i * shaped.length) / nShapes)];
    const at = pklEntry.dataOffset + t.sizeOps[0];
    const out = bytes.slice();
    if (out[at] === 0x4b) out[at + 1] = out[at + 1] === 1 ? 2 : out[at + 1] >> 1; // BININT1: halve
    else out[at + 1] ^= 0x01; // BININT2 / BININT: change the low byte
    add(`shape-${t.key}`, out, { kind: 'error', names: new RegExp(`'${t.key.replace(/\./g, '\\.')}' has shape`) });
  }

  // Dtypes: the storage class. In place (same length): FloatStorage -> ShortStorage (int16, refused
  // by name). Rebuilt zip: HalfStorage (loads: each tensor is the float16 reading of its storage's
  // first half; NaN/Inf there are refused by name) and DoubleStorage (the storages are too short).
  const pklStart = pklEntry.dataOffset;
  add('dtype-int16', replaceAll(bytes, pklStart, pklStart + pklEntry.size, 'FloatStorage', 'ShortStorage'),
    { kind: 'error', names: /has dtype int16/ });
  const rezip = (newPkl: Uint8Array) => {
    const files: Record<string, [Uint8Array, { level: 0 }]> = {};
    for (const e of entries) files[e.name] = [e === pklEntry ? newPkl : zip.read(e.name), { level: 0 }];
    return zipSync(files);
  };
  const swapClass = (to: string) => {
    const text = new TextEncoder().encode('torch\nFloatStorage\n');
    const at = pkl.findIndex((_, i) => text.every((b, k) => pkl[i + k] === b));
    const repl = new TextEncoder().encode(`torch\n${to}\n`);
    const out = new Uint8Array(pkl.length - text.length + repl.length);
    out.set(pkl.subarray(0, at));
    out.set(repl, at);
    out.set(pkl.subarray(at + text.length), at + repl.length);
    return out;
  };
  add('dtype-double', rezip(swapClass('DoubleStorage')), { kind: 'error', names: /needs \d+|holds \d+/ });
  add('rezip-same', rezip(pkl.slice()), { kind: 'same' });
  const halfHashes = new Map<string, string>();
  for (const t of tensors) {
    if (t.key.endsWith('num_batches_tracked')) continue;
    const raw = zip.read(`${prefix}/data/${t.storageKey}`);
    const n = raw.length / 4;
    const f16 = new Float32Array(n);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < n; i++) f16[i] = halfToFloat(dv.getUint16(i * 2, true));
    halfHashes.set(t.key, sha(f16));
  }
  add('dtype-half', rezip(swapClass('HalfStorage')), { kind: 'values', hashes: halfHashes });

  return { variants, original: { hashes, storageOwner } };
}

/** IEEE half to number, independently of the reader's own conversion. */
function halfToFloat(h: number): number {
  const s = h >> 15 ? -1 : 1;
  const e = (h >> 10) & 31;
  const f = h & 1023;
  if (e === 31) return f ? NaN : s * Infinity;
  return e === 0 ? s * f * 2 ** -24 : s * (1 + f / 1024) * 2 ** (e - 15);
}

function safetensorsVariants(label: string, pth: Uint8Array, count: number, seed: number): { variants: Variant[]; hashes: Map<string, string> } {
  const rnd = makeRng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const ck = loadCheckpoint(pth, 'fixture', { hash: false });
  const bytes = writeSafetensors(ck.tensors, { source: 'resnet18-stem-layer1.0.pth' });
  const hashes = new Map([...ck.tensors].map(([k, t]) => [k, sha(t.data)]));
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, { data_offsets: [number, number] }>;
  const variants: Variant[] = [];
  const add = (name: string, b: Uint8Array, expect: Expect) => variants.push({ name: `${label}-${variants.length}-${name}`, bytes: b, expect });
  add('intact', bytes, { kind: 'same' });
  for (let i = 0; i < count; i++) add('trunc', bytes.subarray(0, 1 + int(bytes.length - 2)), { kind: 'error' });
  for (let i = 0; i < count; i++) add('header-flip', flip(bytes, 8 + int(headerLength), 1 << int(8)), { kind: 'same' });
  for (let i = 0; i < 4; i++) add('length-flip', flip(bytes, int(8), 1 << int(8)), { kind: 'error' });
  const names = [...ck.tensors.keys()];
  for (let i = 0; i < count; i++) {
    const name = names[int(names.length)];
    const [begin, end] = header[name].data_offsets;
    const at = 8 + headerLength + begin + 4 * int((end - begin) / 4) + (i % 3 === 0 ? 3 : int(4));
    add(`data-flip-${name}`, flip(bytes, at, i % 3 === 0 ? 0x7f : 1 << int(8)), { kind: 'data', tensor: name, names: new RegExp(`'${name.replace(/\./g, '\\.')}'`) });
  }
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
  const edit = (from: RegExp, to: string) => {
    const t = text.replace(from, to).padEnd(headerLength, ' ').slice(0, headerLength);
    const out = bytes.slice();
    out.set(new TextEncoder().encode(t), 8);
    return out;
  };
  add('dtype-F16', edit(/"F32"/, '"F16"'), { kind: 'error', names: /'conv1\.weight'/ });
  add('dtype-I32', edit(/"F32"/, '"I32"'), { kind: 'error', names: /'conv1\.weight'.*dtype/ });
  add('offsets-overlap', edit(/"data_offsets":\[37632,/, '"data_offsets":[37628,'), { kind: 'error', names: /bn1\.weight/ });
  add('offsets-past-end', edit(/"data_offsets":\[0,37632\]/, '"data_offsets":[0,97632]'), { kind: 'error', names: /'conv1\.weight'/ });
  return { variants, hashes };
}

// ---------------------------------------------------------------------------------------------

interface Outcome {
  variant: Variant;
  run: CliRun;
  problem: string | null;
}

function judge(v: Variant, r: CliRun, file: string, original: Map<string, string>): string | null {
  if (r.code === 0 && !r.timedOut && !r.signal) {
    let report: { tensorList: { name: string; sha256: string }[] };
    try {
      report = JSON.parse(r.stdout);
    } catch {
      return `exit 0 but stdout is not JSON: ${r.stdout.slice(0, 200)}`;
    }
    const got = new Map(report.tensorList.map((t) => [t.name, t.sha256]));
    const e = v.expect;
    if (e.kind === 'error') return `loaded, but must be refused`;
    const want = e.kind === 'values' ? e.hashes : original;
    if (got.size !== want.size) return `loaded ${got.size} tensors, the file holds ${want.size}`;
    const values = new Set(original.values());
    let changed = 0;
    for (const [k, h] of got) {
      if (e.kind === 'loose' && h !== want.get(k) && !values.has(h) && ++changed <= 1) continue;
      if (h === want.get(k)) continue;
      if (e.kind === 'data' && k === e.tensor) continue;
      // A flipped name byte can rename a tensor to another of resnet18's with the same shape
      // ('layer1.0' -> 'layer1.1'): a correct load of what the file now says.
      if (e.kind !== 'values' && values.has(h) && (e.kind === 'any-original' || e.kind === 'loose' || !want.has(k))) continue;
      return `tensor '${k}' differs from what the file holds (mutation ${e.kind})`;
    }
    if (e.kind === 'data' && e.tensor && got.get(e.tensor) === original.get(e.tensor)) return `flipped data of '${e.tensor}' but it loaded unchanged`;
    return null;
  }
  const bad = badError(r, basename(file));
  if (bad) return bad;
  const line = r.stderr.trim();
  if ((v.expect.kind === 'error' || v.expect.kind === 'data') && v.expect.names && !v.expect.names.test(line)) {
    return `refused, but does not name ${v.expect.names}: ${line}`;
  }
  return null;
}

const cliMissing = !existsSync(CLI);
if (cliMissing) console.log(`skipped: ${CLI} not built (npm run build)`);

describe.skipIf(cliMissing)('fuzzed checkpoints through `resnet-stream inspect`', () => {
  const dir = mkdtempSync(join(tmpdir(), 'resnet-stream-fuzz-ck-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function runAll(variants: Variant[], original: Map<string, string>): Promise<Outcome[]> {
    return mapLimit(variants, CONCURRENCY, async (v) => {
      const file = join(dir, `${v.name}.${v.name.startsWith('st') ? 'safetensors' : 'pth'}`);
      writeFileSync(file, v.bytes);
      const run = await runCli(['inspect', '--weights', file, '--json'], TIMEOUT_MS);
      return { variant: v, run, problem: judge(v, run, file, original) };
    });
  }

  function summarize(label: string, outcomes: Outcome[], started: number): void {
    const loads = outcomes.filter((o) => o.run.code === 0).length;
    const slowest = Math.max(...outcomes.map((o) => o.run.ms));
    console.log(`${label}: ${outcomes.length} variants, ${loads} loaded, ${outcomes.length - loads} refused; ` +
      `slowest ${Math.round(slowest)} ms; ${((performance.now() - started) / 1000).toFixed(1)} s`);
    // FUZZ_VERBOSE=1 prints every variant's outcome.
    if (process.env.FUZZ_VERBOSE) {
      for (const o of outcomes) console.log(`${o.variant.name}: ${o.run.code === 0 ? 'loaded' : ownLines(o.run.stderr).join(' | ')}${o.problem ? `  <-- ${o.problem}` : ''}`);
    }
    const failures = outcomes.filter((o) => o.problem).map((o) => `${o.variant.name}: ${o.problem}`);
    expect(failures, failures.join('\n')).toEqual([]);
  }

  let fixture: Uint8Array;
  beforeAll(() => {
    fixture = new Uint8Array(readFileSync(FIXTURE));
  });

  it('the intact fixture loads and inspect reports it exactly', async () => {
    const r = await runCli(['inspect', '--weights', FIXTURE, '--json'], TIMEOUT_MS);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.format).toBe('pth');
    expect(report.tensors).toBe(16);
    expect(report.parameters).toBe(84_904);
    expect(report.lastComputable).toBe('layer1.0');
    const original = originalOf(fixture);
    expect(new Map(report.tensorList.map((t: { name: string; sha256: string }) => [t.name, t.sha256]))).toEqual(original);
  });

  it('>= 100 corrupted variants of a real torch.save checkpoint: clean loads or one-line errors', async () => {
    const started = performance.now();
    const { variants, original } = pthVariants('pth', fixture, { trunc: 20, header: 20, pickle: 30, data: 24, shapes: 10 }, 0x5eed);
    expect(variants.length).toBeGreaterThanOrEqual(100);
    summarize('torch.save fixture', await runAll(variants, original.hashes), started);
  }, 300_000);

  it('corrupted variants of a safetensors file', async () => {
    const started = performance.now();
    const { variants, hashes } = safetensorsVariants('st', fixture, 8, 0xfeed);
    summarize('safetensors', await runAll(variants, hashes), started);
  }, 300_000);

  it('corrupted variants of a legacy (PyTorch < 1.6) torch.save file', async () => {
    const started = performance.now();
    const bytes = new Uint8Array(readFileSync(resolve(__dirname, 'fixtures/weights/torch-1.13-legacy.pth')));
    const original = originalOf(bytes);
    const rnd = makeRng(0x1e9);
    const variants: Variant[] = [];
    for (let i = 0; i < 8; i++) variants.push({ name: `legacy-${i}-trunc`, bytes: bytes.subarray(0, Math.floor(rnd() * bytes.length)), expect: { kind: 'error' } });
    // The pickles are the first ~1.3 KB; flip there more often than in the data.
    for (let i = 0; i < 16; i++) {
      const at = i % 2 ? Math.floor(rnd() * 1400) : Math.floor(rnd() * bytes.length);
      variants.push({ name: `legacy-${8 + i}-flip`, bytes: flip(bytes, at, 1 << Math.floor(rnd() * 8)), expect: { kind: 'loose' } });
    }
    summarize('legacy torch.save', await runAll(variants, original), started);
  }, 300_000);

  it.skipIf(!existsSync(PARTIAL_WEIGHTS))('corrupted variants of the shared partial ImageNet checkpoint', async () => {
    const started = performance.now();
    const bytes = new Uint8Array(readFileSync(PARTIAL_WEIGHTS));
    // Fewer variants: every one is a 14 MB file, and the targeted zip edits are covered above.
    const { variants, original } = pthVariants('partial', bytes, { trunc: 2, header: 2, pickle: 3, data: 3, shapes: 2 }, 0xbeef);
    const some = variants.filter((v) => /trunc|empty|zip-flip|pickle-flip|data-|shape-|zip64-count-huge|dtype-half/.test(v.name));
    summarize('shared partial checkpoint', await runAll(some, original.hashes), started);
  }, 300_000);
});
