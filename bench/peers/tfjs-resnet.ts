// Peer 1: a torchvision ResNet (an Architecture of src/model/family.ts) from TensorFlow.js ops,
// NHWC, on OUR weights (a torchvision-named state dict). BatchNorm is folded into each convolution,
// so every conv is one `tf.fused.conv2d` with bias and, where the network has one right after, ReLU.
// PyTorch's symmetric paddings are passed as numbers (tfjs's 'same' pads stride-2 convolutions
// asymmetrically, which would be a different function).
//
// Grouped convolutions (ResNeXt) are not built: tfjs 4.22's conv2d has no groups (it asserts the
// input's depth equals the filter's) and depthwiseConv2d is the one-channel-per-group case only, so
// the only route would be split + per-group conv + concat, a different program from the one the
// other engines run. tfjsUnsupported() says so and the suite reports tfjs as not run.
//
// Weights: torchvision conv weights are OIHW; tfjs wants HWIO. The classifier is Linear(features,
// 1000): y = x W^T + b, done as fused matMul with transposeB.
//
// The `tf` namespace is passed in, so the same code runs on any backend (webgpu, cpu, wasm) in the
// browser and in Node.

import type * as tfc from '@tensorflow/tfjs-core';
import { type Architecture, RESNET18 } from '../../src/model/architecture';
import { type TensorMap, foldAll } from '../core/weights';

type Tf = typeof tfc;

/** OIHW -> HWIO. */
export function oihwToHwio(w: Float32Array, o: number, i: number, kh: number, kw: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let a = 0; a < o; a++) {
    for (let b = 0; b < i; b++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) out[((y * kw + x) * i + b) * o + a] = w[((a * i + b) * kh + y) * kw + x];
      }
    }
  }
  return out;
}

/** Why tfjs cannot build this architecture, or null. */
export function tfjsUnsupported(arch: Architecture): string | null {
  const grouped = [arch.stem, ...arch.blocks.flatMap((b) => b.branch)].find((c) => (c.groups ?? 1) > 1);
  return grouped ? `tfjs 4.22 has no grouped convolution (conv2d has no groups argument); ${arch.name}'s ` +
    `${grouped.conv} has ${grouped.groups} groups` : null;
}

export interface TfjsResnet {
  /** Logits [N, 1000] for a float32 NCHW batch: upload, forward, readback. */
  predict(input: { shape: number[]; data: Float32Array }): Promise<Float32Array>;
  /** Number of tensors the model holds (the weights). */
  numTensors: number;
  dispose(): void;
}

export function buildTfjsResnet(tf: Tf, weights: TensorMap, arch: Architecture = RESNET18): TfjsResnet {
  const unsupported = tfjsUnsupported(arch);
  if (unsupported) throw new Error(unsupported);
  const folded = foldAll(weights, arch);
  const params = new Map<string, { filter: tfc.Tensor4D; bias: tfc.Tensor1D; stride: number; pad: number }>();
  for (const [name, f] of folded) {
    const s = f.spec;
    params.set(name, {
      filter: tf.tensor4d(oihwToHwio(f.weight, s.outChannels, s.inChannels, s.kernel, s.kernel),
        [s.kernel, s.kernel, s.inChannels, s.outChannels]),
      bias: tf.tensor1d(f.bias),
      stride: s.stride,
      pad: s.padding,
    });
  }
  const fcW = weights.get('fc.weight');
  const fcB = weights.get('fc.bias');
  if (!fcW || !fcB) throw new Error('tfjs peer: fc.weight / fc.bias missing');
  const fcWeight = tf.tensor2d(fcW.data, [fcW.shape[0], fcW.shape[1]]);
  const fcBias = tf.tensor1d(fcB.data);

  const conv = (x: tfc.Tensor4D, name: string, relu: boolean): tfc.Tensor4D => {
    const p = params.get(name);
    if (!p) throw new Error(`tfjs peer: no conv '${name}'`);
    return tf.fused.conv2d({
      x, filter: p.filter, strides: p.stride, pad: p.pad, dataFormat: 'NHWC', bias: p.bias,
      activation: relu ? 'relu' : 'linear',
    });
  };

  const forward = (nchw: tfc.Tensor4D): tfc.Tensor2D => tf.tidy((): tfc.Tensor2D => {
    let x = tf.transpose(nchw, [0, 2, 3, 1]) as tfc.Tensor4D;
    x = conv(x, arch.stem.conv, true);
    x = tf.maxPool(x, arch.pool.kernel, arch.pool.stride, arch.pool.padding);
    for (const b of arch.blocks) {
      const last = b.branch.length - 1;
      const y = b.branch.reduce((h, spec, i) => conv(h, spec.conv, i < last), x);
      const skip = b.downsample ? conv(x, b.downsample.conv, false) : x;
      x = tf.relu(tf.add(y, skip)) as tfc.Tensor4D;
    }
    const pooled = tf.mean(x, [1, 2]) as tfc.Tensor2D;
    return tf.fused.matMul({ a: pooled, b: fcWeight, transposeB: true, bias: fcBias }) as tfc.Tensor2D;
  });

  const all: tfc.Tensor[] = [...params.values()].flatMap((p): tfc.Tensor[] => [p.filter, p.bias]);
  all.push(fcWeight, fcBias);
  return {
    numTensors: all.length,
    async predict(input) {
      const [n, c, h, w] = input.shape;
      const x = tf.tensor4d(input.data, [n, c, h, w]);
      const y = forward(x);
      x.dispose();
      try {
        return (await y.data()) as Float32Array;
      } finally {
        y.dispose();
      }
    },
    dispose() {
      for (const t of all) t.dispose();
    },
  };
}
