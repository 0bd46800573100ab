// Peer 1: ResNet18 from TensorFlow.js ops, NHWC, on OUR weights (a torchvision-named state dict).
// BatchNorm is folded into each convolution, so every conv is one `tf.fused.conv2d` with bias and,
// where the network has one right after, ReLU. PyTorch's symmetric paddings are passed as numbers
// (tfjs's 'same' pads stride-2 convolutions asymmetrically, which would be a different function).
//
// Weights: torchvision conv weights are OIHW; tfjs wants HWIO. The classifier is Linear(512, 1000):
// y = x W^T + b, done as fused matMul with transposeB.
//
// The `tf` namespace is passed in, so the same code runs on any backend (webgpu, cpu, wasm) in the
// browser and in Node.

import type * as tfc from '@tensorflow/tfjs-core';
import { BLOCKS, STEM } from '../../src/model/architecture';
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

export interface TfjsResnet18 {
  /** Logits [N, 1000] for a float32 NCHW batch: upload, forward, readback. */
  predict(input: { shape: number[]; data: Float32Array }): Promise<Float32Array>;
  /** Number of tensors the model holds (the weights). */
  numTensors: number;
  dispose(): void;
}

export function buildTfjsResnet18(tf: Tf, weights: TensorMap): TfjsResnet18 {
  const folded = foldAll(weights);
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
    x = conv(x, STEM.conv, true);
    x = tf.maxPool(x, 3, 2, 1);
    for (const b of BLOCKS) {
      const y = conv(conv(x, b.conv1.conv, true), b.conv2.conv, false);
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
