// safetensors: an 8-byte little-endian header length, a JSON header, then raw little-endian data.
// Reader and writer; float32 (and float16 / bfloat16 / float64, converted to float32 on read).
// Integer and bool tensors (a converted state dict's num_batches_tracked is I64) are refused unless
// the caller asks for them (`integers: 'read'`), which converts them to float32 too.

import { type HostTensor, type TensorMap, elementCount } from '../util/tensor';
import { printable } from './zip';

export type { HostTensor, TensorMap };

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
const INTEGER_DTYPE_BYTES: Record<string, number> = { I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Refuse headers larger than this: a real header of thousands of tensors is a few hundred KiB. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface SafetensorsFile {
  tensors: TensorMap;
  metadata: Record<string, string>;
  /** The stored dtype of each tensor ('F32', 'F16', 'BF16', 'F64', and with `integers: 'read'` 'I64', ...). */
  dtypes: Map<string, string>;
}

export interface ReadSafetensorsOptions {
  /** 'error' (default): integer / bool tensors are an error. 'read': convert them to float32 too. */
  integers?: 'error' | 'read';
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

const bf16Bits = new Uint32Array(1);
const bf16Value = new Float32Array(bf16Bits.buffer);
function bf16ToFloat(h: number): number {
  bf16Bits[0] = h << 16;
  return bf16Value[0];
}

export function readSafetensors(bytes: Uint8Array, what = 'safetensors file', options: ReadSafetensorsOptions = {}): SafetensorsFile {
  if (bytes.byteLength < 8) throw new Error(`${what}: too short to be a safetensors file (${bytes.byteLength} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES) {
    throw new Error(`${what}: header length ${headerLength} is more than the ${MAX_HEADER_BYTES} bytes accepted (corrupt file)`);
  }
  if (8 + headerLength > bytes.byteLength) {
    throw new Error(`${what}: header length ${headerLength} exceeds the file (${bytes.byteLength} bytes): the file is truncated or corrupt`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch {
    throw new Error(`${what}: header is not valid JSON`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new Error(`${what}: header is not a JSON object`);
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  const tensors: TensorMap = new Map();
  const metadata: Record<string, string> = {};
  const dtypes = new Map<string, string>();
  const ranges: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (entry && typeof entry === 'object') {
        for (const [k, v] of Object.entries(entry)) metadata[k] = String(v);
      }
      continue;
    }
    const shown = printable(name);
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) throw new Error(`${what}: tensor '${shown}': entry is not an object`);
    const dtype = String(e.dtype);
    if (!Object.hasOwn(DTYPE_BYTES, dtype) && !(options.integers === 'read' && Object.hasOwn(INTEGER_DTYPE_BYTES, dtype))) {
      throw new Error(`${what}: tensor '${shown}': unsupported dtype '${printable(dtype, 20)}' (float32, float16, bfloat16, float64 are read)`);
    }
    const itemBytes = DTYPE_BYTES[dtype] ?? INTEGER_DTYPE_BYTES[dtype];
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new Error(`${what}: tensor '${shown}': shape is not a list of non-negative integers`);
    }
    const shape = e.shape as number[];
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw new Error(`${what}: tensor '${shown}': data_offsets is not a pair of non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    const count = elementCount(shape);
    if (end < begin || end > dataLength) {
      throw new Error(`${what}: tensor '${shown}': data_offsets [${begin}, ${end}] lie outside the data (${dataLength} bytes)`);
    }
    if (end - begin !== count * itemBytes) {
      throw new Error(`${what}: tensor '${shown}': ${end - begin} bytes do not hold shape [${shape}] of ${dtype}`);
    }
    ranges.push([begin, end, name]);
    const raw = new DataView(bytes.buffer, bytes.byteOffset + dataStart + begin, end - begin);
    const data = new Float32Array(count);
    if (dtype === 'F32' && LITTLE_ENDIAN_HOST) {
      // One copy; works whatever the alignment of the data in the file.
      new Uint8Array(data.buffer).set(bytes.subarray(dataStart + begin, dataStart + end));
    } else {
      for (let i = 0; i < count; i++) {
        if (dtype === 'F32') data[i] = raw.getFloat32(i * 4, true);
        else if (dtype === 'F64') data[i] = raw.getFloat64(i * 8, true);
        else if (dtype === 'F16') data[i] = halfToFloat(raw.getUint16(i * 2, true));
        else if (dtype === 'BF16') data[i] = bf16ToFloat(raw.getUint16(i * 2, true));
        else if (dtype === 'I64') data[i] = Number(raw.getBigInt64(i * 8, true));
        else if (dtype === 'I32') data[i] = raw.getInt32(i * 4, true);
        else if (dtype === 'I16') data[i] = raw.getInt16(i * 2, true);
        else if (dtype === 'I8') data[i] = raw.getInt8(i);
        else data[i] = raw.getUint8(i); // U8, BOOL
      }
    }
    tensors.set(name, { shape, data });
    dtypes.set(name, dtype);
  }
  // Overlapping tensors are refused (the reference implementation also refuses gaps and trailing
  // bytes; those are harmless here and some hand-built files have them, so they are accepted).
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i][0] < ranges[i - 1][1]) {
      throw new Error(`${what}: tensors '${printable(ranges[i - 1][2])}' and '${printable(ranges[i][2])}' overlap`);
    }
  }
  return { tensors, metadata, dtypes };
}

/** Serialise float32 tensors (in the map's order) to safetensors bytes. */
export function writeSafetensors(tensors: TensorMap, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const count = elementCount(t.shape);
    if (count !== t.data.length) throw new Error(`tensor '${name}': shape [${t.shape}] does not match ${t.data.length} values`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + count * 4] };
    offset += count * 4;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  while ((8 + json.length) % 8 !== 0) json += ' ';
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}
