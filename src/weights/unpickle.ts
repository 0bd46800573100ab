// A restricted unpickler for PyTorch state dicts: the rules of torch.load(weights_only=True), smaller.
//
// Python's pickle is a little stack machine whose GLOBAL + REDUCE opcodes call any importable
// function, which is why loading an untrusted .pth with plain pickle runs arbitrary code. This
// reader executes nothing: it builds plain JavaScript values, and the only globals it accepts are
// the handful a state dict of tensors needs (ALLOWED_GLOBALS below). Their "calls" (REDUCE) are
// interpreted here as data constructors: OrderedDict() becomes a PickleDict, _rebuild_tensor_v2()
// becomes a TensorRef that describes where a tensor's values live. Any other global is rejected
// the moment it is read, before anything could use it.
//
// Opcodes: those of protocols 2 to 5 that dicts, lists, tuples, numbers, strings and bytes use, plus
// the protocol 0/1 container opcodes (LIST, DICT) and binary strings of old checkpoints. Opcodes
// that build arbitrary objects (NEWOBJ, INST, OBJ, EXT*) or read text numbers are rejected.

import { elementCount } from '../util/tensor';

/** Element types of torch's typed storages. */
export type StorageDtype = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export const DTYPE_BYTES: Record<StorageDtype, number> = {
  float32: 4, float16: 2, bfloat16: 2, float64: 8, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

export function isFloatDtype(dtype: StorageDtype): boolean {
  return dtype === 'float32' || dtype === 'float16' || dtype === 'bfloat16' || dtype === 'float64';
}

/** A global the pickle named (module and qualified name), after the allowlist accepted it. */
export class PickleGlobal {
  constructor(readonly module: string, readonly name: string) {}
  toString(): string {
    return `${this.module} ${this.name}`;
  }
}

/** A persistent id ('storage', <dtype>Storage, key, location, numel): the storage lives outside the pickle. */
export class StorageRef {
  constructor(
    readonly dtype: StorageDtype,
    /** The archive record is `data/<key>` (zip format) or the key in the legacy format's storage list. */
    readonly key: string,
    /** Device the tensor was saved from ('cpu', 'cuda:0'); irrelevant here. */
    readonly location: string,
    /** Number of elements of `dtype` the storage holds. */
    readonly numel: number,
  ) {}
}

/** A tensor described by torch._utils._rebuild_tensor(_v2): a strided view of a storage. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
  get dtype(): StorageDtype {
    return this.storage.dtype;
  }
  get numel(): number {
    return elementCount(this.shape);
  }
}

export type PickleKey = string | number | bigint | boolean | null | PickleValue[];

/** A Python dict or OrderedDict. `attributes` holds what a BUILD set on it (OrderedDict's `_metadata`). */
export class PickleDict extends Map<PickleKey, PickleValue> {
  readonly attributes = new Map<string, PickleValue>();
  constructor(readonly ordered = false) {
    super();
  }
}

/**
 * What the unpickler produces. Lists and tuples are both arrays; tuples are frozen. Integers are
 * numbers when they fit in a double exactly, bigints otherwise.
 */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | PickleDict
  | PickleGlobal
  | StorageRef
  | TensorRef;

const STORAGE_TYPES: Record<string, StorageDtype> = {
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  DoubleStorage: 'float64',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

/** The globals a state dict of tensors needs; everything else is refused. */
export const ALLOWED_GLOBALS: readonly string[] = [
  'collections OrderedDict',
  '_codecs encode', // how protocol 2 pickles Python 3 bytes: encode(str, 'latin1')
  'torch._utils _rebuild_tensor_v2',
  'torch._utils _rebuild_tensor',
  'torch._utils _rebuild_parameter',
  ...Object.keys(STORAGE_TYPES).map((s) => `torch ${s}`),
];
const ALLOWED = new Set(ALLOWED_GLOBALS);

export interface UnpickleOptions {
  /** Names the input in error messages (e.g. the file name). */
  what?: string;
  /** Where the pickle starts in `bytes` (the legacy format holds several pickles back to back). */
  offset?: number;
  /** Accept the legacy format's 6-element persistent ids (..., view_metadata). */
  legacyPersistentIds?: boolean;
}

export interface UnpickleResult {
  value: PickleValue;
  /** Offset just past the STOP opcode. */
  end: number;
}


const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT',
  0x4a: 'BININT', 0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID',
  0x51: 'BINPERSID', 0x52: 'REDUCE', 0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND', 0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT',
  0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET', 0x69: 'INST', 0x6a: 'LONG_BINGET',
  0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT',
  0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1',
  0x86: 'TUPLE2', 0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4',
  0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes to code points 0-255 (TextDecoder's 'latin1' is really windows-1252). */
function latin1String(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

function describe(v: PickleValue): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return Object.isFrozen(v) ? `a tuple of ${v.length}` : `a list of ${v.length}`;
  if (v instanceof PickleDict) return 'a dict';
  if (v instanceof PickleGlobal) return `the global '${v}'`;
  if (v instanceof StorageRef) return 'a storage';
  if (v instanceof TensorRef) return 'a tensor';
  if (v instanceof Uint8Array) return 'bytes';
  return typeof v;
}

/** Parse one pickle. Throws a one-line Error on anything a state dict cannot contain. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions = {}): UnpickleResult {
  const what = options.what ?? 'pickle';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = options.offset ?? 0;
  let opPos = pos;
  const stack: PickleValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();

  const fail = (message: string): never => {
    throw new Error(`${what}: ${message} (pickle byte ${opPos})`);
  };
  const need = (n: number) => {
    if (n < 0 || pos + n > bytes.byteLength) fail(`truncated pickle: ${n} bytes needed, ${bytes.byteLength - pos} left`);
  };
  const u8 = () => (need(1), bytes[pos++]);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(bytes.byteLength)) fail(`length ${v} exceeds the input`);
    return Number(v);
  };
  const take = (n: number) => (need(n), (pos += n), bytes.subarray(pos - n, pos));
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('truncated pickle: unterminated line');
    const s = latin1String(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const text = (n: number) => {
    const raw = take(n);
    try {
      return utf8.decode(raw);
    } catch {
      return fail('invalid UTF-8 in a string');
    }
  };
  const latin1 = (n: number) => latin1String(take(n));

  const pop = (): PickleValue => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1])) fail('stack underflow');
    return stack.pop()!;
  };
  const top = (): PickleValue => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1])) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): PickleValue[] => {
    const at = marks.pop();
    if (at === undefined) fail('no MARK on the stack');
    return stack.splice(at!);
  };
  const push = (v: PickleValue) => stack.push(v);
  const tuple = (items: PickleValue[]) => Object.freeze(items) as PickleValue[];
  const list = (target: PickleValue, opname: string): PickleValue[] => {
    if (!Array.isArray(target) || Object.isFrozen(target)) fail(`${opname} on ${describe(target)}, expected a list`);
    return target as PickleValue[];
  };
  const dict = (target: PickleValue, opname: string): PickleDict => {
    if (!(target instanceof PickleDict)) fail(`${opname} on ${describe(target)}, expected a dict`);
    return target as PickleDict;
  };
  const key = (k: PickleValue): PickleKey => {
    if (k === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof k) || (Array.isArray(k) && Object.isFrozen(k))) {
      return k as PickleKey;
    }
    return fail(`unhashable dict key: ${describe(k)}`);
  };
  const memoGet = (i: number) => {
    if (!memo.has(i)) fail(`memo key ${i} was never stored`);
    return memo.get(i)!;
  };
  const global = (module: string, name: string): PickleGlobal => {
    const full = `${module} ${name}`;
    if (!ALLOWED.has(full)) {
      const shown = full.length > 120 ? `${full.slice(0, 120)}...` : full;
      throw new Error(
        `${what}: checkpoint uses the disallowed global '${shown}'; only state dicts of tensors are accepted ` +
          `(a whole pickled model must be re-saved with torch.save(model.state_dict(), path))`,
      );
    }
    return new PickleGlobal(module, name);
  };
  const persistent = (pid: PickleValue): StorageRef => {
    const legacy = options.legacyPersistentIds === true;
    if (!Array.isArray(pid) || pid[0] !== 'storage') {
      return fail(`unsupported persistent id ${Array.isArray(pid) ? `'${String(pid[0])}'` : describe(pid)}; only tensor storages are accepted`);
    }
    if (pid.length !== 5 && !(legacy && pid.length === 6)) fail(`malformed storage persistent id of ${pid.length} elements`);
    const [, type, storageKey, location, numel] = pid;
    if (legacy && pid.length === 6 && pid[5] !== null) fail('storage views (legacy view_metadata) are not supported');
    if (!(type instanceof PickleGlobal) || type.module !== 'torch' || !Object.hasOwn(STORAGE_TYPES, type.name)) {
      return fail(`storage type ${describe(type)} is not a torch storage class`);
    }
    if (typeof storageKey !== 'string' || typeof location !== 'string') fail('malformed storage persistent id');
    if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) fail('storage size is not a non-negative integer');
    return new StorageRef(STORAGE_TYPES[type.name], storageKey as string, location as string, numel as number);
  };
  const ints = (v: PickleValue, label: string): number[] => {
    if (!Array.isArray(v) || !v.every((d) => typeof d === 'number' && Number.isSafeInteger(d))) {
      return fail(`tensor ${label} is not a tuple of integers`);
    }
    return [...(v as number[])];
  };
  const reduce = (fn: PickleValue, args: PickleValue): PickleValue => {
    if (!(fn instanceof PickleGlobal)) return fail(`REDUCE on ${describe(fn)}, expected a global`);
    if (!Array.isArray(args)) return fail(`REDUCE arguments are ${describe(args)}, expected a tuple`);
    const full = fn.toString();
    if (full === 'collections OrderedDict') {
      const d = new PickleDict(true);
      if (args.length === 0) return d;
      if (args.length === 1 && Array.isArray(args[0])) {
        for (const pair of args[0] as PickleValue[]) {
          if (!Array.isArray(pair) || pair.length !== 2) fail('OrderedDict items are not pairs');
          d.set(key((pair as PickleValue[])[0]), (pair as PickleValue[])[1]);
        }
        return d;
      }
      return fail('OrderedDict called with unexpected arguments');
    }
    if (full === '_codecs encode') {
      const [s, encoding] = args;
      if (args.length !== 2 || typeof s !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) {
        return fail("_codecs.encode is accepted only as protocol 2 writes bytes: encode(str, 'latin1')");
      }
      const out = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c > 255) fail('_codecs.encode: character outside latin-1');
        out[i] = c;
      }
      return out;
    }
    if (full === 'torch._utils _rebuild_tensor_v2' || full === 'torch._utils _rebuild_tensor') {
      const v2 = full.endsWith('_v2');
      if (v2 ? args.length < 6 || args.length > 7 : args.length !== 4) fail(`${fn.name} called with ${args.length} arguments`);
      const [storage, offset] = args;
      if (!(storage instanceof StorageRef)) return fail(`${fn.name}: first argument is ${describe(storage)}, expected a storage`);
      if (typeof offset !== 'number' || !Number.isSafeInteger(offset)) return fail(`${fn.name}: storage offset is not an integer`);
      const shape = ints(args[2], 'size');
      const stride = ints(args[3], 'stride');
      if (v2) {
        const hooks = args[5];
        if (!(hooks instanceof PickleDict) || hooks.size !== 0) fail('tensor has backward hooks; only plain tensors are accepted');
      }
      return new TensorRef(storage, offset, shape, stride);
    }
    if (full === 'torch._utils _rebuild_parameter') {
      if (args.length !== 3 || !(args[0] instanceof TensorRef)) return fail('_rebuild_parameter called with unexpected arguments');
      const hooks = args[2];
      if (!(hooks instanceof PickleDict) || hooks.size !== 0) fail('parameter has backward hooks; only plain tensors are accepted');
      return args[0];
    }
    return fail(`the global '${full}' cannot be called`);
  };

  for (;;) {
    opPos = pos;
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const proto = u8();
        if (proto > 5) fail(`unsupported pickle protocol ${proto}`);
        break;
      }
      case 0x95: // FRAME: a length hint only
        need(8);
        pos += 8;
        break;
      case 0x2e: { // STOP
        if (stack.length !== 1 || marks.length) fail(`STOP with ${stack.length} values on the stack`);
        return { value: pop(), end: pos };
      }
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x4a: push(i32()); break; // BININT
      case 0x4b: push(u8()); break; // BININT1
      case 0x4d: push(u16()); break; // BININT2
      case 0x8a: // LONG1
      case 0x8b: { // LONG4
        const n = op === 0x8a ? u8() : u32();
        if (n > 64) fail(`integer of ${n} bytes is too large`);
        const raw = take(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(raw[i]);
        if (n > 0 && raw[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT: big-endian double
        need(8);
        push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: push(text(u32())); break; // BINUNICODE
      case 0x8c: push(text(u8())); break; // SHORT_BINUNICODE
      case 0x8d: push(text(u64())); break; // BINUNICODE8
      case 0x54: { // BINSTRING (Python 2 str): latin-1
        const n = i32();
        if (n < 0) fail('negative string length');
        push(latin1(n));
        break;
      }
      case 0x55: push(latin1(u8())); break; // SHORT_BINSTRING
      case 0x42: push(take(u32()).slice()); break; // BINBYTES
      case 0x43: push(take(u8()).slice()); break; // SHORT_BINBYTES
      case 0x8e: push(take(u64()).slice()); break; // BINBYTES8
      case 0x7d: push(new PickleDict()); break; // EMPTY_DICT
      case 0x5d: push([]); break; // EMPTY_LIST
      case 0x29: push(tuple([])); break; // EMPTY_TUPLE
      case 0x74: { // TUPLE
        const items = popMark();
        push(tuple(items));
        break;
      }
      case 0x85: push(tuple([pop()])); break; // TUPLE1
      case 0x86: { // TUPLE2
        const b = pop();
        const a = pop();
        push(tuple([a, b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        push(tuple([a, b, c]));
        break;
      }
      case 0x6c: { // LIST
        const items = popMark();
        push(items);
        break;
      }
      case 0x64: { // DICT
        const items = popMark();
        if (items.length % 2) fail('DICT with an odd number of items');
        const d = new PickleDict();
        for (let i = 0; i < items.length; i += 2) d.set(key(items[i]), items[i + 1]);
        push(d);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        list(top(), 'APPEND').push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const target = list(top(), 'APPENDS');
        for (const v of items) target.push(v); // not push(...items): a huge MARK run would overflow the call stack
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        dict(top(), 'SETITEM').set(key(k), v);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        if (items.length % 2) fail('SETITEMS with an odd number of items');
        const d = dict(top(), 'SETITEMS');
        for (let i = 0; i < items.length; i += 2) d.set(key(items[i]), items[i + 1]);
        break;
      }
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: push(memoGet(u8())); break; // BINGET
      case 0x6a: push(memoGet(u32())); break; // LONG_BINGET
      case 0x63: { // GLOBAL: "module\nname\n"
        const module = line();
        const name = line();
        push(global(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL operands are not strings');
        push(global(module as string, name as string));
        break;
      }
      case 0x51: push(persistent(pop())); break; // BINPERSID
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        push(reduce(fn, args));
        break;
      }
      case 0x62: { // BUILD: obj.__setstate__(state); only OrderedDict attributes (e.g. _metadata)
        const state = pop();
        const target = top();
        if (!(target instanceof PickleDict)) fail(`BUILD on ${describe(target)}; only dict attributes can be set`);
        let attrs = state;
        // (dict_state, slot_state) form: take the dict part.
        if (Array.isArray(attrs) && Object.isFrozen(attrs) && attrs.length === 2) attrs = attrs[0];
        if (attrs === null) break;
        if (!(attrs instanceof PickleDict)) fail(`BUILD state is ${describe(attrs)}, expected a dict`);
        for (const [k, v] of attrs as PickleDict) {
          if (typeof k !== 'string') fail('BUILD attribute name is not a string');
          (target as PickleDict).attributes.set(k as string, v);
        }
        break;
      }
      default: {
        const name = OPCODE_NAMES[op];
        fail(name ? `pickle opcode ${name} is not accepted in a state dict` : `invalid pickle opcode 0x${op.toString(16).padStart(2, '0')}`);
      }
    }
  }
}
