// A small, defensive zip reader for torch.save archives. Browser-safe: no Node imports.
//
// Why not fflate's unzipSync: it trusts the archive. A flipped byte in the end-of-central-directory
// record can declare four billion entries (a loop that never ends), an entry can declare an
// uncompressed size of 4 GiB (allocated before a byte is inflated), and offsets past the end of the
// file read as zeros instead of failing. Here every offset and size is checked against the file
// before it is used, and every error is one line naming the entry.
//
// torch.save writes STORED entries (data 64-byte aligned through padding in the extra field), with
// zip64 records once the archive passes 4 GiB. Stored entries are returned as views of the file, no
// copy. DEFLATE entries (an archive re-zipped by hand) are accepted too, but only when the declared
// size is plausible: at most MAX_ENTRY_BYTES, and at most DEFLATE_MAX_RATIO times the compressed size
// (deflate cannot expand more than about 1032:1), so a zip bomb is refused before inflating, and
// inflation into a buffer of exactly the declared size cannot write past it. CRCs are not checked,
// as PyTorch's own reader does not check them either: damaged tensor values are caught by the
// loader's finiteness checks or not at all, as with torch.load.

import { inflateSync } from 'fflate';

/** No entry of a ResNet checkpoint comes near this (the largest, fc.weight, is 2 MB in float32). */
export const MAX_ENTRY_BYTES = 1024 * 1024 * 1024;
/** Deflate's best case is 258 bytes from about 2 bits: 1032:1; anything claiming more is a lie. */
const DEFLATE_MAX_RATIO = 1032;
const MAX_ENTRIES = 100_000;

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate. */
  compression: number;
  compressedSize: number;
  size: number;
  /** Offset of the entry's data in the archive (after its local header). */
  dataOffset: number;
}

export interface ZipArchive {
  entries: Map<string, ZipEntry>;
  /** The entry's bytes (a view of the archive for stored entries); throws a one-line error. */
  read(name: string): Uint8Array;
}

/** Control characters and the like in a name shown in an error: escaped, so the error stays one line. */
export function printable(s: string, max = 120): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return t.length > max ? `${t.slice(0, max)}...` : t;
}

const latin1 = (b: Uint8Array) => String.fromCharCode(...b);
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function readZip(bytes: Uint8Array, what = 'zip archive'): ZipArchive {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength;
  const fail = (message: string): never => {
    throw new Error(`${what}: ${message}`);
  };
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => {
    const v = view.getBigUint64(at, true);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  };

  // End of central directory: the last 22+ bytes, possibly followed by a comment of up to 64 KiB.
  let eocd = -1;
  for (let at = n - 22; at >= 0 && at >= n - 22 - 0xffff; at--) {
    if (u32(at) === 0x06054b50) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) fail('not a readable zip archive (no end-of-central-directory record): the file is truncated or corrupt');
  let count = u16(eocd + 10);
  let cdSize = u32(eocd + 12);
  let cdOffset = u32(eocd + 16);
  let cdLimit = eocd;
  // Zip64: a locator just before the EOCD points at the zip64 EOCD with 64-bit fields.
  if (eocd >= 20 && u32(eocd - 20) === 0x07064b50) {
    const z = u64(eocd - 12);
    if (z + 56 > eocd - 20 || u32(z) !== 0x06064b50) fail(`zip64 end-of-central-directory record at offset ${z} is missing or out of range`);
    count = u64(z + 32);
    cdSize = u64(z + 40);
    cdOffset = u64(z + 48);
    cdLimit = z;
  }
  if (cdOffset + cdSize > cdLimit) {
    fail(`central directory (offset ${cdOffset}, ${cdSize} bytes) lies outside the file's ${n} bytes: the file is truncated or corrupt`);
  }
  // Each central header is at least 46 bytes, so the directory's size bounds the entry count.
  if (count > MAX_ENTRIES || count * 46 > cdSize) fail(`central directory claims ${count} entries in ${cdSize} bytes`);

  const entries = new Map<string, ZipEntry>();
  let at = cdOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > cdOffset + cdSize || u32(at) !== 0x02014b50) fail(`central directory entry ${i} at offset ${at} is corrupt`);
    const compression = u16(at + 10);
    let compressedSize = u32(at + 20);
    let size = u32(at + 24);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    const commentLength = u16(at + 32);
    let localOffset = u32(at + 42);
    const next = at + 46 + nameLength + extraLength + commentLength;
    if (next > cdOffset + cdSize) fail(`central directory entry ${i} runs past the directory`);
    const rawName = bytes.subarray(at + 46, at + 46 + nameLength);
    let name: string;
    try {
      name = utf8.decode(rawName);
    } catch {
      name = latin1(rawName);
    }
    const shown = `'${printable(name)}'`;
    // Zip64 extended information: the 64-bit values of the fields saturated at 0xffffffff, in order.
    for (let e = at + 46 + nameLength; e + 4 <= at + 46 + nameLength + extraLength;) {
      const id = u16(e);
      const len = u16(e + 2);
      if (e + 4 + len > at + 46 + nameLength + extraLength) fail(`zip entry ${shown}: extra field runs past its header`);
      if (id === 0x0001) {
        let f = e + 4;
        const take = () => {
          if (f + 8 > e + 4 + len) fail(`zip entry ${shown}: zip64 extra field is too short`);
          f += 8;
          return u64(f - 8);
        };
        if (size === 0xffffffff) size = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localOffset === 0xffffffff) localOffset = take();
      }
      e += 4 + len;
    }
    if (entries.has(name)) fail(`zip entry ${shown} appears twice`);
    if (compression !== 0 && compression !== 8) fail(`zip entry ${shown} uses compression method ${compression} (only stored and deflate are read)`);
    if (localOffset + 30 > n || u32(localOffset) !== 0x04034b50) {
      fail(`zip entry ${shown}: local header at offset ${localOffset} is missing or out of range`);
    }
    const dataOffset = localOffset + 30 + u16(localOffset + 26) + u16(localOffset + 28);
    if (dataOffset + compressedSize > n) {
      fail(`zip entry ${shown} declares ${compressedSize} bytes at offset ${dataOffset}, past the end of the ${n}-byte file: the file is truncated or corrupt`);
    }
    if (size > MAX_ENTRY_BYTES) fail(`zip entry ${shown} declares ${size} bytes, more than the ${MAX_ENTRY_BYTES} accepted`);
    if (compression === 0 && size !== compressedSize) fail(`zip entry ${shown} is stored but declares ${size} bytes and ${compressedSize} stored`);
    if (compression === 8 && size > compressedSize * DEFLATE_MAX_RATIO + 1024) {
      fail(`zip entry ${shown} declares ${size} bytes from ${compressedSize} compressed, beyond deflate's ratio: a zip bomb or a corrupt file`);
    }
    entries.set(name, { name, compression, compressedSize, size, dataOffset });
    at = next;
  }

  return {
    entries,
    read(name: string): Uint8Array {
      const e = entries.get(name);
      if (!e) return fail(`no zip entry '${printable(name)}'`);
      const raw = bytes.subarray(e.dataOffset, e.dataOffset + e.compressedSize);
      if (e.compression === 0) return raw;
      // One byte of headroom: a stream that inflates to more than it declares is caught, not cut.
      const out = new Uint8Array(e.size + 1);
      let inflated: Uint8Array;
      try {
        inflated = inflateSync(raw, { out });
      } catch (err) {
        return fail(`zip entry '${printable(name)}' does not inflate (${printable((err as Error).message)})`);
      }
      if (inflated.byteLength !== e.size) {
        fail(`zip entry '${printable(name)}' inflates to ${inflated.byteLength > e.size ? 'more than' : inflated.byteLength} bytes, not the ${e.size} it declares`);
      }
      return inflated;
    },
  };
}
