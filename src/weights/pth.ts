// torch.save files, read in the browser or in Node: the zip format of PyTorch >= 1.6 and, because it
// costs little once the unpickler exists, the legacy format before it.
//
// Zip format (what torchvision's resnet18-f37072fd.pth and every recent checkpoint use):
//   <prefix>/data.pkl      the pickled object; tensors appear as _rebuild_tensor_v2(storage, ...)
//                          where each storage is a persistent id ('storage', FloatStorage, '<key>', ...)
//   <prefix>/data/<key>    the raw bytes of each storage, in `byteorder`
//   <prefix>/version       the serialization version ('3')
//   <prefix>/byteorder     'little' or 'big' (written since PyTorch 2.1; absent means little)
// Entries are STORED (uncompressed); zip.ts reads them as views of the file, checking every offset.
//
// Legacy format: five pickles back to back (magic number, protocol version, sys_info, the object,
// the sorted list of storage keys), then for each key an int64 element count and the raw data.

import { printable, readZip } from './zip';
import { DTYPE_BYTES, type PickleValue, StorageRef, TensorRef, type StorageDtype, unpickle } from './unpickle';
import { elementCount } from '../util/tensor';

export type ByteOrder = 'little' | 'big';

export interface PthArchive {
  /** 'zip' for torch.save since PyTorch 1.6, 'legacy' before. */
  format: 'zip' | 'legacy';
  /** The unpickled object, tensors as TensorRef leaves. */
  root: PickleValue;
  /** The zip's top-level folder ('archive' for recent torch.save, the file stem for older ones). */
  prefix: string;
  byteorder: ByteOrder;
  /**
   * The values of a tensor of the archive, converted to float32 and made contiguous (C order).
   * `name` (the state-dict key) only labels errors.
   */
  read(tensor: TensorRef, name?: string): Float32Array;
}

/** 2 GiB of float32: far above any ResNet tensor; a pickle claiming more is refused, not allocated. */
const MAX_ELEMENTS = 2 ** 29;
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6));
}

/** The legacy format starts with PROTO 2 and LONG1 of the magic number 0x1950a86a20f9469cfc6c. */
export function isLegacyPth(bytes: Uint8Array): boolean {
  const head = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
  return bytes.length >= head.length && head.every((b, i) => bytes[i] === b);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

const bf16Scratch = new Uint32Array(1);
const bf16Float = new Float32Array(bf16Scratch.buffer);

/** An element reader for one dtype over a storage's bytes. */
function elementReader(dtype: StorageDtype, view: DataView, little: boolean): (i: number) => number {
  switch (dtype) {
    case 'float32': return (i) => view.getFloat32(i * 4, little);
    case 'float64': return (i) => view.getFloat64(i * 8, little);
    case 'float16': return (i) => halfToFloat(view.getUint16(i * 2, little));
    case 'bfloat16': return (i) => {
      bf16Scratch[0] = view.getUint16(i * 2, little) << 16;
      return bf16Float[0];
    };
    case 'int64': return (i) => Number(view.getBigInt64(i * 8, little));
    case 'int32': return (i) => view.getInt32(i * 4, little);
    case 'int16': return (i) => view.getInt16(i * 2, little);
    case 'int8': return (i) => view.getInt8(i);
    case 'uint8': return (i) => view.getUint8(i);
    case 'bool': return (i) => (view.getUint8(i) ? 1 : 0);
  }
}

/**
 * Copy a strided view of a storage into a contiguous Float32Array. Validates what the pickle claims:
 * sizes and strides non-negative, every addressed element inside the storage's bytes.
 */
export function readStrided(tensor: TensorRef, storageBytes: Uint8Array, byteorder: ByteOrder, where: string): Float32Array {
  const { shape, stride, offset, dtype } = tensor;
  const numel = tensor.storage?.numel;
  if (shape.length !== stride.length) throw new Error(`${where}: ${shape.length} sizes but ${stride.length} strides`);
  if (shape.some((d) => d < 0)) throw new Error(`${where}: negative size in [${shape}]`);
  if (stride.some((s) => s < 0)) throw new Error(`${where}: negative stride in [${stride}] (torch tensors never have one: the file is malformed)`);
  if (offset < 0) throw new Error(`${where}: negative storage offset ${offset}`);
  const item = DTYPE_BYTES[dtype];
  // The storage's own declared size bounds the view, even where its record holds more bytes.
  const available = Math.min(Math.floor(storageBytes.byteLength / item), numel ?? Infinity);
  const count = elementCount(shape);
  if (count > MAX_ELEMENTS) throw new Error(`${where}: shape [${shape}] has ${count} elements, more than the ${MAX_ELEMENTS} read here`);
  if (count === 0) return new Float32Array(0);
  const last = offset + shape.reduce((acc, d, k) => acc + (d - 1) * stride[k], 0);
  if (last >= available) {
    throw new Error(
      `${where}: shape [${shape}] with strides [${stride}] at offset ${offset} reaches element ${last}, ` +
        `but its storage holds ${available} ${dtype} elements`,
    );
  }
  const out = new Float32Array(count);
  const little = byteorder === 'little';
  const view = new DataView(storageBytes.buffer, storageBytes.byteOffset, storageBytes.byteLength);
  // Fast path: a contiguous little-endian float32 tensor is one copy.
  let contiguous = true;
  for (let k = shape.length - 1, expect = 1; k >= 0; k--) {
    if (shape[k] !== 1 && stride[k] !== expect) contiguous = false;
    expect *= shape[k];
  }
  if (contiguous && dtype === 'float32' && little) {
    new Uint8Array(out.buffer).set(storageBytes.subarray(offset * 4, (offset + count) * 4));
    return out;
  }
  const get = elementReader(dtype, view, little);
  if (contiguous) {
    for (let i = 0; i < count; i++) out[i] = get(offset + i);
    return out;
  }
  // General case: walk the index odometer, C order.
  const index = new Array<number>(shape.length).fill(0);
  let at = offset;
  for (let i = 0; i < count; i++) {
    out[i] = get(at);
    for (let k = shape.length - 1; k >= 0; k--) {
      index[k]++;
      at += stride[k];
      if (index[k] < shape[k]) break;
      at -= stride[k] * shape[k];
      index[k] = 0;
    }
  }
  return out;
}

function checkStorageSize(storage: StorageRef, bytes: Uint8Array, record: string, what: string, name: string): void {
  const expected = storage.numel * DTYPE_BYTES[storage.dtype];
  if (bytes.byteLength < expected) {
    throw new Error(`${what}: ${name}: ${record} holds ${bytes.byteLength} bytes, but its ${storage.dtype} storage needs ${expected} (truncated or corrupt file)`);
  }
}

/** Read a zip-format torch.save file. Entries are read lazily: a tensor's record only when asked. */
export function readPthZip(bytes: Uint8Array, what = 'checkpoint'): PthArchive {
  const zip = readZip(bytes, what);
  const names = [...zip.entries.keys()];
  const pickles = names.filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) {
    throw new Error(
      `${what}: a zip, but not a torch.save checkpoint: expected one '<name>/data.pkl', found ${pickles.length}` +
        ` (entries: ${names.slice(0, 4).map((n) => `'${printable(n, 60)}'`).join(', ')}${names.length > 4 ? ', ...' : ''})`,
    );
  }
  const prefix = pickles[0].slice(0, -'/data.pkl'.length);
  let byteorder: ByteOrder = 'little';
  const order = zip.entries.has(`${prefix}/byteorder`) ? zip.read(`${prefix}/byteorder`) : undefined;
  if (order) {
    const text = new TextDecoder().decode(order).trim();
    if (text !== 'little' && text !== 'big') throw new Error(`${what}: zip entry '${prefix}/byteorder' holds an unknown byte order '${printable(text, 20)}'`);
    byteorder = text;
  }
  const versionRecord = `${prefix}/version`;
  if (zip.entries.has(versionRecord)) {
    // torch.load reads it too; a corrupted one is a corrupted archive.
    const text = new TextDecoder().decode(zip.read(versionRecord)).trim();
    if (!/^\d{1,3}$/.test(text)) throw new Error(`${what}: zip entry '${printable(versionRecord)}' holds '${printable(text, 20)}', not a serialization version`);
  }
  const { value: root } = unpickle(zip.read(pickles[0]), { what: `${what} (${printable(pickles[0])})` });
  return {
    format: 'zip',
    root,
    prefix,
    byteorder,
    read(tensor: TensorRef, name = 'tensor'): Float32Array {
      const record = `${prefix}/data/${tensor.storage.key}`;
      if (!zip.entries.has(record)) {
        throw new Error(`${what}: ${name} refers to storage '${printable(tensor.storage.key)}', but the archive has no '${printable(record)}'`);
      }
      const data = zip.read(record);
      checkStorageSize(tensor.storage, data, `zip entry ${printable(record)}`, what, name);
      return readStrided(tensor, data, byteorder, `${what}: ${name} (${record})`);
    },
  };
}

/** Read a legacy (PyTorch < 1.6) torch.save file. */
export function readPthLegacy(bytes: Uint8Array, what = 'checkpoint'): PthArchive {
  const opts = { what: `${what} (legacy format)` };
  const magic = unpickle(bytes, opts);
  if (magic.value !== LEGACY_MAGIC) throw new Error(`${what}: not a legacy torch.save file (bad magic number)`);
  const protocol = unpickle(bytes, { ...opts, offset: magic.end });
  if (protocol.value !== LEGACY_PROTOCOL_VERSION) throw new Error(`${what}: unsupported legacy protocol version ${String(protocol.value)}`);
  const sysInfo = unpickle(bytes, { ...opts, offset: protocol.end });
  let byteorder: ByteOrder = 'little';
  if (sysInfo.value instanceof Map && sysInfo.value.get('little_endian') === false) byteorder = 'big';
  const main = unpickle(bytes, { ...opts, offset: sysInfo.end, legacyPersistentIds: true });
  const keys = unpickle(bytes, { ...opts, offset: main.end });
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) {
    throw new Error(`${what}: legacy storage key list is malformed`);
  }
  // The storages follow in key order, each an int64 element count and its raw bytes. Their dtypes
  // are known only from the references in the main pickle, so collect those first.
  const dtypes = new Map<string, StorageDtype>();
  const visit = (v: PickleValue, depth: number) => {
    if (depth > 64) return;
    if (v instanceof TensorRef) dtypes.set(v.storage.key, v.storage.dtype);
    else if (Array.isArray(v)) v.forEach((x) => visit(x, depth + 1));
    else if (v instanceof Map) v.forEach((x) => visit(x, depth + 1));
  };
  visit(main.value, 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const storages = new Map<string, Uint8Array>();
  let at = keys.end;
  for (const key of keys.value as string[]) {
    const dtype = dtypes.get(key);
    if (!dtype) throw new Error(`${what}: legacy storage '${key}' is listed but no tensor uses it`);
    if (at + 8 > bytes.byteLength) throw new Error(`${what}: legacy storage '${key}' is missing: the file is truncated`);
    const numel = Number(view.getBigInt64(at, byteorder === 'little'));
    const length = numel * DTYPE_BYTES[dtype];
    if (numel < 0 || at + 8 + length > bytes.byteLength) throw new Error(`${what}: legacy storage '${key}' is cut short: the file is truncated`);
    storages.set(key, bytes.subarray(at + 8, at + 8 + length));
    at += 8 + length;
  }
  return {
    format: 'legacy',
    root: main.value,
    prefix: '',
    byteorder,
    read(tensor: TensorRef, name = 'tensor'): Float32Array {
      const data = storages.get(tensor.storage.key);
      if (!data) throw new Error(`${what}: ${name} refers to storage '${tensor.storage.key}', which the file does not hold`);
      checkStorageSize(tensor.storage, data, `legacy storage '${printable(tensor.storage.key)}'`, what, name);
      return readStrided(tensor, data, byteorder, `${what}: ${name} (legacy storage '${tensor.storage.key}')`);
    },
  };
}

/** Read any torch.save file: zip (PyTorch >= 1.6) or legacy. */
export function readPth(bytes: Uint8Array, what = 'checkpoint'): PthArchive {
  if (isZip(bytes)) return readPthZip(bytes, what);
  if (isLegacyPth(bytes)) return readPthLegacy(bytes, what);
  throw new Error(`${what}: not a torch.save file (neither a zip archive nor the legacy format)`);
}
