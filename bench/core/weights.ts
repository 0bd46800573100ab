// The benchmark's weights and inputs: the project's seeded random ResNet18 weights
// (src/weights/random.ts: torchvision's initialisation, with drawn, non-trivial BatchNorm statistics,
// so folding BN is really exercised), the same recipe for any other member of the family, a seeded
// standard-normal input, and BN folding for the peers. Every engine runs on exactly these tensors
// (written once to safetensors files by the runner).

import { type Architecture, BN_EPS, type ConvSpec, RESNET18, allConvs, expectedTensors } from '../../src/model/architecture';
import { randomWeights } from '../../src/weights/random';
import { mulberry32, normalSource } from '../../src/util/random';
import type { HostTensor, TensorMap } from '../../src/weights/safetensors';

export type { HostTensor, TensorMap };

export const DEFAULT_WEIGHT_SEED = 20261129;
export const DEFAULT_INPUT_SEED = 7;
/** Names the generator in cached file names, so a change of generator never reuses stale files. */
export const WEIGHT_GENERATOR = 'src-weights-random';
/** The generator of the other members' weights (drawWeights below). */
export const FAMILY_WEIGHT_GENERATOR = 'bench-draw-weights';
export const WEIGHT_DESCRIPTION = 'src/weights/randomWeights(seed): torchvision init (conv kaiming_normal fan_out, ' +
  'fc nn.Linear default), BN weight U(0.5,1.5), bias N(0,0.1), running_mean N(0,0.1), running_var U(0.5,1.5)';
/** The same, for a member other than ResNet18 (bench/core/weights.ts's drawWeights). */
export const FAMILY_WEIGHT_DESCRIPTION = 'bench/core/weights.ts drawWeights(arch, seed): src/weights/random.ts\'s recipe over the ' +
  'architecture\'s state dict (conv kaiming_normal fan_out, fc nn.Linear default with fan_in = its feature width, ' +
  'BN weight U(0.5,1.5), bias N(0,0.1), running_mean N(0,0.1), running_var U(0.5,1.5))';

export function randomResnet18Weights(seed = DEFAULT_WEIGHT_SEED): TensorMap {
  return randomWeights(seed);
}

/**
 * src/weights/random.ts's recipe for any Architecture (it is written for ResNet18 alone): every
 * tensor of expectedTensors(arch) in state-dict order from one mulberry32 stream, fc's bound from
 * the architecture's feature width. For ResNet18 it gives randomWeights(seed) bit for bit
 * (test/bench-peers.test.ts), so the recipe is one, whatever the member.
 */
export function drawWeights(arch: Architecture, seed: number): TensorMap {
  const uniform = mulberry32(seed);
  const normal = normalSource(uniform);
  const tensors: TensorMap = new Map();
  for (const [name, shape] of expectedTensors(arch)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const param = name.slice(name.lastIndexOf('.') + 1);
    let draw: () => number;
    if (name.startsWith('fc.')) {
      const bound = 1 / Math.sqrt(arch.features);
      draw = () => (2 * uniform() - 1) * bound;
    } else if (shape.length === 4) {
      const std = Math.sqrt(2 / (shape[0] * shape[2] * shape[3]));
      draw = () => normal() * std;
    } else if (param === 'weight' || param === 'running_var') draw = () => 0.5 + uniform();
    else draw = () => 0.1 * normal();
    for (let i = 0; i < data.length; i++) data[i] = draw();
    tensors.set(name, { shape: [...shape], data });
  }
  return tensors;
}

/** The benchmark's weights for an architecture: ResNet18's from src/weights/random.ts, the others drawn alike. */
export function benchWeights(arch: Architecture, seed = DEFAULT_WEIGHT_SEED): TensorMap {
  return arch.name === RESNET18.name ? randomResnet18Weights(seed) : drawWeights(arch, seed);
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
  /** OIHW (I per group), BN scale folded in. */
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
  const perOut = (spec.inChannels / (spec.groups ?? 1)) * spec.kernel * spec.kernel;
  const weight = new Float32Array(w.length);
  const bias = new Float32Array(spec.outChannels);
  for (let o = 0; o < spec.outChannels; o++) {
    const scale = gamma[o] / Math.sqrt(variance[o] + BN_EPS);
    for (let i = 0; i < perOut; i++) weight[o * perOut + i] = w[o * perOut + i] * scale;
    bias[o] = beta[o] - mean[o] * scale;
  }
  return { spec, weight, bias };
}

export function foldAll(weights: TensorMap, arch: Architecture = RESNET18): Map<string, FoldedConv> {
  const out = new Map<string, FoldedConv>();
  for (const spec of allConvs(arch)) out.set(spec.conv, foldConvBn(weights, spec));
  return out;
}
