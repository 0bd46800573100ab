// ResNet18 in float64 on the CPU, built from the reference kernels: the oracle for the whole-network
// tests. Produces every tap of METHOD.md, exactly as torchvision computes them (conv, then BN).

import { BLOCKS, type ConvSpec, STEM, allTapNames, tapShape } from '../../src/model/architecture';
import type { TensorMap } from '../../src/weights/safetensors';
import { add, batchnorm, conv2d, globalAvgPool, linear, maxpool2d, relu, windowOutputSize } from './cpu';

export interface RefTensor {
  shape: number[];
  data: Float64Array;
}

/**
 * `edit` (optional) is called with each tap's array as it is produced, before anything downstream
 * reads it; changing the array in place changes the rest of the forward (channel ablation in tests).
 * That holds for every tap except `input` and `conv1` (their consumers read other arrays) and `skip`
 * (an alias of the block input or downsample.1).
 */
export function referenceForward(weights: TensorMap, input: { shape: number[]; data: ArrayLike<number> }, lastTap = 'fc',
  edit?: (tap: string, data: Float64Array, shape: number[]) => void): Map<string, RefTensor> {
  const [batch, , height, width] = input.shape;
  const taps = new Map<string, RefTensor>();
  const order = allTapNames();
  const stopAt = order.indexOf(lastTap);
  const put = (name: string, data: Float64Array) => {
    const shape = tapShape(name, batch, height, width);
    edit?.(name, data, shape);
    taps.set(name, { shape, data });
  };
  const w = (name: string) => weights.get(name)!.data;

  const convBn = (spec: ConvSpec, x: Float64Array | ArrayLike<number>, h: number, wd: number) => {
    const s = { batch, inChannels: spec.inChannels, inHeight: h, inWidth: wd, outChannels: spec.outChannels,
      kernel: spec.kernel, stride: spec.stride, padding: spec.padding };
    const oh = windowOutputSize(h, spec.kernel, spec.stride, spec.padding);
    const ow = windowOutputSize(wd, spec.kernel, spec.stride, spec.padding);
    const raw = conv2d(x, w(`${spec.conv}.weight`), null, s);
    const bn = batchnorm(raw, {
      mean: w(`${spec.bn}.running_mean`), variance: w(`${spec.bn}.running_var`),
      gamma: w(`${spec.bn}.weight`), beta: w(`${spec.bn}.bias`),
    }, batch, spec.outChannels, oh * ow, false);
    return { raw, bn, oh, ow };
  };

  put('input', Float64Array.from(input.data));
  const stem = convBn(STEM, input.data, height, width);
  put('conv1', stem.raw);
  put('bn1', stem.bn);
  const r = relu(stem.bn);
  put('relu', r);
  let x = maxpool2d(r, { batch, channels: 64, inHeight: stem.oh, inWidth: stem.ow, kernel: 3, stride: 2, padding: 1 });
  put('maxpool', x);
  let h = windowOutputSize(stem.oh, 3, 2, 1);
  let wd = windowOutputSize(stem.ow, 3, 2, 1);
  for (const block of BLOCKS) {
    if (order.indexOf(`${block.name}.bn1`) > stopAt) return taps;
    const c1 = convBn(block.conv1, x, h, wd);
    put(`${block.name}.bn1`, c1.bn);
    const c2 = convBn(block.conv2, relu(c1.bn), c1.oh, c1.ow);
    put(`${block.name}.bn2`, c2.bn);
    let skip = x;
    if (block.downsample) {
      skip = convBn(block.downsample, x, h, wd).bn;
      put(`${block.name}.downsample.1`, skip);
    }
    put(`${block.name}.skip`, skip);
    const sum = add(skip, c2.bn, false);
    put(`${block.name}.sum`, sum);
    x = relu(sum);
    put(block.name, x);
    h = c1.oh;
    wd = c1.ow;
  }
  if (order.indexOf('avgpool') > stopAt) return taps;
  const pooled = globalAvgPool(x, batch, 512, h * wd);
  put('avgpool', pooled);
  if (stopAt >= order.indexOf('fc')) put('fc', linear(pooled, w('fc.weight'), w('fc.bias'), batch, 512, 1000));
  return taps;
}
