// Hostile checkpoints, one by one, in process: each must be refused with ONE line naming the zip
// entry or the tensor (or load exactly, where that is the decision: deflated entries within bounds,
// misaligned safetensors offsets, float16 / bfloat16 / float64 storage). Complements the CLI fuzz
// (fuzz-checkpoints.test.ts) with inputs a random flip is unlikely to produce.
//
// Decisions, as implemented in src/weights/:
//   - zip: stored and deflate entries are read (torch writes stored; deflate appears when someone
//     re-zips). Declared sizes are checked against the file before anything is read, an entry may not
//     declare more than 1 GiB, nor more than 1032x its compressed size (deflate's maximum ratio), and
//     must inflate to exactly its declared size: zip bombs are refused before allocation.
//   - safetensors: header length at most 100 MiB and inside the file; every tensor's bytes inside
//     the data, matching its shape and dtype, and no two overlapping (gaps are tolerated);
//     offsets need not be aligned (the data is copied). F32, F16, BF16, F64 are read and converted to
//     float32; integer dtypes are refused for parameters (num_batches_tracked is ignored); others refused.
//   - pickle: only the globals of ALLOWED_GLOBALS; everything else is refused by name when read.

import { deflateSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../src/weights/load';
import { readPth } from '../src/weights/pth';
import { readSafetensors, writeSafetensors } from '../src/weights/safetensors';
import { PickleDict, TensorRef, unpickle } from '../src/weights/unpickle';
import { MAX_ENTRY_BYTES, readZip } from '../src/weights/zip';
import { Asm, craftCheckpoint, f32Bytes, statePickle } from './fixtures/weights/craft';

const enc = new TextEncoder();

/** The error a function throws, checked to be a single line. */
function oneLineError(fn: () => unknown): string {
  let message: string | undefined;
  try {
    fn();
  } catch (e) {
    message = (e as Error).message;
  }
  expect(message, 'expected an error').toBeTypeOf('string');
  expect(message!.includes('\n'), message).toBe(false);
  return message!;
}

// ---------------------------------------------------------------------------------------------
// A raw zip writer whose every field can lie.

interface RawEntry {
  name: string;
  data: Uint8Array; // the bytes as stored (compressed, for method 8)
  method?: number;
  size?: number; // declared uncompressed size (default data.length)
  compressedSize?: number; // declared compressed size (default data.length)
  zip64Size?: bigint; // write size 0xffffffff and this in a zip64 extra field
}

function rawZip(entries: RawEntry[], lie: { cdOffset?: number; count?: number; localOffset?: (i: number, real: number) => number } = {}): Uint8Array {
  const parts: number[] = [];
  const push = (...b: number[]) => parts.push(...b);
  const u16 = (v: number) => push(v & 0xff, (v >> 8) & 0xff);
  const u32 = (v: number) => push(v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff);
  const u64 = (v: bigint) => {
    for (let i = 0n; i < 8n; i++) push(Number((v >> (8n * i)) & 0xffn));
  };
  const locals: number[] = [];
  for (const e of entries) {
    locals.push(parts.length);
    const name = enc.encode(e.name);
    u32(0x04034b50); u16(20); u16(0); u16(e.method ?? 0); u16(0); u16(0); u32(0);
    u32(e.compressedSize ?? e.data.length); u32(e.zip64Size !== undefined ? 0xffffffff : e.size ?? e.data.length);
    u16(name.length); u16(0); push(...name);
    for (const b of e.data) parts.push(b); // not push(...data): large pickles would overflow the stack
  }
  const cd = parts.length;
  entries.forEach((e, i) => {
    const name = enc.encode(e.name);
    const extra = e.zip64Size !== undefined ? 12 : 0;
    u32(0x02014b50); u16(20); u16(20); u16(0); u16(e.method ?? 0); u16(0); u16(0); u32(0);
    u32(e.compressedSize ?? e.data.length); u32(e.zip64Size !== undefined ? 0xffffffff : e.size ?? e.data.length);
    u16(name.length); u16(extra); u16(0); u16(0); u16(0); u32(0);
    u32(lie.localOffset ? lie.localOffset(i, locals[i]) : locals[i]); push(...name);
    if (e.zip64Size !== undefined) { u16(1); u16(8); u64(e.zip64Size); }
  });
  const cdSize = parts.length - cd;
  u32(0x06054b50); u16(0); u16(0); u16(lie.count ?? entries.length); u16(lie.count ?? entries.length);
  u32(cdSize); u32(lie.cdOffset ?? cd); u16(0);
  return new Uint8Array(parts);
}

const BN = Array.from({ length: 64 }, (_, i) => 1 + i / 64);

/** A one-tensor torch.save layout (bn1.weight [64]) as raw zip entries. */
function bnEntries(values = BN): RawEntry[] {
  const pkl = statePickle([{ name: 'bn1.weight', storage: f32Bytes(values), numel: values.length, shape: [values.length] }]);
  return [{ name: 'archive/data.pkl', data: pkl }, { name: 'archive/data/0', data: f32Bytes(values) }];
}

describe('hostile zip archives', () => {
  it('the raw writer makes a valid archive (control): bn1.weight loads exactly', () => {
    const ck = loadCheckpoint(rawZip(bnEntries()), 'ok.pth');
    expect([...ck.tensors.get('bn1.weight')!.data]).toEqual(BN);
    expect(ck.missing.length).toBe(101);
  });

  it('refuses an entry whose declared size runs past the end of the file, naming it', () => {
    const entries = bnEntries();
    entries[1].compressedSize = entries[1].size = 1_000_000;
    const msg = oneLineError(() => loadCheckpoint(rawZip(entries), 'big.pth'));
    expect(msg).toMatch(/^big\.pth: zip entry 'archive\/data\/0' declares 1000000 bytes at offset \d+, past the end of the \d+-byte file/);
  });

  it('refuses an entry declaring more than the sane bound (zip64 size of 1 TiB), before allocating', () => {
    const entries = bnEntries();
    entries[1].zip64Size = 1n << 40n;
    const msg = oneLineError(() => loadCheckpoint(rawZip(entries), 'huge.pth'));
    expect(msg).toBe(`huge.pth: zip entry 'archive/data/0' declares ${2 ** 40} bytes, more than the ${MAX_ENTRY_BYTES} accepted`);
  });

  it('refuses a stored entry whose sizes disagree', () => {
    const entries = bnEntries();
    entries[1].size = 8;
    expect(oneLineError(() => loadCheckpoint(rawZip(entries), 'x.pth'))).toMatch(/zip entry 'archive\/data\/0' is stored but declares 8 bytes and 256 stored/);
  });

  it('zip bombs: a deflate entry declaring beyond deflate\'s 1032:1 ratio is refused before inflating', () => {
    const entries = bnEntries();
    const zeros = deflateSync(new Uint8Array(1 << 20), { level: 9 }); // 1 MiB of zeros in ~1 KB
    entries[1] = { name: 'archive/data/0', data: zeros, method: 8, size: 900 * 1024 * 1024 };
    const msg = oneLineError(() => loadCheckpoint(rawZip(entries), 'bomb.pth'));
    expect(msg).toMatch(/^bomb\.pth: zip entry 'archive\/data\/0' declares 943718400 bytes from \d+ compressed, beyond deflate's ratio/);
  });

  it('zip bombs: an entry that inflates to more than it declares is refused, not silently cut', () => {
    const pkl = bnEntries()[0];
    const data = deflateSync(new Uint8Array(1 << 20), { level: 9 });
    const bytes = rawZip([pkl, { name: 'archive/data/0', data, method: 8, size: 16 }]);
    expect(oneLineError(() => readZip(bytes, 'b.pth').read('archive/data/0'))).toBe("b.pth: zip entry 'archive/data/0' inflates to more than bytes, not the 16 it declares");
  });

  it('accepts deflated entries within the bounds (a re-zipped checkpoint) and reads them exactly', () => {
    const entries = bnEntries().map((e) => ({ ...e, data: deflateSync(e.data), method: 8, size: e.data.length }));
    const archive = readPth(rawZip(entries), 'deflated.pth');
    expect([...archive.read((archive.root as PickleDict).get('bn1.weight') as TensorRef, 'bn1.weight')]).toEqual(Array.from(Float32Array.from(BN)));
  });

  it('refuses a corrupt deflate stream, naming the entry', () => {
    const entries = bnEntries();
    entries[1] = { name: 'archive/data/0', data: new Uint8Array([0xff, 0xff, 0xff, 0xff]), method: 8, size: 256 };
    expect(oneLineError(() => loadCheckpoint(rawZip(entries), 'c.pth'))).toMatch(/^c\.pth: zip entry 'archive\/data\/0' does not inflate \(/);
  });

  it('refuses central-directory and local-header offsets out of range', () => {
    expect(oneLineError(() => loadCheckpoint(rawZip(bnEntries(), { cdOffset: 0x7ffffff0 }), 'cd.pth')))
      .toMatch(/^cd\.pth: central directory \(offset 2147483632, \d+ bytes\) lies outside the file's \d+ bytes/);
    expect(oneLineError(() => loadCheckpoint(rawZip(bnEntries(), { localOffset: (i, o) => (i === 1 ? o + 1e6 : o) }), 'lo.pth')))
      .toMatch(/^lo\.pth: zip entry 'archive\/data\/0': local header at offset \d+ is missing or out of range/);
    expect(oneLineError(() => loadCheckpoint(rawZip(bnEntries(), { localOffset: (i, o) => (i === 1 ? o + 3 : o) }), 'lo3.pth')))
      .toMatch(/^lo3\.pth: zip entry 'archive\/data\/0': local header/);
  });

  it('refuses an entry count the central directory cannot hold (a 65535-entry claim)', () => {
    expect(oneLineError(() => loadCheckpoint(rawZip(bnEntries(), { count: 0xffff }), 'n.pth'))).toMatch(/^n\.pth: central directory claims 65535 entries in \d+ bytes/);
  });

  it('refuses duplicate entry names and unknown compression methods, naming the entry', () => {
    const entries = bnEntries();
    expect(oneLineError(() => loadCheckpoint(rawZip([...entries, entries[1]]), 'd.pth'))).toBe("d.pth: zip entry 'archive/data/0' appears twice");
    entries[1].method = 14; // LZMA
    expect(oneLineError(() => loadCheckpoint(rawZip(entries), 'm.pth'))).toBe("m.pth: zip entry 'archive/data/0' uses compression method 14 (only stored and deflate are read)");
  });

  it('control characters in a name are escaped, so the error stays one line', () => {
    const pkl = statePickle([{ name: 'bn1.weight\nat evil (/x.js:1:1)', storage: f32Bytes([1]), numel: 1, shape: [1] }]);
    const bytes = rawZip([{ name: 'archive/data.pkl', data: pkl }, { name: 'archive/data/0', data: f32Bytes([1]) }]);
    const msg = oneLineError(() => loadCheckpoint(bytes, 'ctl.pth'));
    expect(msg).toContain("'bn1.weight\\x0aat evil (/x.js:1:1)'");
  });
});

describe('hostile pickles', () => {
  it('refuses non-allowlisted globals by name, whichever opcode spells them, before any call', () => {
    for (const [module, name] of [['os', 'system'], ['builtins', 'eval'], ['posix', 'system'], ['subprocess', 'Popen'], ['torch', 'load'], ['numpy.core.multiarray', '_reconstruct']]) {
      for (const spell of ['global', 'stackGlobal'] as const) {
        const a = new Asm().proto(4);
        (spell === 'global' ? a.global(module, name) : a.stackGlobal(module, name)).str('touch /tmp/pwned').raw(0x85).reduce().stop();
        const msg = oneLineError(() => unpickle(a.done(), { what: 'evil.pth' }));
        expect(msg).toContain(`disallowed global '${module} ${name}'`);
      }
    }
  });

  it('nesting 200,000 deep (lists and tuples) is data, not recursion: refused as "not a state dict" in one line', () => {
    const depth = 200_000;
    const a = new Asm().proto(2).emptyDict().str('bn1.weight');
    for (let i = 0; i < depth; i++) a.mark();
    for (let i = 0; i < depth; i++) a.raw(i % 2 ? 0x6c : 0x74); // LIST / TUPLE
    a.setitem().stop();
    const pkl = a.done();
    const bytes = rawZip([{ name: 'archive/data.pkl', data: pkl }]);
    expect(oneLineError(() => loadCheckpoint(bytes, 'deep.pth'))).toMatch(/^deep\.pth: not a state dict of tensors: 'bn1\.weight' is not a tensor/);
  });

  it('APPENDS of 500,000 items does not overflow the call stack', () => {
    const a = new Asm().proto(2).raw(0x5d).mark();
    for (let i = 0; i < 500_000; i++) a.raw(0x4e); // NONE
    const value = unpickle(a.raw(0x65).stop().done()).value as unknown[];
    expect(value.length).toBe(500_000);
  });

  it('huge memo indices: a stored one is a map entry, not an array of 4 billion; an unstored one is refused', () => {
    const ok = new Asm().proto(2).str('x').raw(0x72, 0xff, 0xff, 0xff, 0xff).raw(0x30).raw(0x6a, 0xff, 0xff, 0xff, 0xff).stop();
    expect(unpickle(ok.done()).value).toBe('x');
    const bad = new Asm().proto(2).raw(0x6a, 0xfe, 0xff, 0xff, 0xff).stop();
    expect(oneLineError(() => unpickle(bad.done(), { what: 'memo.pth' }))).toBe('memo.pth: memo key 4294967294 was never stored (pickle byte 2)');
  });

  it('a persistent id pointing at a storage the archive lacks names the tensor and the entry', () => {
    const bytes = craftCheckpoint([{ name: 'bn1.weight', key: '7', storage: f32Bytes(new Array(64).fill(1)), numel: 64, shape: [64] }]);
    // Rebuild with the storage record removed.
    const zip = readZip(bytes);
    const raw = rawZip([{ name: 'archive/data.pkl', data: zip.read('archive/data.pkl') }]);
    expect(oneLineError(() => loadCheckpoint(raw, 'gone.pth')))
      .toBe("gone.pth: tensor 'bn1.weight' refers to storage '7', but the archive has no 'archive/data/7'");
  });

  it('storage offsets and strides beyond the storage name the tensor', () => {
    const storage = f32Bytes(new Array(64).fill(1));
    const offset = craftCheckpoint([{ name: 'bn1.weight', storage, numel: 64, offset: 1, shape: [64] }]);
    expect(oneLineError(() => loadCheckpoint(offset, 'off.pth')))
      .toMatch(/^off\.pth: tensor 'bn1\.weight' \(archive\/data\/0\): shape \[64\] with strides \[1\] at offset 1 reaches element 64, but its storage holds 64 float32 elements/);
    const stride = craftCheckpoint([{ name: 'bn1.weight', storage, numel: 64, shape: [64], stride: [1000] }]);
    expect(oneLineError(() => loadCheckpoint(stride, 'str.pth'))).toMatch(/^str\.pth: tensor 'bn1\.weight' .*reaches element/);
    // The storage's declared numel bounds the view even when the record holds more bytes.
    const numel = craftCheckpoint([{ name: 'bn1.weight', storage: f32Bytes(new Array(128).fill(1)), numel: 32, shape: [64] }]);
    expect(oneLineError(() => loadCheckpoint(numel, 'numel.pth'))).toMatch(/storage holds 32 float32 elements/);
  });

  it('a storage record shorter than its declared numel names the tensor and the entry', () => {
    const bytes = craftCheckpoint([{ name: 'bn1.weight', storage: f32Bytes(new Array(10).fill(1)), numel: 64, shape: [64] }]);
    expect(oneLineError(() => loadCheckpoint(bytes, 'short.pth')))
      .toBe("short.pth: tensor 'bn1.weight': zip entry archive/data/0 holds 40 bytes, but its float32 storage needs 256 (truncated or corrupt file)");
  });
});

describe('hostile values, shapes and dtypes', () => {
  const ones = (n: number) => new Array(n).fill(1);
  it('NaN, +Inf, -Inf and a negative running variance are refused, naming tensor and index', () => {
    for (const [bad, word] of [[NaN, 'NaN'], [Infinity, '\\+Inf'], [-Infinity, '-Inf']] as const) {
      const v = ones(64);
      v[17] = bad;
      const bytes = craftCheckpoint([{ name: 'bn1.bias', storage: f32Bytes(v), numel: 64, shape: [64] }]);
      expect(oneLineError(() => loadCheckpoint(bytes, 'v.pth'))).toMatch(new RegExp(`^v\\.pth: tensor 'bn1\\.bias' holds ${word} at flat index 17$`));
    }
    const v = ones(64);
    v[3] = -0.5;
    const bytes = craftCheckpoint([{ name: 'bn1.running_var', storage: f32Bytes(v), numel: 64, shape: [64] }]);
    expect(oneLineError(() => loadCheckpoint(bytes, 'var.pth'))).toBe("var.pth: tensor 'bn1.running_var' holds the negative variance -0.5 at index 3");
  });

  it('float64 values beyond float32 become Inf and are refused, naming the tensor', () => {
    const storage = new Uint8Array(Float64Array.from(ones(64).map((x, i) => (i === 5 ? 1e300 : x))).buffer);
    const bytes = craftCheckpoint([{ name: 'bn1.bias', storage, numel: 64, shape: [64], storageType: 'DoubleStorage' }]);
    expect(oneLineError(() => loadCheckpoint(bytes, 'f64.pth'))).toBe("f64.pth: tensor 'bn1.bias' holds +Inf at flat index 5");
  });

  it('wrong shapes and integer dtypes name the tensor', () => {
    const shape = craftCheckpoint([{ name: 'conv1.weight', storage: f32Bytes(ones(64 * 3 * 7 * 7)), numel: 64 * 147, shape: [64, 7, 7, 3] }]);
    expect(oneLineError(() => loadCheckpoint(shape, 's.pth'))).toBe("s.pth: tensor 'conv1.weight' has shape [64, 7, 7, 3], expected [64, 3, 7, 7]");
    const int = craftCheckpoint([{ name: 'bn1.bias', storage: new Uint8Array(64 * 8), numel: 64, shape: [64], storageType: 'LongStorage' }]);
    expect(oneLineError(() => loadCheckpoint(int, 'i.pth'))).toBe("i.pth: tensor 'bn1.bias' has dtype int64; ResNet18's parameters are floating point");
  });
});

describe('hostile safetensors', () => {
  const t = (n: number, v = 1) => ({ shape: [n], data: new Float32Array(n).fill(v) });
  const file = () => writeSafetensors(new Map([['bn1.weight', t(64, 2)], ['bn1.bias', t(64, 3)]]));
  /** Rewrite the JSON header (same length, padded with spaces). */
  const withHeader = (bytes: Uint8Array, edit: (h: Record<string, any>) => void, extraData = 0): Uint8Array => {
    const len = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const h = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + len)));
    edit(h);
    const json = enc.encode(JSON.stringify(h).padEnd(len, ' '));
    expect(json.length).toBe(len);
    const out = new Uint8Array(bytes.length + extraData);
    out.set(bytes);
    out.set(json, 8);
    return out;
  };
  const setLength = (bytes: Uint8Array, n: bigint) => {
    const out = bytes.slice();
    new DataView(out.buffer).setBigUint64(0, n, true);
    return out;
  };

  it('header length beyond the file, and beyond the 100 MiB bound', () => {
    expect(oneLineError(() => readSafetensors(setLength(file(), 5000n), 'h.safetensors'))).toMatch(/^h\.safetensors: header length 5000 exceeds the file/);
    expect(oneLineError(() => readSafetensors(setLength(file(), 200n * 1024n * 1024n), 'h.safetensors'))).toBe('h.safetensors: header length 209715200 is more than the 104857600 bytes accepted (corrupt file)');
    expect(oneLineError(() => readSafetensors(setLength(file(), 1n << 63n), 'h.safetensors'))).toMatch(/is more than the 104857600 bytes accepted/);
  });

  it('overlapping, out-of-range and gapped offsets name the tensors; trailing data is refused', () => {
    const overlap = withHeader(file(), (h) => { h['bn1.bias'].data_offsets = [128, 384]; h['bn1.weight'].data_offsets = [0, 256]; });
    expect(oneLineError(() => readSafetensors(overlap, 'o.safetensors'))).toBe("o.safetensors: tensors 'bn1.weight' and 'bn1.bias' overlap");
    const out = withHeader(file(), (h) => { h['bn1.bias'].data_offsets = [256, 1256]; });
    expect(oneLineError(() => readSafetensors(out, 'r.safetensors'))).toBe("r.safetensors: tensor 'bn1.bias': data_offsets [256, 1256] lie outside the data (512 bytes)");
    // Gaps between tensors and bytes after the last are harmless and accepted (the reference
    // implementation refuses them; hand-built files have them).
    const gap = withHeader(file(), (h) => { h['bn1.bias'].data_offsets = [260, 516]; }, 4);
    expect(readSafetensors(gap, 'g.safetensors').tensors.get('bn1.bias')!.data.length).toBe(64);
    const negative = withHeader(file(), (h) => { h['bn1.bias'].data_offsets = [-256, 0]; });
    expect(oneLineError(() => readSafetensors(negative, 'n.safetensors'))).toMatch(/tensor 'bn1\.bias': data_offsets is not a pair of non-negative integers/);
  });

  it('misaligned offsets are accepted (the data is copied) and read exactly', () => {
    // One F16 tensor of 3 values first puts the F32 tensor at byte 6 of the data: not 4-aligned.
    const half = new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38]); // 1, -2, 0.5
    const f32 = new Float32Array([1.5, -2.25, 1e-3]);
    const header = enc.encode(JSON.stringify({ a: { dtype: 'F16', shape: [3], data_offsets: [0, 6] }, b: { dtype: 'F32', shape: [3], data_offsets: [6, 18] } }));
    const bytes = new Uint8Array(8 + header.length + 18);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(header, 8);
    bytes.set(half, 8 + header.length);
    bytes.set(new Uint8Array(f32.buffer), 8 + header.length + 6);
    const read = readSafetensors(bytes, 'm.safetensors');
    expect([...read.tensors.get('a')!.data]).toEqual([1, -2, 0.5]);
    expect([...read.tensors.get('b')!.data]).toEqual([...f32]);
  });

  it('dtypes: F16, BF16, F64 convert; I64 parameters and unknown dtypes are refused by name', () => {
    const header = enc.encode(JSON.stringify({ 'bn1.weight': { dtype: 'BF16', shape: [64], data_offsets: [0, 128] } }));
    const bytes = new Uint8Array(8 + header.length + 128);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(header, 8);
    for (let i = 0; i < 64; i++) bytes.set([0x80, 0x3f], 8 + header.length + 2 * i); // bf16 1.0
    const ck = loadCheckpoint(bytes, 'bf16.safetensors');
    expect([...ck.tensors.get('bn1.weight')!.data]).toEqual(new Array(64).fill(1));
    const i64 = withHeader(writeSafetensors(new Map([['bn1.bias', t(64)]])), (h) => { h['bn1.bias'].dtype = 'I64'; h['bn1.bias'].shape = [32]; });
    expect(oneLineError(() => loadCheckpoint(i64, 'i.safetensors'))).toBe("i.safetensors: tensor 'bn1.bias' has dtype I64; ResNet18's parameters are floating point");
    const f8 = withHeader(file(), (h) => { h['bn1.bias'].dtype = 'F8_E4M3'; });
    expect(oneLineError(() => loadCheckpoint(f8, 'f8.safetensors'))).toBe("f8.safetensors: tensor 'bn1.bias': unsupported dtype 'F8_E4M3' (float32, float16, bfloat16, float64 are read)");
  });

  it('a shape whose element count overflows is refused without allocating', () => {
    const header = enc.encode(JSON.stringify({ 'bn1.bias': { dtype: 'F32', shape: [2 ** 26, 2 ** 26], data_offsets: [0, 256] } }));
    const big = new Uint8Array(8 + header.length + 256);
    new DataView(big.buffer).setBigUint64(0, BigInt(header.length), true);
    big.set(header, 8);
    expect(oneLineError(() => readSafetensors(big, 'big.safetensors'))).toMatch(/^big\.safetensors: tensor 'bn1\.bias': 256 bytes do not hold shape \[67108864,67108864\] of F32/);
  });
});
