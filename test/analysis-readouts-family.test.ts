// The readouts of a block follow the architecture: B is the last BN of the branch (bn3 in a
// Bottleneck), I the previous block's output or the downsample's BN, O the block's output; the
// default blocks are every block but a BasicBlock network's layer1.0. ResNet18's readouts are unchanged.

import { describe, expect, it } from 'vitest';
import { DEFAULT_BLOCKS, defaultBlocks, readoutsFor, tapsNeeded } from '../src/analysis/readouts';
import { allTapNames } from '../src/model/architecture';
import { architectureOf } from '../src/model/family';

describe('readouts across the family', () => {
  it('resnet50: B is bn3, I the downsample BN or the previous block, O the block', () => {
    const arch = architectureOf('resnet50');
    expect(readoutsFor('2.0', 'post-relu', arch)).toMatchObject({ input: 'layer2.0.downsample.1', branch: 'layer2.0.bn3', output: 'layer2.0', channels: 512 });
    expect(readoutsFor('1.0', 'post-relu', arch)).toMatchObject({ input: 'layer1.0.downsample.1', branch: 'layer1.0.bn3', channels: 256 });
    expect(readoutsFor('3.5', 'pre-relu', arch)).toMatchObject({ input: 'layer3.4.sum', branch: 'layer3.5.bn3', output: 'layer3.5.sum', channels: 1024 });
    const taps = tapsNeeded(['3.5'], 'post-relu', arch);
    expect(taps).toEqual(['layer3.4', 'layer3.5.bn3', 'layer3.5']);
    for (const t of taps) expect(allTapNames(arch)).toContain(t);
  });

  it('default blocks (METHOD.md): every block but layer1.0 of a BasicBlock network (ResNet18: the paper\'s seven), every block of a Bottleneck network', () => {
    expect(defaultBlocks()).toEqual([...DEFAULT_BLOCKS]);
    expect(defaultBlocks(architectureOf('resnet34'))).toHaveLength(15);
    expect(defaultBlocks(architectureOf('resnet34'))[0]).toBe('1.1');
    expect(defaultBlocks(architectureOf('resnet50'))).toHaveLength(16);
    expect(defaultBlocks(architectureOf('resnet152'))).toHaveLength(50);
    expect(defaultBlocks(architectureOf('resnet152'))[0]).toBe('1.0');
    expect(readoutsFor('2.1')).toMatchObject({ input: 'layer2.0', branch: 'layer2.1.bn2', output: 'layer2.1' });
  });
});
