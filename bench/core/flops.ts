// Work of a forward, for effective GFLOP/s: multiply-adds of every convolution (grouped ones count
// their groups' share) and the classifier (pooling, adds and ReLUs are ignored: < 0.1% of the work).
// ResNet18: 1.81 G MACs at 224 x 224; ResNet50: 4.09 G.

import { type Architecture, type ConvSpec, RESNET18, outputSize2d, spatialPlan } from '../../src/model/architecture';

function convMacs(c: ConvSpec, input: [number, number]): number {
  const [oh, ow] = outputSize2d(input, c);
  return oh * ow * c.outChannels * (c.inChannels / (c.groups ?? 1)) * c.kernel * c.kernel;
}

export function networkMacs(height: number, width: number, arch: Architecture = RESNET18): number {
  const plan = spatialPlan(height, width, arch);
  let macs = convMacs(arch.stem, [height, width]);
  arch.blocks.forEach((b, i) => {
    const input = i > 0 ? plan.blocks[i - 1] : plan.pooled;
    let size = input;
    for (const c of b.branch) {
      macs += convMacs(c, size);
      size = outputSize2d(size, c);
    }
    if (b.downsample) macs += convMacs(b.downsample, input);
  });
  return macs + arch.features * arch.classes;
}

export function resnet18Macs(height: number, width: number): number {
  return networkMacs(height, width, RESNET18);
}
