// Seeded random ResNet18 weights with torchvision's initialisation, for tests and demos without the
// real checkpoint. Same seed, same weights (mulberry32 + Box-Muller in float64, rounded to float32
// once): bit for bit in Node and Chromium (V8's Math.log / sin / cos are fdlibm ports); another JS
// engine may differ in the last bit of a few values.
//
//   conv weight    kaiming_normal_(mode='fan_out', nonlinearity='relu'): N(0, 2 / (out * k * k))
//   fc weight/bias nn.Linear's default (kaiming_uniform_(a=sqrt(5)) and its bias rule):
//                  U(-1/sqrt(in), 1/sqrt(in)) for both
//   BatchNorm      torchvision sets weight 1, bias 0, mean 0, var 1, which makes BN the identity and
//                  hides indexing bugs; by default the statistics are drawn instead:
//                  weight ~ U(0.5, 1.5), bias ~ N(0, 0.1), running_mean ~ N(0, 0.1), running_var ~ U(0.5, 1.5)
//                  (0.1 is the standard deviation). batchNorm: 'identity' gives torchvision's values.

import { FEATURE_WIDTH, expectedTensors } from '../model/architecture';
import { mulberry32, normalSource } from '../util/random';
import { type TensorMap, elementCount } from '../util/tensor';

export interface RandomWeightsOptions {
  /** 'random' (default): drawn BN statistics as above; 'identity': torchvision's initial values. */
  batchNorm?: 'random' | 'identity';
}

/**
 * ResNet18 weights for `seed`, every tensor of expectedTensors() in state-dict order. The tensors
 * are drawn in that order from one stream, so a tensor's values depend on the seed alone.
 */
export function randomWeights(seed: number, options: RandomWeightsOptions = {}): TensorMap {
  const uniform = mulberry32(seed);
  const normal = normalSource(uniform);
  const identityBn = options.batchNorm === 'identity';
  const tensors: TensorMap = new Map();
  for (const [name, shape] of expectedTensors()) {
    const count = elementCount(shape);
    const data = new Float32Array(count);
    const fill = (f: () => number) => {
      for (let i = 0; i < count; i++) data[i] = f();
    };
    const param = name.slice(name.lastIndexOf('.') + 1);
    if (name === 'fc.weight' || name === 'fc.bias') {
      const bound = 1 / Math.sqrt(FEATURE_WIDTH); // fc's fan_in
      fill(() => (2 * uniform() - 1) * bound);
    } else if (shape.length === 4) {
      const [out, , kh, kw] = shape;
      const std = Math.sqrt(2 / (out * kh * kw));
      fill(() => normal() * std);
    } else if (identityBn) {
      if (param === 'weight' || param === 'running_var') data.fill(1);
    } else if (param === 'weight' || param === 'running_var') {
      fill(() => 0.5 + uniform());
    } else {
      fill(() => 0.1 * normal()); // bias, running_mean
    }
    tensors.set(name, { shape: [...shape], data });
  }
  return tensors;
}
