// The fv command's argument handling and the paper-protocol arithmetic behind the benchmark.

import { describe, expect, it } from 'vitest';
import { parseChannels } from '../src/cli/fv';
import { paperProbeTaps, projectPaperProtocol } from '../src/featureviz/fv-node';

describe('fv command helpers', () => {
  it('parses channel lists and ranges', () => {
    expect(parseChannels('0-3')).toEqual([0, 1, 2, 3]);
    expect(parseChannels('7,3,3,10-11')).toEqual([3, 7, 10, 11]);
    expect(() => parseChannels('5-2')).toThrow(/backwards/);
    expect(() => parseChannels('a')).toThrow(/not a channel/);
  });

  it("lists the paper's 5,568 fv probes (7 blocks x I, B, O x every channel)", () => {
    const probes = paperProbeTaps();
    expect(probes.length).toBe(21);
    expect(probes.reduce((s, p) => s + p.channels, 0)).toBe(5568);
    expect(probes.find((p) => p.block === 'layer2.0' && p.readout === 'I')!.tap).toBe('layer2.0.downsample.1');
    expect(probes.find((p) => p.block === 'layer1.1' && p.readout === 'I')!.tap).toBe('layer1.0');
    // At 1 step/s for every tap, batches of 64: sum over taps of ceil(C/64) * 2560 s.
    const batches = probes.reduce((s, p) => s + Math.ceil(p.channels / 64), 0);
    expect(projectPaperProtocol(() => 1)).toBe(batches * 2560);
  });
});
