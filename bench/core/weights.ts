// The benchmark's weights and inputs: the project's seeded random ResNet18 weights
// (src/weights/random.ts: torchvision's initialisation, with drawn, non-trivial BatchNorm statistics,
// so folding BN is really exercised), a seeded standard-normal input, and BN folding for the peers.
// Every engine runs on exactly these tensors (written once to safetensors files by the runner).

import { BN_EPS, type ConvSpec, allConvs } from '../../src/model/architecture';
import { randomWeights } from '../../src/weights/random';
import { mulberry32, normalSource } from '../../src/util/random';
import type { HostTensor, TensorMap } from '../../src/weights/safetensors';

export type { HostTensor, TensorMap };

export const DEFAULT_WEIGHT_SEED = 20261129;
export const DEFAULT_INPUT_SEED = 7;
/** Names the generator in cached file names, so a change of generator never reuses stale files. */
export const WEIGHT_GENERATOR = 'src-weights-random';
export const WEIGHT_DESCRIPTION = 'src/weights/randomWeights(seed): torchvision init (conv kaiming_normal fan_out, ' +
  'fc nn.Linear default), BN weight U(0.5,1.5), bias N(0,0.1), running_mean N(0,0.1), running_var U(0.5,1.5)';

export function randomResnet18Weights(seed = DEFAULT_WEIGHT_SEED): TensorMap {
  return randomWeights(seed);
}

/** A batch of N images, NCHW float32, standard normal (like ImageNet-normalised pixels). */
export function randomInput(seed: number, batch: number, height: number, width: number): HostTensor {
  const data = new Float32Array(batch * 3 * height * width);
  const normal = normalSource(mulberry32(seed));
  for (let i = 0; i < data.length; i++) data[i] = normal();
  return { shape: [batch, 3, height, width], data };
}

export interface FoldedConv {
  spec: ConvSpec;
  /** OIHW, BN scale folded in. */
  weight: Float32Array;
  /** BN shift folded in. */
  bias: Float32Array;
}

/** conv + BN(eval) == conv with w' = w * g / sqrt(v + eps), b' = beta - mean * g / sqrt(v + eps). */
export function foldConvBn(weights: TensorMap, spec: ConvSpec): FoldedConv {
  const get = (n: string) => {
    const t = weights.get(n);
    if (!t) throw new Error(`missing tensor '${n}'`);
    return t.data;
  };
  const w = get(`${spec.conv}.weight`);
  const gamma = get(`${spec.bn}.weight`);
  const beta = get(`${spec.bn}.bias`);
  const mean = get(`${spec.bn}.running_mean`);
  const variance = get(`${spec.bn}.running_var`);
  const perOut = spec.inChannels * spec.kernel * spec.kernel;
  const weight = new Float32Array(w.length);
  const bias = new Float32Array(spec.outChannels);
  for (let o = 0; o < spec.outChannels; o++) {
    const scale = gamma[o] / Math.sqrt(variance[o] + BN_EPS);
    for (let i = 0; i < perOut; i++) weight[o * perOut + i] = w[o * perOut + i] * scale;
    bias[o] = beta[o] - mean[o] * scale;
  }
  return { spec, weight, bias };
}

export function foldAll(weights: TensorMap): Map<string, FoldedConv> {
  const out = new Map<string, FoldedConv>();
  for (const spec of allConvs()) out.set(spec.conv, foldConvBn(weights, spec));
  return out;
}
