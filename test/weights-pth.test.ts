// torch.save files: the real partial checkpoint (checked against values an independent reader,
// Python's pickle + numpy, printed), the legacy format (a fixture Python's pickler wrote),
// hand-built zips for strides, dtypes and byte order, and the writer's round trip.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { expectedTensors } from '../src/model/architecture';
import { describeCheckpoint, loadCheckpoint } from '../src/weights/load';
import { readPth } from '../src/weights/pth';
import { writePth } from '../src/weights/pth-writer';
import { randomWeights } from '../src/weights/random';
import type { TensorMap } from '../src/weights/safetensors';
import type { PickleDict } from '../src/weights/unpickle';
import { craftCheckpoint, f32Bytes, torchZip, statePickle } from './fixtures/weights/craft';

const PARTIAL = fileURLToPath(new URL('../../shared/data/weights/resnet18-imagenet1k-v1-partial.pth', import.meta.url));
const HAVE_PARTIAL = existsSync(PARTIAL);
if (!HAVE_PARTIAL) console.log(`skipping the real-checkpoint tests: ${PARTIAL} is absent (../shared is not part of a clone)`);

const LAYER4_CONVS = ['layer4.0.conv1.weight', 'layer4.0.conv2.weight', 'layer4.1.conv1.weight', 'layer4.1.conv2.weight'];

function sumAndNorm(data: Float32Array): [number, number] {
  let s = 0;
  let s2 = 0;
  for (const v of data) {
    s += v;
    s2 += v * v;
  }
  return [s, Math.sqrt(s2)];
}

/** Bitwise equality of float32 arrays (vitest's deep equality is far too slow on millions of elements). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function expectClose(actual: number, expected: number, relative = 1e-9) {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(relative * Math.abs(expected));
}

describe.skipIf(!HAVE_PARTIAL)('the real partial torchvision checkpoint', () => {
  const bytes = HAVE_PARTIAL ? new Uint8Array(readFileSync(PARTIAL)) : new Uint8Array();
  const checkpoint = HAVE_PARTIAL ? loadCheckpoint(bytes, 'resnet18-imagenet1k-v1-partial.pth') : undefined!;

  it('holds 98 tensors; the four layer4 3x3 convolutions are missing', () => {
    expect(checkpoint.format).toBe('pth');
    expect(checkpoint.tensors.size).toBe(98);
    expect(checkpoint.missing).toEqual(LAYER4_CONVS);
    expect(checkpoint.sha256).toBe('ae693fb2f5d993077e2ab6f1ea16ca8bee8522250eb4d00eecb31b27ebf07c5e');
    expect(describeCheckpoint(checkpoint)).toMatch(/partial/);
    // Counts, from Python (pickle + numpy) and from arithmetic: resnet18's 11,689,512 parameters
    // less the missing 8,257,536 (256*512*9 + 3 * 512*512*9) leave 3,431,976; with the 9,600 BN
    // running statistics, 3,441,576 values. (shared/README.md says 3,433,384, which matches neither.)
    let values = 0;
    let stats = 0;
    for (const [name, t] of checkpoint.tensors) {
      values += t.data.length;
      if (name.endsWith('running_mean') || name.endsWith('running_var')) stats += t.data.length;
    }
    expect(values).toBe(3_441_576);
    expect(values - stats).toBe(3_431_976);
    // State-dict order, shapes as the architecture says.
    const expected = [...expectedTensors()].filter(([n]) => !LAYER4_CONVS.includes(n));
    expect([...checkpoint.tensors].map(([n, t]) => [n, t.shape])).toEqual(expected);
  });

  it('has BatchNorm folded: weight 1, running_mean 0, running_var float32(1 - 1e-5)', () => {
    for (const [name, t] of checkpoint.tensors) {
      if (/bn\d\.weight$|downsample\.1\.weight$/.test(name)) expect(t.data.every((v) => v === 1), name).toBe(true);
      if (name.endsWith('running_mean')) expect(t.data.every((v) => v === 0), name).toBe(true);
      if (name.endsWith('running_var')) expect(t.data.every((v) => v === Math.fround(1 - 1e-5)), name).toBe(true);
    }
  });

  it('agrees with values Python + numpy read independently', () => {
    const get = (n: string) => checkpoint.tensors.get(n)!.data;
    expect(Array.from(get('conv1.weight').subarray(0, 4))).toEqual([-0.002536008134484291, -0.0014933706261217594, -0.00044048871495760977, 0.018215958029031754]);
    expect(Array.from(get('fc.weight').subarray(999 * 512 + 508))).toEqual([0.10164375603199005, 0.04173125699162483, -0.05003000423312187, 0.06632734090089798]);
    const w = get('layer3.1.conv2.weight'); // [256, 256, 3, 3]: element [255, 255, 2, x]
    expect(Array.from(w.subarray(w.length - 3))).toEqual([-0.07601693272590637, -0.11290561407804489, -0.060906700789928436]);
    const sums: [string, number, number][] = [
      ['conv1.weight', -0.608706822990095, 3.2642847176971355],
      ['layer3.1.conv2.weight', -1822.9936111222696, 32.82492370717301],
      ['fc.weight', 0.02995539040907147, 49.700774579205124],
      ['fc.bias', -5.973772204015404e-5, 0.5034574918170426],
      ['bn1.bias', 11.66654592417989, 2.764072795061361],
      ['layer2.0.downsample.0.weight', -16.43721261372974, 5.333565508635112],
    ];
    for (const [name, sum, norm] of sums) {
      const [s, n] = sumAndNorm(get(name));
      expectClose(s, sum, 1e-8);
      expectClose(n, norm);
    }
  });

  it('matches the raw bytes of data/<key> read straight from the zip', () => {
    const files = unzipSync(bytes);
    const prefix = 'resnet18-imagenet1k-v1-partial';
    // Storage keys from pickletools' disassembly of data.pkl.
    for (const [name, key] of [['conv1.weight', '0'], ['bn1.weight', '1'], ['layer3.1.conv2.weight', '84'], ['fc.weight', '96'], ['fc.bias', '97']]) {
      const raw = files[`${prefix}/data/${key}`];
      const data = checkpoint.tensors.get(name)!.data;
      expect(raw.byteLength, name).toBe(data.byteLength);
      expect(sameBits(new Float32Array(raw.slice().buffer), data), name).toBe(true);
    }
  });

  it('survives writePth -> loadCheckpoint bit for bit', () => {
    const again = loadCheckpoint(writePth(checkpoint.tensors), 'rewritten.pth', { hash: false });
    expect(again.missing).toEqual(LAYER4_CONVS);
    for (const [name, t] of checkpoint.tensors) expect(sameBits(again.tensors.get(name)!.data, t.data), name).toBe(true);
  });

  it('reports a truncated download in one line', () => {
    for (const length of [bytes.length - 1000, bytes.length >> 1, 100]) {
      expect(() => loadCheckpoint(bytes.subarray(0, length), 'cut.pth')).toThrowError(/^cut\.pth: not a readable zip archive \(.*\): the file is truncated or corrupt$/);
    }
  });
});

describe('files PyTorch 1.13 wrote (test/fixtures/weights/make-torch.py)', () => {
  const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/weights/${name}`, import.meta.url)));
  const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

  for (const [name, format] of [['torch-1.13-zip.pth', 'pth'], ['torch-1.13-legacy.pth', 'pth-legacy']] as const) {
    it(`${name}: unwraps 'model' and 'module.', reads float16 channels-last, bfloat16, float64, views and Parameters`, () => {
      const c = loadCheckpoint(fixture(name), name);
      expect(c.format).toBe(format);
      expect([...c.tensors.keys()]).toEqual(['conv1.weight', 'bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var']);
      expect(c.missing.length).toBe(expectedTensors().size - 5);
      expect(Array.from(c.tensors.get('bn1.weight')!.data)).toEqual(range(64, (i) => 1 + i / 64));
      expect(Array.from(c.tensors.get('bn1.bias')!.data)).toEqual(range(64, (i) => (i - 32) / 16));
      expect(Array.from(c.tensors.get('bn1.running_mean')!.data)).toEqual(range(64, (i) => 10 + 2 * i));
      expect(Array.from(c.tensors.get('bn1.running_var')!.data)).toEqual(range(64, (i) => 0.5 + i / 64));
      const conv = c.tensors.get('conv1.weight')!;
      expect(conv.shape).toEqual([64, 3, 7, 7]);
      let wrong = 0;
      for (let o = 0; o < 64; o++) for (let ch = 0; ch < 3; ch++) for (let y = 0; y < 7; y++) for (let x = 0; x < 7; x++) {
        if (conv.data[((o * 3 + ch) * 7 + y) * 7 + x] !== (o % 8) + ch / 4 + y / 16 + x / 128) wrong++;
      }
      expect(wrong).toBe(0);
    });
  }

  it('keeps the _metadata that BUILD sets on the OrderedDict', () => {
    const archive = readPth(fixture('torch-1.13-zip.pth'), 'zip');
    const model = (archive.root as Map<string, unknown>).get('model') as PickleDict;
    const metadata = model.attributes.get('_metadata') as PickleDict;
    expect((metadata.get('module.bn1') as PickleDict).get('version')).toBe(2);
    expect(archive.prefix).toBe('torch-1.13-zip');
  });

  it('reports truncated files in one line', () => {
    const legacy = fixture('torch-1.13-legacy.pth');
    expect(() => loadCheckpoint(legacy.subarray(0, legacy.length - 10), 'legacy.pth')).toThrowError(/^legacy\.pth: legacy storage '\d+' is cut short: the file is truncated$/);
    const zip = fixture('torch-1.13-zip.pth');
    expect(() => loadCheckpoint(zip.subarray(0, zip.length - 10), 'zip.pth')).toThrowError(/^zip\.pth: not a readable zip archive/);
  });
});

describe('hand-built archives', () => {
  const range = (n: number, f: (i: number) => number = (i) => i) => Array.from({ length: n }, (_, i) => f(i));

  it('reads non-contiguous views, offsets and zero strides', () => {
    // fc.bias as every third element of a storage, from offset 5; bn1.bias as one value broadcast.
    const storage = f32Bytes(range(3005, (i) => i / 4));
    const bytes = craftCheckpoint([
      { name: 'fc.bias', storage, numel: 3005, offset: 5, shape: [1000], stride: [3] },
      { name: 'bn1.bias', storage: f32Bytes([2.5]), numel: 1, shape: [64], stride: [0] },
    ]);
    const c = loadCheckpoint(bytes, 'views.pth');
    expect(Array.from(c.tensors.get('fc.bias')!.data)).toEqual(range(1000, (i) => (5 + 3 * i) / 4));
    expect(c.tensors.get('bn1.bias')!.data.every((v) => v === 2.5)).toBe(true);
  });

  it('transposed 4-D views come out in C order', () => {
    // layer1.0.conv1.weight [64, 64, 3, 3] stored as [3, 3, 64(in), 64(out)].
    const value = (o: number, i: number, y: number, x: number) => o * 1000 + i * 10 + y * 3 + x;
    const stored = new Float32Array(64 * 64 * 9);
    for (let o = 0; o < 64; o++) for (let i = 0; i < 64; i++) for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) {
      stored[((y * 3 + x) * 64 + i) * 64 + o] = value(o, i, y, x);
    }
    const bytes = craftCheckpoint([{ name: 'layer1.0.conv1.weight', storage: new Uint8Array(stored.buffer), numel: stored.length, shape: [64, 64, 3, 3], stride: [1, 64, 3 * 64 * 64, 64 * 64] }]);
    const data = loadCheckpoint(bytes, 't.pth').tensors.get('layer1.0.conv1.weight')!.data;
    expect(data[0]).toBe(0);
    expect(data[((7 * 64 + 9) * 3 + 2) * 3 + 1]).toBe(value(7, 9, 2, 1));
    expect(data[data.length - 1]).toBe(value(63, 63, 2, 2));
  });

  it('converts float64, float16 and bfloat16, in both byte orders', () => {
    const values = [1, -2.5, 0.375, 1024];
    for (const byteorder of ['little', 'big']) {
      const little = byteorder === 'little';
      const f64 = new DataView(new ArrayBuffer(8 * values.length));
      const f16 = new DataView(new ArrayBuffer(2 * values.length));
      const bf16 = new DataView(new ArrayBuffer(2 * values.length));
      const halves = [0x3c00, 0xc100, 0x3600, 0x6400]; // the same values as IEEE half
      values.forEach((v, i) => {
        f64.setFloat64(8 * i, v, little);
        f16.setUint16(2 * i, halves[i], little);
        bf16.setUint16(2 * i, new Uint32Array(new Float32Array([v]).buffer)[0] >>> 16, little);
      });
      const tensors = [
        { name: 'bn1.weight', storage: new Uint8Array(f64.buffer), numel: 4, storageType: 'DoubleStorage', shape: [64], stride: [0] },
        { name: 'fc.bias', storage: new Uint8Array(f64.buffer), numel: 4, storageType: 'DoubleStorage', shape: [1000], stride: [0] },
      ];
      // One file per dtype: a [4]-element view is not a ResNet shape, so read through readPth directly.
      for (const [storage, type] of [[f64, 'DoubleStorage'], [f16, 'HalfStorage'], [bf16, 'BFloat16Storage']] as const) {
        const zip = torchZip(statePickle([{ name: 'x', storage: new Uint8Array(storage.buffer), numel: 4, storageType: type, shape: [4] }]), { 0: new Uint8Array(storage.buffer) }, { byteorder });
        const archive = readPth(zip, 'dtypes.pth');
        expect(archive.byteorder).toBe(byteorder);
        const ref = (archive.root as Map<string, unknown>).get('x') as Parameters<typeof archive.read>[0];
        expect(Array.from(archive.read(ref)), `${type} ${byteorder}`).toEqual(values);
      }
      expect(loadCheckpoint(craftCheckpoint(tensors, { byteorder }), 'f64.pth').tensors.get('bn1.weight')!.data[0]).toBe(1);
    }
  });

  it('refuses strides and offsets that leave the storage, and storages that are short', () => {
    const storage = f32Bytes(range(64));
    const load = (t: Parameters<typeof craftCheckpoint>[0][number]) => () => loadCheckpoint(craftCheckpoint([t]), 'bad.pth');
    expect(load({ name: 'bn1.bias', storage, numel: 64, shape: [64], stride: [-1], offset: 63 })).toThrowError(/^bad\.pth: tensor 'bn1\.bias' \(archive\/data\/0\): negative stride in \[-1\]/);
    expect(load({ name: 'bn1.bias', storage, numel: 64, shape: [64], stride: [2] })).toThrowError(/tensor 'bn1\.bias' \(archive\/data\/0\): shape \[64\] with strides \[2\] at offset 0 reaches element 126, but its storage holds 64 float32 elements/);
    expect(load({ name: 'bn1.bias', storage, numel: 64, shape: [64], offset: 1 })).toThrowError(/reaches element 64, but its storage holds 64/);
    expect(load({ name: 'bn1.bias', storage: storage.subarray(0, 200), numel: 64, shape: [64] })).toThrowError(/archive\/data\/0 holds 200 bytes, but its float32 storage needs 256 \(truncated or corrupt file\)/);
    expect(load({ name: 'bn1.bias', storage, numel: 64, shape: [64], stride: [1, 1] })).toThrowError(/1 sizes but 2 strides/);
    // A broadcast view claiming 2^40 elements is refused before anything is allocated.
    const huge = torchZip(statePickle([{ name: 'x', storage, numel: 64, shape: [2 ** 20, 2 ** 20], stride: [0, 0] }]), { 0: storage });
    const archive = readPth(huge, 'huge.pth');
    const ref = (archive.root as Map<string, unknown>).get('x') as Parameters<typeof archive.read>[0];
    expect(() => archive.read(ref, "tensor 'x'")).toThrowError(/^huge\.pth: tensor 'x' \(archive\/data\/0\): shape \[1048576,1048576\] has 1099511627776 elements, more than the 536870912 read here$/);
    const noStorage = torchZip(statePickle([{ name: 'bn1.bias', storage, numel: 64, shape: [64] }]), {});
    expect(() => loadCheckpoint(noStorage, 'bad.pth')).toThrowError(/tensor 'bn1\.bias' refers to storage '0', but the archive has no 'archive\/data\/0'/);
  });

  it('refuses zips that are not checkpoints, and files that are neither format', () => {
    expect(() => loadCheckpoint(torchZip(new Uint8Array(0), {}, { prefix: 'a/b' }), 'x.zip')).toThrowError(/^x\.zip: a zip, but not a torch\.save checkpoint: expected one '<name>\/data\.pkl', found 0/);
    expect(() => loadCheckpoint(new Uint8Array(0), 'empty.pth')).toThrowError(/^empty\.pth: the file is empty$/);
    expect(() => loadCheckpoint(new TextEncoder().encode('<!DOCTYPE html><html>403</html>'), 'w.pth')).toThrowError(/a web page, not a checkpoint/);
    expect(() => loadCheckpoint(new TextEncoder().encode('version https://git-lfs.github.com/spec/v1\noid sha256:abc'), 'l.pth')).toThrowError(/Git LFS pointer/);
    expect(() => loadCheckpoint(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 'r.bin')).toThrowError(/^r\.bin: is an unknown format \(first bytes 01 02 03 04 05 06 07 08\)/);
  });
});

describe('writePth', () => {
  const weights: TensorMap = randomWeights(20240611);
  const bytes = writePth(weights);

  it('round-trips through loadCheckpoint bit for bit', () => {
    const c = loadCheckpoint(bytes, 'random.pth');
    expect(c.missing).toEqual([]);
    expect([...c.tensors.keys()]).toEqual([...weights.keys()]);
    for (const [name, t] of weights) {
      expect(c.tensors.get(name)!.shape, name).toEqual(t.shape);
      expect(sameBits(c.tensors.get(name)!.data, t.data), name).toBe(true);
    }
  });

  it("lays the archive out as torch.save does: STORED, 64-byte aligned, 'archive/' prefix, version 3", () => {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const names: string[] = [];
    let at = 0;
    while (view.getUint32(at, true) === 0x04034b50) {
      const method = view.getUint16(at + 8, true);
      const size = view.getUint32(at + 18, true);
      const nameLength = view.getUint16(at + 26, true);
      const extraLength = view.getUint16(at + 28, true);
      const name = new TextDecoder().decode(bytes.subarray(at + 30, at + 30 + nameLength));
      const data = at + 30 + nameLength + extraLength;
      expect(method, name).toBe(0);
      expect(data % 64, name).toBe(0);
      names.push(name);
      at = data + size;
    }
    expect(names.slice(0, 3)).toEqual(['archive/data.pkl', 'archive/byteorder', 'archive/data/0']);
    expect(names[names.length - 1]).toBe('archive/version');
    expect(names.length).toBe(weights.size + 3);
    const files = unzipSync(bytes, { filter: (f) => f.name === 'archive/version' || f.name === 'archive/byteorder' });
    expect(new TextDecoder().decode(files['archive/version']).trim()).toBe('3');
    expect(new TextDecoder().decode(files['archive/byteorder'])).toBe('little');
  });

  it('is deterministic, and writes scalars and any tensor map', () => {
    const small: TensorMap = new Map([
      ['a', { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) }],
      ['b', { shape: [], data: new Float32Array([7]) }],
    ]);
    const first = writePth(small);
    expect(Buffer.from(writePth(small)).equals(Buffer.from(first))).toBe(true);
    const archive = readPth(first, 'small.pth');
    const root = archive.root as Map<string, Parameters<typeof archive.read>[0]>;
    expect(Array.from(archive.read(root.get('a')!))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(root.get('b')!.shape).toEqual([]);
    expect(Array.from(archive.read(root.get('b')!))).toEqual([7]);
    expect(() => writePth(new Map([['x', { shape: [2], data: new Float32Array(3) }]]))).toThrowError(/shape \[2\] but 3 values/);
  });
});

// Optional: where a Python with PyTorch exists (Debian's python3-torch), torch.load itself reads
// writePth's output with weights_only=True. Never required.
const PYTHON_WITH_TORCH = ['/usr/bin/python3', 'python3'].find((python) => spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);
if (!PYTHON_WITH_TORCH) console.log('skipping the torch.load cross-check: no python3 with torch on this machine (optional)');

describe.skipIf(!PYTHON_WITH_TORCH)('torch.load reads writePth output', () => {
  it('with weights_only=True, values equal', () => {
    const weights = randomWeights(77);
    const dir = mkdtempSync(join(tmpdir(), 'resnet-stream-pth-'));
    try {
      const file = join(dir, 'random.pth');
      writeFileSync(file, writePth(weights));
      const script = [
        'import json, sys, torch',
        'sd = torch.load(sys.argv[1], weights_only=True)',
        'print(json.dumps({k: [list(v.shape), str(v.dtype), v.double().sum().item(), v.flatten()[-1].item()] for k, v in sd.items()}))',
      ].join('\n');
      const run = spawnSync(PYTHON_WITH_TORCH!, ['-c', script, file], { encoding: 'utf8', maxBuffer: 1 << 24 });
      expect(run.status, run.stderr).toBe(0);
      const seen = JSON.parse(run.stdout) as Record<string, [number[], string, number, number]>;
      expect(Object.keys(seen)).toEqual([...weights.keys()]);
      for (const [name, t] of weights) {
        const [shape, dtype, sum, last] = seen[name];
        expect([shape, dtype, last], name).toEqual([t.shape, 'torch.float32', t.data[t.data.length - 1]]);
        const [ours] = sumAndNorm(t.data);
        expect(Math.abs(sum - ours), name).toBeLessThan(1e-9 * t.data.length);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
