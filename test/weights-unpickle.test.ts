// The restricted unpickler: Python's own pickles decode to the right values; anything a state dict
// cannot contain is refused with a one-line error, before it could run.

import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../src/weights/load';
import { PickleDict, StorageRef, TensorRef, unpickle } from '../src/weights/unpickle';
import { Asm, statePickle, torchZip } from './fixtures/weights/craft';

const hex = (h: string) => Uint8Array.from(h.match(/../g)!.map((b) => parseInt(b, 16)));

// Python 3.12: pickle.dumps(v, protocol=p) of
// v = {'ints': [0, 1, 255, 256, 65535, 65536, -1, -2**31, 2**31, -(2**40), 2**53 - 1, 2**70, -(2**70)],
//      'floats': [1.5, -0.0, 1e300], 'str': ('x', 'ü€😀', b'\x00\x01\xff'), 'flags': [True, False, None],
//      'nested': {'d': {}, 'l': [], 't': ()}, (1, 2): 'tuple key', 7: 'int key'}
// Protocol 2 spells the bytes as _codecs.encode('\x00\x01ÿ', 'latin1'); protocol 4 uses FRAME,
// MEMOIZE, SHORT_BINUNICODE and SHORT_BINBYTES.
const PYTHON_PICKLES: Record<number, string> = {
  2: '80027d7100285804000000696e747371015d7102284b004b014bff4d00014dffff4a000001004affffffff4a000000808a0500000080008a060000000000ff8a07ffffffffffff1f8a090000000000000000408a090000000000000000c0655806000000666c6f61747371035d710428473ff8000000000000478000000000000000477e37e43c8800759c655803000000737472710558010000007871065809000000c3bce282acf09f98807107635f636f646563730a656e636f64650a710858040000000001c3bf710958060000006c6174696e31710a86710b52710c87710d5805000000666c616773710e5d710f2888894e6558060000006e657374656471107d71112858010000006471127d711358010000006c71145d7115580100000074711629754b014b0286711758090000007475706c65206b657971184b075807000000696e74206b65797119752e',
  4: '800495ea000000000000007d94288c04696e7473945d94284b004b014bff4d00014dffff4a000001004affffffff4a000000808a0500000080008a060000000000ff8a07ffffffffffff1f8a090000000000000000408a090000000000000000c0658c06666c6f617473945d9428473ff8000000000000478000000000000000477e37e43c8800759c658c03737472948c0178948c09c3bce282acf09f98809443030001ff9487948c05666c616773945d942888894e658c066e6573746564947d94288c0164947d948c016c945d948c01749429754b014b0286948c097475706c65206b6579944b078c07696e74206b657994752e',
};

describe('unpickle: values from Python pickles', () => {
  for (const protocol of [2, 4]) {
    it(`decodes protocol ${protocol}`, () => {
      const { value, end } = unpickle(hex(PYTHON_PICKLES[protocol]));
      expect(end).toBe(PYTHON_PICKLES[protocol].length / 2);
      expect(value).toBeInstanceOf(PickleDict);
      const d = value as PickleDict;
      expect(d.get('ints')).toEqual([0, 1, 255, 256, 65535, 65536, -1, -(2 ** 31), 2 ** 31, -(2 ** 40), 2 ** 53 - 1, 2n ** 70n, -(2n ** 70n)]);
      const floats = d.get('floats') as number[];
      expect(floats[0]).toBe(1.5);
      expect(Object.is(floats[1], -0)).toBe(true);
      expect(floats[2]).toBe(1e300);
      const str = d.get('str') as unknown[];
      expect(Object.isFrozen(str)).toBe(true); // a tuple
      expect(str.slice(0, 2)).toEqual(['x', 'ü€😀']);
      expect(Array.from(str[2] as Uint8Array)).toEqual([0, 1, 255]);
      expect(d.get('flags')).toEqual([true, false, null]);
      const nested = d.get('nested') as PickleDict;
      expect(nested.get('d')).toBeInstanceOf(PickleDict);
      expect(nested.get('l')).toEqual([]);
      expect(nested.get('t')).toEqual([]);
      expect(d.get(7)).toBe('int key');
      const tupleKey = [...d.keys()].find((k) => Array.isArray(k));
      expect(tupleKey).toEqual([1, 2]);
      expect(d.get(tupleKey!)).toBe('tuple key');
    });
  }

  it('builds tensor references from persistent ids, and OrderedDict _metadata from BUILD', () => {
    const a = new Asm().proto().global('collections', 'OrderedDict').emptyTuple().reduce();
    a.str('w').tensor('7', 12, 2, [2, 5], [6, 1]).setitem();
    // BUILD {'_metadata': {'': {'version': 1}}}, as nn.Module.state_dict() leaves it.
    a.emptyDict().str('_metadata').emptyDict().str('').emptyDict().str('version').int(1).setitem().setitem().setitem().raw(0x62);
    const { value } = unpickle(a.stop().done());
    const d = value as PickleDict;
    expect(d.ordered).toBe(true);
    const t = d.get('w') as TensorRef;
    expect(t).toBeInstanceOf(TensorRef);
    expect(t.storage).toEqual(new StorageRef('float32', '7', 'cpu', 12));
    expect([t.offset, t.shape, t.stride]).toEqual([2, [2, 5], [6, 1]]);
    expect(((d.attributes.get('_metadata') as PickleDict).get('') as PickleDict).get('version')).toBe(1);
  });

  it('reads Python 2 strings as latin-1, byte for code point', () => {
    // SHORT_BINSTRING of bytes 41 80 9f ff: 'A\x80\x9f\xff' (windows-1252 would turn 0x80 into the euro sign)
    expect(unpickle(new Uint8Array([0x80, 0x02, 0x55, 4, 0x41, 0x80, 0x9f, 0xff, 0x2e])).value).toBe('A\x80\x9f\xff');
  });

  it('maps every torch storage class to its dtype, and unwraps _rebuild_parameter', () => {
    const dtypes: Record<string, string> = {
      FloatStorage: 'float32', HalfStorage: 'float16', BFloat16Storage: 'bfloat16', DoubleStorage: 'float64',
      LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8', BoolStorage: 'bool',
    };
    for (const [type, dtype] of Object.entries(dtypes)) {
      const a = new Asm().proto().global('torch._utils', '_rebuild_parameter').mark();
      a.tensor('0', 1, 0, [], [], type).raw(0x89).global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
      const { value } = unpickle(a.stop().done());
      expect((value as TensorRef).dtype).toBe(dtype);
    }
  });
});

describe('unpickle: refusals', () => {
  const rejects = (bytes: Uint8Array, pattern: RegExp) => {
    let message = '';
    try {
      unpickle(bytes, { what: 'evil.pth' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(pattern);
    expect(message).not.toContain('\n');
    return message;
  };

  it("refuses GLOBAL 'os system' + REDUCE, naming the global, and runs nothing", () => {
    const marker = join(tmpdir(), `resnet-stream-pwned-${process.pid}`);
    rmSync(marker, { force: true });
    // The classic payload: os.system('touch <marker>').
    const payload = new Asm().proto().global('os', 'system').str(`touch ${marker}`).raw(0x85).reduce().stop().done();
    const message = rejects(payload, /disallowed global 'os system'/);
    expect(message).toMatch(/^evil\.pth: checkpoint uses the disallowed global 'os system'; only state dicts of tensors are accepted/);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses other dangerous globals, however they are spelled', () => {
    for (const [module, name] of [['builtins', 'eval'], ['__builtin__', 'exec'], ['posix', 'system'], ['subprocess', 'Popen'], ['torch', 'load'], ['numpy.core.multiarray', '_reconstruct']]) {
      rejects(new Asm().proto().global(module, name).stop().done(), new RegExp(`disallowed global '${module.replace(/\./g, '\\.')} ${name}'`));
      rejects(new Asm().proto().stackGlobal(module, name).stop().done(), new RegExp(`disallowed global '${module.replace(/\./g, '\\.')} ${name}'`));
    }
  });

  it('refuses a whole pickled model with a hint to save its state dict', () => {
    rejects(new Asm().proto().global('torchvision.models.resnet', 'ResNet').stop().done(), /'torchvision\.models\.resnet ResNet'.*model\.state_dict\(\)/);
  });

  it('refuses calling an allowed non-function global, opcodes that build objects, and bad persistent ids', () => {
    rejects(new Asm().proto().global('torch', 'FloatStorage').emptyTuple().reduce().stop().done(), /'torch FloatStorage' cannot be called/);
    rejects(new Asm().proto().global('collections', 'OrderedDict').emptyTuple().raw(0x81).stop().done(), /NEWOBJ is not accepted/);
    rejects(new Asm().proto().mark().str('module').str('x').tuple().raw(0x51).stop().done(), /unsupported persistent id 'module'/);
    rejects(new Asm().proto().mark().str('storage').str('x').str('0').str('cpu').int(1).tuple().raw(0x51).stop().done(), /not a torch storage class/);
  });

  it('refuses tensors with backward hooks', () => {
    const a = new Asm().proto().global('torch._utils', '_rebuild_tensor_v2').mark();
    a.mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(1).tuple().raw(0x51);
    a.int(0).ints([1]).ints([1]).raw(0x89).emptyDict().str('hook').int(1).setitem().tuple().reduce().stop();
    rejects(a.done(), /backward hooks/);
  });

  it('refuses malformed pickles with one-line errors', () => {
    rejects(hex(PYTHON_PICKLES[2]).subarray(0, 100), /truncated pickle/);
    rejects(new Uint8Array([0x80, 0x02, 0xff]), /invalid pickle opcode 0xff/);
    rejects(new Uint8Array([0x80, 0x02, 0x30, 0x2e]), /stack underflow/);
    rejects(new Uint8Array([0x80, 0x02, 0x68, 0x05, 0x2e]), /memo key 5 was never stored/);
    rejects(new Uint8Array([0x80, 0x02, 0x4e, 0x4e, 0x2e]), /STOP with 2 values/);
    rejects(new Asm().proto().emptyDict().raw(0x5d).int(1).setitem().stop().done(), /unhashable dict key/);
    rejects(new Asm().proto().emptyTuple().int(1).raw(0x61).stop().done(), /APPEND on a tuple/);
    rejects(new Uint8Array([0x80, 0x06]), /unsupported pickle protocol 6/);
  });

  it('loadCheckpoint refuses the payload inside a real-looking zip, in one line', () => {
    const evil = new Asm().proto().emptyDict().str('conv1.weight').global('os', 'system').str('echo hi').raw(0x85).reduce().setitem().stop().done();
    expect(() => loadCheckpoint(torchZip(evil, {}), 'evil.pth')).toThrowError(/^evil\.pth \(archive\/data\.pkl\): checkpoint uses the disallowed global 'os system'; only state dicts of tensors are accepted/);
    // The same state dict with an honest tensor loads.
    const honest = statePickle([{ name: 'fc.bias', storage: new Uint8Array(4000), numel: 1000, shape: [1000] }]);
    expect(loadCheckpoint(torchZip(honest, { 0: new Uint8Array(4000) }), 'honest.pth').tensors.get('fc.bias')!.data.length).toBe(1000);
  });
});
