import { describe, expect, it } from 'vitest';
import { centreIndex, centreValues, readoutsFor, tapsNeeded } from '../src/analysis/readouts';

describe('readouts of a block', () => {
  it('plain block: I is the previous block output, B bn2, O the block output', () => {
    expect(readoutsFor('2.1')).toMatchObject({ block: '2.1', input: 'layer2.0', branch: 'layer2.1.bn2', output: 'layer2.1', channels: 128 });
    expect(readoutsFor('layer1.1')).toMatchObject({ input: 'layer1.0', output: 'layer1.1', channels: 64 });
  });
  it('downsampling block: I is downsample.1 in both variants', () => {
    expect(readoutsFor('3.0')).toMatchObject({ input: 'layer3.0.downsample.1', branch: 'layer3.0.bn2', output: 'layer3.0', channels: 256 });
    expect(readoutsFor('3.0', 'pre-relu')).toMatchObject({ input: 'layer3.0.downsample.1', output: 'layer3.0.sum' });
  });
  it('block 1.0: I is maxpool in both variants', () => {
    expect(readoutsFor('1.0').input).toBe('maxpool');
    expect(readoutsFor('1.0', 'pre-relu').input).toBe('maxpool');
  });
  it('pre-relu variant reads the sums', () => {
    expect(readoutsFor('4.1', 'pre-relu')).toMatchObject({ input: 'layer4.0.sum', branch: 'layer4.1.bn2', output: 'layer4.1.sum', channels: 512 });
  });
  it('rejects unknown blocks and variants', () => {
    expect(() => readoutsFor('5.0')).toThrow(/unknown block/);
    expect(() => readoutsFor('1.1', 'bogus' as never)).toThrow(/unknown variant/);
  });
  it('lists the distinct taps in forward order', () => {
    expect(tapsNeeded(['2.1', '1.1', '2.0'])).toEqual([
      'layer1.0', 'layer1.1.bn2', 'layer1.1', 'layer2.0.bn2', 'layer2.0.downsample.1', 'layer2.0', 'layer2.1.bn2', 'layer2.1',
    ]);
    expect(tapsNeeded(['2.1'], 'pre-relu')).toEqual(['layer2.0.sum', 'layer2.1.bn2', 'layer2.1.sum']);
  });
});

describe('centre values', () => {
  it('centre index is [H // 2, W // 2]', () => {
    expect(centreIndex(56, 56)).toEqual([28, 28]);
    expect(centreIndex(7, 7)).toEqual([3, 3]);
    expect(centreIndex(5, 4)).toEqual([2, 2]);
  });
  it('picks [n][c] from an NCHW tap', () => {
    const [N, C, H, W] = [2, 3, 5, 4];
    const tap = new Float32Array(N * C * H * W);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      tap[((n * C + c) * H + y) * W + x] = y === 2 && x === 2 ? 100 * n + c : -1;
    }
    expect(Array.from(centreValues(tap, [N, C, H, W]))).toEqual([0, 1, 2, 100, 101, 102]);
    expect(() => centreValues(tap, [N, C, H, W + 1])).toThrow(/needs/);
  });
});
