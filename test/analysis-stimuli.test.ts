import { describe, expect, it } from 'vitest';
import { hashString } from '../src/analysis/journal';
import { STIMULUS_SIZE, generateStimuli, renderStimulus, stimulusByName, stimulusSpecs } from '../src/analysis/stimuli';

describe('procedural stimulus set', () => {
  const specs = stimulusSpecs();

  it('has 200-400 uniquely named images of every family', () => {
    expect(specs.length).toBeGreaterThanOrEqual(200);
    expect(specs.length).toBeLessThanOrEqual(400);
    expect(new Set(specs.map((s) => s.name)).size).toBe(specs.length);
    expect(new Set(specs.map((s) => s.family))).toEqual(new Set(['grating', 'gabor', 'curve', 'line', 'edge', 'blob', 'checker', 'noise', 'dots', 'plaid', 'rings', 'radial']));
    for (const s of specs) expect(s.name).toMatch(/^[a-z]+(_[a-z0-9]+)+\.png$/);
    expect(specs.map((s) => s.name)).toContain('grating_o045_f08_p0.png');
  });

  it('is deterministic: the same pixels on every run (pinned hash of the whole set)', () => {
    const a = generateStimuli();
    let text = '';
    a.forEach((img, i) => {
      expect(img.width).toBe(STIMULUS_SIZE);
      expect(img.height).toBe(STIMULUS_SIZE);
      expect(img.data.length).toBe(STIMULUS_SIZE * STIMULUS_SIZE * 3);
      if (i % 10 === 0) {
        const again = renderStimulus(specs[i]);
        expect(img.data.every((v, j) => v === again.data[j]), img.name).toBe(true);
      }
      let h = 0;
      for (let j = 0; j < img.data.length; j++) h = (Math.imul(h, 31) + img.data[j]) | 0;
      text += `${img.name}:${h}\n`;
    });
    // Pinned: a change here means the stimulus set changed (and with it every analysis that used it).
    expect(hashString(text)).toBe(PINNED_SET_HASH);
  });

  it('draws what the names say', () => {
    // A vertical-bar grating (modulation along x): constant down each column, varying along a row.
    const g = stimulusByName('grating_o000_f08_p0.png');
    const px = (x: number, y: number) => g.data[(y * 224 + x) * 3];
    expect(px(10, 0)).toBe(px(10, 200));
    expect(new Set(Array.from({ length: 28 }, (_, x) => px(x, 5))).size).toBeGreaterThan(5);
    // A red blob in the centre is red in the centre and grey in the corner.
    const blob = stimulusByName('blob_red_s20_x112_y112.png');
    const c = (112 * 224 + 112) * 3;
    expect(blob.data[c]).toBeGreaterThan(200);
    expect(blob.data[c + 1]).toBeLessThan(60);
    for (const v of blob.data.subarray(0, 3)) expect(Math.abs(v - 128)).toBeLessThanOrEqual(1);
    // Noise has roughly the intended mean and uses the range.
    const noise = stimulusByName('noise_a10_s0.png');
    const mean = noise.data.reduce((s, v) => s + v, 0) / noise.data.length;
    expect(Math.abs(mean - 127.5)).toBeLessThan(6);
  });

  it('renders at other sizes', () => {
    const small = renderStimulus(specs[0], 64);
    expect(small.data.length).toBe(64 * 64 * 3);
    expect(() => stimulusByName('nope.png')).toThrow();
  });
});

const PINNED_SET_HASH = '12a4d7694ba2d3';
