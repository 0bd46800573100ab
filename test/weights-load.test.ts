// loadCheckpoint's validation (names, shapes, dtypes, values, nesting), safetensors input, and the
// seeded random weights.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BLOCKS, convTensorNames, expectedTensors } from '../src/model/architecture';
import { checkpointFromTensors, loadCheckpoint, missingFor, requireTensors } from '../src/weights/load';
import { writePth } from '../src/weights/pth-writer';
import { randomWeights } from '../src/weights/random';
import { mulberry32, normalSource } from '../src/util/random';
import { type TensorMap, writeSafetensors } from '../src/weights/safetensors';
import { sha256Hex } from '../src/weights/sha256';
import { craftCheckpoint, f32Bytes } from './fixtures/weights/craft';

function tensorMap(entries: [string, number[], number?][]): TensorMap {
  return new Map(entries.map(([name, shape, fill = 0.5]) => [name, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill) }]));
}

/** Error message of f(), asserting it is one line. */
function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    const message = (e as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected an error');
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

describe('loadCheckpoint validation', () => {
  const bn = (prefix: string, c: number): [string, number[]][] => ['weight', 'bias', 'running_mean', 'running_var'].map((p) => [`${prefix}.${p}`, [c]]);

  it('accepts a partial state dict and lists what it lacks, in state-dict order', () => {
    const c = loadCheckpoint(writePth(tensorMap([['fc.bias', [1000]], ...bn('bn1', 64)])), 'part.pth', { hash: false });
    expect([...c.tensors.keys()]).toEqual(['bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var', 'fc.bias']);
    expect(c.missing.length).toBe(expectedTensors().size - 5);
    expect(c.missing[0]).toBe('conv1.weight');
    expect(c.sha256).toBeUndefined();
    const block = BLOCKS[7];
    expect(missingFor(c, convTensorNames(block.conv1))).toEqual(['layer4.1.conv1.weight', 'layer4.1.bn1.weight', 'layer4.1.bn1.bias', 'layer4.1.bn1.running_mean', 'layer4.1.bn1.running_var']);
    expect(missingFor(c, ['bn1.weight', 'fc.bias'])).toEqual([]);
    expect(() => requireTensors(c, ['bn1.bias'], 'the stem')).not.toThrow();
    expect(errorOf(() => requireTensors(c, ['fc.weight', 'fc.bias'], 'classification'))).toBe(
      "classification needs 'fc.weight', which part.pth lacks; use the full torchvision checkpoint resnet18-f37072fd.pth (see weights/README.md)",
    );
  });

  it('rejects unknown names, listing a few', () => {
    expect(errorOf(() => loadCheckpoint(writePth(tensorMap([['fc.bias', [1000]], ['head.weight', [3]]])), 'x.pth'))).toBe(
      "x.pth: 1 tensor(s) are not part of torchvision's resnet18: 'head.weight'",
    );
    const many = tensorMap(Array.from({ length: 7 }, (_, i): [string, number[]] => [`extra${i}`, [1]]));
    expect(errorOf(() => loadCheckpoint(writePth(many), 'y.pth'))).toBe(
      "y.pth: 7 tensor(s) are not part of torchvision's resnet18: 'extra0', 'extra1', 'extra2', 'extra3' and 3 more",
    );
  });

  it('rejects a wrong shape, naming the tensor, the expected and the actual shape', () => {
    expect(errorOf(() => loadCheckpoint(writePth(tensorMap([['fc.weight', [10, 512]]])), 'cifar.pth'))).toBe(
      "cifar.pth: tensor 'fc.weight' has shape [10, 512], expected [1000, 512]",
    );
    expect(errorOf(() => loadCheckpoint(writePth(tensorMap([['conv1.weight', [64, 3, 3, 3]]])), 'c.pth'))).toMatch(/tensor 'conv1\.weight' has shape \[64, 3, 3, 3\], expected \[64, 3, 7, 7\]/);
  });

  it('rejects NaN and Inf, naming the tensor and the index', () => {
    const w = tensorMap([['fc.bias', [1000]]]);
    w.get('fc.bias')!.data[17] = NaN;
    expect(errorOf(() => loadCheckpoint(writePth(w), 'nan.pth'))).toBe("nan.pth: tensor 'fc.bias' holds NaN at flat index 17");
    w.get('fc.bias')!.data[17] = -Infinity;
    expect(errorOf(() => loadCheckpoint(writeSafetensors(w), 'inf.safetensors'))).toBe("inf.safetensors: tensor 'fc.bias' holds -Inf at flat index 17");
    const v = tensorMap([['bn1.running_var', [64]]]);
    v.get('bn1.running_var')!.data[3] = -0.25;
    expect(errorOf(() => checkpointFromTensors(v, 'mem'))).toBe("mem: tensor 'bn1.running_var' holds the negative variance -0.25 at index 3");
  });

  it('rejects integer parameters, and ignores num_batches_tracked whatever its dtype', () => {
    const longs = new Uint8Array(new BigInt64Array(64).fill(3n).buffer);
    expect(errorOf(() => loadCheckpoint(craftCheckpoint([{ name: 'bn1.bias', storage: longs, numel: 64, storageType: 'LongStorage', shape: [64] }]), 'int.pth'))).toBe(
      "int.pth: tensor 'bn1.bias' has dtype int64; ResNet18's parameters are floating point",
    );
    const c = loadCheckpoint(craftCheckpoint([
      { name: 'bn1.num_batches_tracked', storage: longs, numel: 1, storageType: 'LongStorage', shape: [] },
      { name: 'bn1.bias', storage: f32Bytes(new Array(64).fill(1)), numel: 64, shape: [64] },
    ]), 'nbt.pth');
    expect([...c.tensors.keys()]).toEqual(['bn1.bias']);
  });

  it("finds the state dict under 'state_dict' or 'model', and strips 'module.'", () => {
    for (const wrapKey of ['state_dict', 'model']) {
      const bytes = craftCheckpoint([{ name: 'module.fc.bias', storage: f32Bytes(new Array(1000).fill(0.25)), numel: 1000, shape: [1000] }], { wrapKey });
      const c = loadCheckpoint(bytes, `${wrapKey}.pth`);
      expect([...c.tensors.keys()]).toEqual(['fc.bias']);
      expect(c.tensors.get('fc.bias')!.data[999]).toBe(0.25);
    }
    const both = craftCheckpoint([
      { name: 'module.fc.bias', storage: f32Bytes(new Array(1000).fill(0)), numel: 1000, shape: [1000] },
      { name: 'fc.bias', storage: f32Bytes(new Array(1000).fill(0)), numel: 1000, shape: [1000] },
    ]);
    expect(errorOf(() => loadCheckpoint(both, 'dup.pth'))).toMatch(/tensor 'fc\.bias' appears twice/);
    const other = craftCheckpoint([{ name: 'fc.bias', storage: f32Bytes(new Array(1000).fill(0)), numel: 1000, shape: [1000] }], { wrapKey: 'weights' });
    expect(errorOf(() => loadCheckpoint(other, 'o.pth'))).toMatch(/^o\.pth: not a state dict of tensors: 'epoch', 'weights' are not tensors and no 'state_dict' \/ 'model'/);
  });

  it('reads safetensors, including a converted state dict with I64 num_batches_tracked', () => {
    const weights = randomWeights(5);
    const c = loadCheckpoint(writeSafetensors(weights, { format: 'pt' }), 'r.safetensors');
    expect(c.format).toBe('safetensors');
    expect(c.missing).toEqual([]);
    for (const [name, t] of weights) expect(sameBits(c.tensors.get(name)!.data, t.data), name).toBe(true);
    // Hand-built header: an I64 num_batches_tracked beside a float tensor; an I64 parameter is refused.
    const withInt = (intName: string) => {
      const header = JSON.stringify({
        [intName]: { dtype: 'I64', shape: intName.endsWith('tracked') ? [] : [64], data_offsets: [0, intName.endsWith('tracked') ? 8 : 512] },
        'bn1.weight': { dtype: 'F32', shape: [64], data_offsets: [512, 768] },
      }).padEnd(256, ' ');
      const out = new Uint8Array(8 + 256 + 768);
      new DataView(out.buffer).setBigUint64(0, 256n, true);
      out.set(new TextEncoder().encode(header), 8);
      return out;
    };
    expect([...loadCheckpoint(withInt('bn1.num_batches_tracked'), 'n.safetensors').tensors.keys()]).toEqual(['bn1.weight']);
    expect(errorOf(() => loadCheckpoint(withInt('bn1.bias'), 'i.safetensors'))).toBe("i.safetensors: tensor 'bn1.bias' has dtype I64; ResNet18's parameters are floating point");
  });
});

describe('randomWeights', () => {
  const seed = 1234;
  const a = randomWeights(seed);

  it('is deterministic per seed and differs between seeds', () => {
    const again = randomWeights(seed);
    for (const [name, t] of a) expect(sameBits(again.get(name)!.data, t.data), name).toBe(true);
    const other = randomWeights(seed + 1);
    expect(sameBits(other.get('conv1.weight')!.data, a.get('conv1.weight')!.data)).toBe(false);
    // Pinned values: a change to the generator or the draw order is a deliberate, visible change.
    const pinned: [string, number, number][] = [
      ['conv1.weight', 0, -0.002843317575752735],
      ['bn1.weight', 0, 1.4464678764343262],
      ['bn1.bias', 1, -0.06270270049571991],
      ['layer4.1.conv2.weight', 2359295, 0.014739032834768295],
      ['fc.weight', 0, 0.015100992284715176],
      ['fc.bias', 999, -0.018436994403600693],
    ];
    for (const [name, i, v] of pinned) expect(a.get(name)!.data[i], name).toBe(v);
    expect(checkpointFromTensors(a).missing).toEqual([]);
  });

  it("has torchvision's initialisation statistics", () => {
    const stats = (d: Float32Array) => {
      let s = 0;
      let s2 = 0;
      let min = Infinity;
      let max = -Infinity;
      for (const v of d) {
        s += v;
        s2 += v * v;
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      const mean = s / d.length;
      return { mean, std: Math.sqrt(s2 / d.length - mean * mean), min, max };
    };
    for (const [name, shape] of expectedTensors()) {
      const s = stats(a.get(name)!.data);
      const n = a.get(name)!.data.length;
      if (shape.length === 4) {
        // kaiming_normal_(fan_out, relu): std sqrt(2 / (out k k)); sampling error of the std ~ 1/sqrt(2n).
        const std = Math.sqrt(2 / (shape[0] * shape[2] * shape[3]));
        expect(Math.abs(s.std / std - 1), name).toBeLessThan(5 / Math.sqrt(2 * n));
        expect(Math.abs(s.mean), name).toBeLessThan((5 * std) / Math.sqrt(n));
      } else if (name.startsWith('fc.')) {
        const bound = 1 / Math.sqrt(512);
        expect(s.min, name).toBeGreaterThanOrEqual(-bound);
        expect(s.max, name).toBeLessThanOrEqual(bound);
        expect(Math.abs(s.std / (bound / Math.sqrt(3)) - 1), name).toBeLessThan(0.05);
      } else if (name.endsWith('.weight') || name.endsWith('running_var')) {
        expect(s.min, name).toBeGreaterThanOrEqual(0.5);
        expect(s.max, name).toBeLessThan(1.5);
        expect(s.max - s.min, name).toBeGreaterThan(0.5); // not constant
      } else {
        // bias, running_mean ~ N(0, 0.1): 64 to 512 samples per tensor
        expect(s.std, name).toBeGreaterThan(0.06);
        expect(s.std, name).toBeLessThan(0.14);
        expect(Math.abs(s.mean), name).toBeLessThan(0.06);
      }
    }
  });

  it("batchNorm: 'identity' gives torchvision's BN values", () => {
    const id = randomWeights(seed, { batchNorm: 'identity' });
    expect(id.get('layer2.0.bn1.weight')!.data.every((v) => v === 1)).toBe(true);
    expect(id.get('layer2.0.bn1.running_var')!.data.every((v) => v === 1)).toBe(true);
    expect(id.get('layer2.0.bn1.bias')!.data.every((v) => v === 0)).toBe(true);
    expect(id.get('layer2.0.bn1.running_mean')!.data.every((v) => v === 0)).toBe(true);
  });

  it('draws uniforms in [0, 1) and standard normals', () => {
    const u = mulberry32(9);
    const normal = normalSource(mulberry32(9));
    let s = 0;
    let s2 = 0;
    const n = 200_000;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const x = u();
      if (!(x >= 0 && x < 1)) outside++;
      const z = normal();
      s += z;
      s2 += z * z;
    }
    expect(outside).toBe(0);
    expect(Math.abs(s / n)).toBeLessThan(0.02);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.02);
  });
});

describe('sha256Hex', () => {
  it('agrees with node:crypto at every padding boundary', () => {
    const data = new Uint8Array(400).map((_, i) => (i * 131 + 7) & 0xff);
    for (const n of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 300]) {
      const slice = data.subarray(3, 3 + n); // an offset view, as file bytes often are
      expect(sha256Hex(slice), String(n)).toBe(createHash('sha256').update(slice).digest('hex'));
    }
  });
});
