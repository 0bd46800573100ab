// Work of a ResNet18 forward, for effective GFLOP/s: multiply-adds of every convolution and the
// classifier (pooling, adds and ReLUs are ignored: < 0.1% of the work). 1.81 G MACs at 224 x 224.

import { allConvs, convOutputSize } from '../../src/model/architecture';

export function resnet18Macs(height: number, width: number): number {
  let macs = 0;
  const sizes = new Map<string, [number, number]>();
  // Walk in forward order; each conv's input size is known from its predecessor.
  let h = height;
  let w = width;
  for (const c of allConvs()) {
    // Downsample convs read the block input (same as conv1 of the block), handled by remembering it.
    const isDown = c.conv.endsWith('downsample.0');
    const isConv1 = c.conv.endsWith('.conv1');
    let ih = h;
    let iw = w;
    if (isConv1) sizes.set(c.conv.replace('.conv1', ''), [h, w]);
    if (isDown) [ih, iw] = sizes.get(c.conv.replace('.downsample.0', '')) as [number, number];
    const oh = convOutputSize(ih, c.kernel, c.stride, c.padding);
    const ow = convOutputSize(iw, c.kernel, c.stride, c.padding);
    macs += oh * ow * c.outChannels * c.inChannels * c.kernel * c.kernel;
    if (!isDown) {
      h = oh;
      w = ow;
      if (c.conv === 'conv1') {
        h = convOutputSize(h, 3, 2, 1); // maxpool
        w = convOutputSize(w, 3, 2, 1);
      }
    }
  }
  return macs + 512 * 1000;
}
