// Write a state dict of float32 tensors as a genuine torch.save file (the zip format of PyTorch >= 1.6),
// loadable by torch.load(path, weights_only=True) and by pth.ts. Browser-safe.
//
// The archive, as PyTorch's own writer lays it out:
//   archive/data.pkl    protocol-2 pickle: OrderedDict of name -> _rebuild_tensor_v2(
//                         persistent_id ('storage', torch.FloatStorage, '<N>', 'cpu', numel),
//                         storage_offset 0, size, contiguous stride, requires_grad False, OrderedDict())
//   archive/byteorder   'little'
//   archive/data/<N>    the N-th tensor's float32 values, little-endian
//   archive/version     '3'
// Every entry is STORED (uncompressed), and its data starts at a multiple of 64 bytes in the file,
// padded with an extra field as PyTorch does ('FB' id, 'Z' bytes), so torch.load(mmap=True) can map
// the storages in place. Output is deterministic: a fixed timestamp, tensors in the map's order.

import { zipSync, type ZipOptions } from 'fflate';
import type { TensorMap } from './safetensors';
import { elementCount } from '../util/tensor';

const ALIGNMENT = 64;
const PAD_EXTRA_ID = 0x4246; // 'FB', little-endian, PyTorch's padding extra field
const FIXED_MTIME = new Date(2000, 0, 1);

/** A small pickle emitter: just the opcodes a state dict needs. */
class PickleWriter {
  private bytes: number[] = [];
  private memo = new Map<string, number>();

  op(...codes: number[]): this {
    this.bytes.push(...codes);
    return this;
  }

  private u32(v: number): void {
    this.bytes.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }

  int(v: number): this {
    if (!Number.isSafeInteger(v)) throw new Error(`pickle: ${v} is not an integer`);
    if (v >= 0 && v < 256) return this.op(0x4b, v); // BININT1
    if (v >= 0 && v < 65536) return this.op(0x4d, v & 0xff, v >> 8); // BININT2
    if (v >= -(2 ** 31) && v < 2 ** 31) {
      this.op(0x4a); // BININT
      this.u32(v >>> 0);
      return this;
    }
    // LONG1: little-endian two's complement, as short as it can be.
    const out: number[] = [];
    let b = BigInt(v);
    for (;;) {
      const byte = Number(b & 0xffn);
      out.push(byte);
      b >>= 8n;
      if ((b === 0n && !(byte & 0x80)) || (b === -1n && byte & 0x80)) break;
    }
    return this.op(0x8a, out.length, ...out);
  }

  string(s: string): this {
    const raw = new TextEncoder().encode(s);
    this.op(0x58); // BINUNICODE
    this.u32(raw.length);
    return this.op(...raw);
  }

  /** GLOBAL 'module name', memoized as the Python pickler does (BINPUT first, BINGET after). */
  global(module: string, name: string): this {
    const id = `${module}\n${name}\n`;
    const index = this.memo.get(id);
    if (index !== undefined) return index < 256 ? this.op(0x68, index) : (this.op(0x6a), this.u32(index), this);
    this.op(0x63, ...new TextEncoder().encode(id));
    const slot = this.memo.size;
    this.memo.set(id, slot);
    if (slot < 256) return this.op(0x71, slot); // BINPUT
    this.op(0x72); // LONG_BINPUT
    this.u32(slot);
    return this;
  }

  tupleOfInts(values: number[]): this {
    if (values.length === 0) return this.op(0x29); // EMPTY_TUPLE
    if (values.length > 3) this.op(0x28); // MARK
    for (const v of values) this.int(v);
    return this.op(values.length <= 3 ? [0, 0x85, 0x86, 0x87][values.length] : 0x74);
  }

  finish(): Uint8Array {
    return new Uint8Array(this.op(0x2e).bytes); // STOP
  }
}

function contiguousStrides(shape: number[]): number[] {
  const strides = new Array<number>(shape.length);
  for (let k = shape.length - 1, s = 1; k >= 0; k--) {
    strides[k] = s;
    s *= shape[k];
  }
  return strides;
}

/** The data.pkl of a state dict whose i-th tensor lives in storage '<i>'. */
function statePickle(tensors: TensorMap): Uint8Array {
  const p = new PickleWriter();
  p.op(0x80, 2); // PROTO 2
  p.global('collections', 'OrderedDict').op(0x29, 0x52); // OrderedDict()
  const names = [...tensors.keys()];
  for (let start = 0; start < names.length; start += 1000) {
    p.op(0x28); // MARK
    for (let i = start; i < Math.min(names.length, start + 1000); i++) {
      const t = tensors.get(names[i])!;
      p.string(names[i]);
      p.global('torch._utils', '_rebuild_tensor_v2');
      p.op(0x28); // MARK: the arguments
      p.op(0x28).string('storage').global('torch', 'FloatStorage').string(String(i)).string('cpu').int(t.data.length).op(0x74);
      p.op(0x51); // BINPERSID
      p.int(0); // storage offset
      p.tupleOfInts(t.shape);
      p.tupleOfInts(contiguousStrides(t.shape));
      p.op(0x89); // requires_grad False
      p.global('collections', 'OrderedDict').op(0x29, 0x52); // backward_hooks: OrderedDict()
      p.op(0x74, 0x52); // TUPLE, REDUCE
    }
    p.op(0x75); // SETITEMS
  }
  return p.finish();
}

export interface WritePthOptions {
  /** The archive's top-level folder (torch.save uses 'archive'). */
  archiveName?: string;
}

/** Serialise float32 tensors (in the map's order) as a torch.save zip checkpoint. */
export function writePth(tensors: TensorMap, options: WritePthOptions = {}): Uint8Array {
  const prefix = options.archiveName ?? 'archive';
  if (!/^[A-Za-z0-9_.-]+$/.test(prefix)) throw new Error(`writePth: archive name '${prefix}' must be a plain folder name`);
  for (const [name, t] of tensors) {
    const count = elementCount(t.shape);
    if (count !== t.data.length) throw new Error(`writePth: tensor '${name}' has shape [${t.shape}] but ${t.data.length} values`);
  }
  const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  const records: [string, Uint8Array][] = [
    [`${prefix}/data.pkl`, statePickle(tensors)],
    [`${prefix}/byteorder`, new TextEncoder().encode('little')],
  ];
  let i = 0;
  for (const t of tensors.values()) {
    let raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (!little) {
      const copy = new Uint8Array(raw.length);
      const view = new DataView(copy.buffer);
      t.data.forEach((v, j) => view.setFloat32(j * 4, v, true));
      raw = copy;
    }
    records.push([`${prefix}/data/${i++}`, raw]);
  }
  records.push([`${prefix}/version`, new TextEncoder().encode('3\n')]);

  // fflate lays local entries out back to back in insertion order: a 30-byte header, the name, the
  // extra fields (4 bytes each plus their data), then the data. Pad each so its data lands on 64.
  const zippable: Record<string, [Uint8Array, ZipOptions]> = {};
  let offset = 0;
  for (const [name, data] of records) {
    const nameLength = new TextEncoder().encode(name).length;
    let pad = (ALIGNMENT - ((offset + 30 + nameLength) % ALIGNMENT)) % ALIGNMENT;
    if (pad > 0 && pad < 4) pad += ALIGNMENT; // an extra field needs at least its 4-byte header
    const extra = pad ? { [PAD_EXTRA_ID]: new Uint8Array(pad - 4).fill(0x5a) } : undefined;
    zippable[name] = [data, { level: 0, mtime: FIXED_MTIME, ...(extra ? { extra } : {}) }];
    offset += 30 + nameLength + pad + data.length;
  }
  return zipSync(zippable);
}
