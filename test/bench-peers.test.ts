// The benchmark's peer graphs beyond ResNet18 (bench/peers/): the ONNX model (run by ONNX Runtime
// Web's wasm EP, the CPU) and the tfjs graph (tfjs's CPU backend) of resnet50, and the ONNX model of
// resnext50_32x4d (grouped Conv), on the benchmark's own weights, against our engine's logits and the
// float64 reference, at 64 x 64 (the benchmark's --verify-only size) so it stays cheap. The tolerance
// is the one the benchmark checks every engine with before timing it (bench/core/compare.ts).

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as ort from 'onnxruntime-web';
import { RESNET18 } from '../src/model/architecture';
import { ResNetEngine } from '../src/model/engine';
import { architectureOf } from '../src/model/family';
import { randomWeights } from '../src/weights/random';
import { LOGIT_TOLERANCE, compareLogits } from '../bench/core/compare';
import { networkMacs, resnet18Macs } from '../bench/core/flops';
import { referenceForward } from '../bench/core/reference';
import { DEFAULT_WEIGHT_SEED, benchWeights, drawWeights, randomInput } from '../bench/core/weights';
import { buildResnetOnnx } from '../bench/peers/onnx-resnet';
import { createOrtPeer } from '../bench/peers/ort-peer';
import { buildTfjsResnet, tfjsUnsupported } from '../bench/peers/tfjs-resnet';
import { testContext } from './helpers/gpu';

const SIZE = 64;

// ORT in Node: one thread (its threaded path wants a Worker) and the wasm bytes given, not fetched.
ort.env.wasm.numThreads = 1;
ort.env.wasm.wasmBinary = readFileSync(createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));

async function ours(arch: string, weights: ReturnType<typeof benchWeights>, input: ReturnType<typeof randomInput>): Promise<Float32Array> {
  const engine = await ResNetEngine.create({ context: await testContext() });
  try {
    engine.loadWeights(weights, { architecture: arch });
    return (await engine.forward(input, { taps: ['fc'] })).get('fc')!.data;
  } finally {
    engine.dispose();
  }
}

describe('the benchmark\'s weights and work', () => {
  it('drawWeights is src/weights/random.ts\'s recipe: ResNet18 bit for bit', () => {
    const a = drawWeights(RESNET18, 12345);
    const b = randomWeights(12345);
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [name, t] of b) expect(Buffer.from(a.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), name).toBe(true);
  });

  it('multiply-adds at 224: torchvision\'s published GFLOPs', () => {
    expect(resnet18Macs(224, 224) / 1e9).toBeCloseTo(1.81, 2);
    expect(networkMacs(224, 224, architectureOf('resnet50')) / 1e9).toBeCloseTo(4.09, 2);
    expect(networkMacs(224, 224, architectureOf('resnext50_32x4d')) / 1e9).toBeCloseTo(4.23, 2);
  });
});

describe(`the peer graphs against our engine, ${SIZE} x ${SIZE}`, () => {
  it('resnet50: ONNX (ORT wasm) and tfjs (CPU) logits agree with ours and with float64', async () => {
    const arch = architectureOf('resnet50');
    const weights = benchWeights(arch, DEFAULT_WEIGHT_SEED);
    const input = randomInput(7, 1, SIZE, SIZE);
    const reference = referenceForward(weights, input, arch);
    const mine = await ours(arch.name, weights, input);

    const model = buildResnetOnnx(weights, 1, SIZE, SIZE, arch);
    expect(model.ops).toMatchObject({ Conv: 53, Relu: 49, Add: 16, MaxPool: 1, Gemm: 1 });
    const peer = await createOrtPeer(ort, model.bytes, 'wasm');
    const onnx = await peer.predict(input);
    await peer.dispose();

    await tf.setBackend('cpu');
    expect(tfjsUnsupported(arch)).toBeNull();
    const graph = buildTfjsResnet(tf, weights, arch);
    const tfjs = await graph.predict(input);
    graph.dispose();

    const rows = { ours: compareLogits(mine, reference), onnx: compareLogits(onnx, reference), tfjs: compareLogits(tfjs, reference),
      'onnx vs ours': compareLogits(onnx, mine), 'tfjs vs ours': compareLogits(tfjs, mine) };
    console.log(`resnet50 ${SIZE}x${SIZE}: ${Object.entries(rows).map(([k, g]) => `${k} ${g.relError.toExponential(1)}`).join(', ')}`);
    for (const [k, g] of Object.entries(rows)) {
      expect(g.relError, k).toBeLessThanOrEqual(LOGIT_TOLERANCE);
      expect(g.top1Agree, k).toBe(true);
    }
  }, 300_000);

  it('resnext50_32x4d: the ONNX model\'s grouped Conv agrees with ours; tfjs says why it cannot run it', async () => {
    const arch = architectureOf('resnext50_32x4d');
    expect(tfjsUnsupported(arch)).toMatch(/no grouped convolution.*layer1\.0\.conv2 has 32 groups/);
    const weights = benchWeights(arch, DEFAULT_WEIGHT_SEED);
    const input = randomInput(7, 1, SIZE, SIZE);
    const mine = await ours(arch.name, weights, input);
    const peer = await createOrtPeer(ort, buildResnetOnnx(weights, 1, SIZE, SIZE, arch).bytes, 'wasm');
    const onnx = await peer.predict(input);
    await peer.dispose();
    const g = compareLogits(onnx, mine);
    console.log(`resnext50_32x4d ${SIZE}x${SIZE}: onnx vs ours ${g.relError.toExponential(1)}`);
    expect(g.relError).toBeLessThanOrEqual(LOGIT_TOLERANCE);
    expect(g.top1Agree).toBe(true);
  }, 300_000);
});
