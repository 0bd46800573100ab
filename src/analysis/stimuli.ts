// A procedurally generated stimulus set, so the analysis runs meaningfully with nothing downloaded but
// the weights: oriented gratings (grey and colour-opponent), Gabor patches at several sizes and
// positions, arcs and lines, luminance edges, colour blobs, checkerboards, 1/f noise, random dots,
// plaids, rings and radial patterns. 316 RGB images of 224 x 224, deterministic (every random choice
// is seeded from the image's name), with stable names that describe them ('grating_o045_f08_p0.png').
// They are plain RGB images and go through the same preprocessing as photographs (Resize(256) then
// CenterCrop(224) keeps their central 196 x 196 pixels, magnified; everything named is centred or
// within it).
// Browser-safe, no dependencies.

import type { RgbImage } from '../image/image';
import { mulberry32 } from '../util/random';

export type StimulusFamily =
  | 'grating' | 'gabor' | 'curve' | 'line' | 'edge' | 'blob' | 'checker' | 'noise' | 'dots' | 'plaid' | 'rings' | 'radial';

export interface StimulusSpec {
  /** Stable file name, e.g. 'grating_o045_f08_p0.png'. */
  name: string;
  family: StimulusFamily;
  /** The parameters the name encodes (orientation in degrees, frequency in cycles per image, ...). */
  params: Record<string, number | string>;
}

export interface Stimulus extends RgbImage, StimulusSpec {}

/** Side of every stimulus in pixels. */
export const STIMULUS_SIZE = 224;

type Rgb = readonly [number, number, number];

const GREY: Rgb = [0.5, 0.5, 0.5];
const COLOURS: Record<string, Rgb> = {
  red: [0.9, 0.1, 0.1],
  green: [0.1, 0.75, 0.15],
  blue: [0.15, 0.25, 0.95],
  yellow: [0.95, 0.9, 0.1],
  cyan: [0.1, 0.85, 0.9],
  magenta: [0.9, 0.15, 0.85],
  white: [1, 1, 1],
  black: [0, 0, 0],
};
/** Colour-opponent pairs for colour gratings and checkerboards. */
const PAIRS: Record<string, [Rgb, Rgb]> = {
  rg: [[0.85, 0.2, 0.2], [0.2, 0.7, 0.25]],
  by: [[0.2, 0.3, 0.9], [0.9, 0.85, 0.2]],
};

const pad = (n: number, width: number) => String(Math.round(n)).padStart(width, '0');

/** Every stimulus of the set, in a fixed order (cheap: no pixels). */
export function stimulusSpecs(): StimulusSpec[] {
  const specs: StimulusSpec[] = [];
  const add = (family: StimulusFamily, name: string, params: Record<string, number | string>) => specs.push({ name: `${name}.png`, family, params });

  // Gratings, full field: 12 orientations x 4 spatial frequencies x 2 phases, grey; colour-opponent ones.
  for (let o = 0; o < 180; o += 15) {
    for (const f of [4, 8, 16, 32]) {
      for (const p of [0, 90]) add('grating', `grating_o${pad(o, 3)}_f${pad(f, 2)}_p${p}`, { orientation: o, frequency: f, phase: p, colours: 'grey' });
    }
  }
  for (const pair of Object.keys(PAIRS)) {
    for (const o of [0, 45, 90, 135]) {
      for (const f of [4, 8]) add('grating', `grating_o${pad(o, 3)}_f${pad(f, 2)}_p0_${pair}`, { orientation: o, frequency: f, phase: 0, colours: pair });
    }
  }
  // Gabor patches: 4 orientations x 3 sizes x 3 positions (wavelength twice the envelope's sigma).
  for (const o of [0, 45, 90, 135]) {
    for (const s of [8, 16, 32]) {
      for (const [x, y] of [[112, 112], [64, 64], [160, 160]]) add('gabor', `gabor_o${pad(o, 3)}_s${pad(s, 2)}_x${pad(x, 3)}_y${pad(y, 3)}`, { orientation: o, sigma: s, x, y });
    }
  }
  // Arcs through the centre: 3 radii x 8 directions of the opening x 2 line widths.
  for (const r of [16, 32, 64]) {
    for (let d = 0; d < 360; d += 45) {
      for (const w of [3, 7]) add('curve', `curve_r${pad(r, 3)}_d${pad(d, 3)}_w${w}`, { radius: r, direction: d, width: w });
    }
  }
  // Straight bars through the centre: 6 orientations x 2 widths.
  for (let o = 0; o < 180; o += 30) {
    for (const w of [3, 9]) add('line', `line_o${pad(o, 3)}_w${w}`, { orientation: o, width: w });
  }
  // Luminance edges through the centre: 8 directions (the bright side faces the direction).
  for (let d = 0; d < 360; d += 45) add('edge', `edge_d${pad(d, 3)}`, { direction: d });
  // Colour blobs: 8 colours x 3 sizes x 2 positions.
  for (const colour of Object.keys(COLOURS)) {
    for (const s of [8, 20, 48]) {
      for (const [x, y] of [[112, 112], [72, 152]]) add('blob', `blob_${colour}_s${pad(s, 2)}_x${pad(x, 3)}_y${pad(y, 3)}`, { colour, sigma: s, x, y });
    }
  }
  // Checkerboards: 4 cell sizes x 2 rotations, grey; 2 colour pairs x 2 cell sizes.
  for (const c of [4, 8, 16, 28]) {
    for (const o of [0, 45]) add('checker', `checker_c${pad(c, 2)}_o${pad(o, 3)}`, { cell: c, orientation: o, colours: 'grey' });
  }
  for (const pair of Object.keys(PAIRS)) {
    for (const c of [8, 16]) add('checker', `checker_c${pad(c, 2)}_o000_${pair}`, { cell: c, orientation: 0, colours: pair });
  }
  // 1/f^alpha noise: 3 exponents x 4 seeds grey, x 2 seeds colour.
  for (const a of [10, 15, 20]) {
    for (let s = 0; s < 4; s++) add('noise', `noise_a${a}_s${s}`, { alpha: a / 10, seed: s, colours: 'grey' });
    for (let s = 0; s < 2; s++) add('noise', `noise_a${a}_s${s}_colour`, { alpha: a / 10, seed: s, colours: 'colour' });
  }
  // Random dots: 3 radii x 2 densities x 2 polarities.
  for (const r of [2, 5, 10]) {
    for (const density of ['sparse', 'dense']) {
      for (const polarity of ['wb', 'bw']) add('dots', `dots_r${pad(r, 2)}_${density}_${polarity}`, { radius: r, density, polarity });
    }
  }
  // Plaids (two orthogonal gratings), rings and radial patterns.
  for (const o of [0, 45]) for (const f of [8, 16]) add('plaid', `plaid_o${pad(o, 3)}_f${pad(f, 2)}`, { orientation: o, frequency: f });
  for (const f of [4, 8, 16]) add('rings', `rings_f${pad(f, 2)}`, { frequency: f });
  for (const n of [8, 16, 32]) add('radial', `radial_n${pad(n, 2)}`, { spokes: n });
  return specs;
}

// ---------------------------------------------------------------------------------------------
// Rendering

/** FNV-1a of a string: the seed of a stimulus's random choices. */
function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
const rad = (deg: number) => (deg * Math.PI) / 180;
const mix = (a: Rgb, b: Rgb, t: number): Rgb => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];

/** Fill an image from a function of the pixel centre (x right, y up, both relative to the image centre). */
function paint(size: number, colourAt: (x: number, y: number) => Rgb): Uint8Array {
  const data = new Uint8Array(size * size * 3);
  const c = size / 2;
  for (let row = 0; row < size; row++) {
    const y = c - (row + 0.5);
    for (let col = 0; col < size; col++) {
      const x = col + 0.5 - c;
      const rgb = colourAt(x, y);
      const o = (row * size + col) * 3;
      data[o] = Math.round(clamp01(rgb[0]) * 255);
      data[o + 1] = Math.round(clamp01(rgb[1]) * 255);
      data[o + 2] = Math.round(clamp01(rgb[2]) * 255);
    }
  }
  return data;
}

/** Anti-aliased coverage of a stroke of width w at distance d from its centre line. */
const stroke = (d: number, w: number) => clamp01(w / 2 - d + 0.5);

/** In-place iterative radix-2 inverse FFT (unnormalised) of (re, im), length a power of two. */
function inverseFft(re: Float64Array, im: Float64Array, cos: Float64Array, sin: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const step = n / len; // twiddle k of this stage is exp(+2 pi i k / len) = table entry k * step
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = cos[k * step];
        const wi = sin[k * step];
        const a = i + k;
        const b = a + len / 2;
        const xr = re[b] * wr - im[b] * wi;
        const xi = re[b] * wi + im[b] * wr;
        re[b] = re[a] - xr;
        im[b] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
      }
    }
  }
}

/** A 1/f^alpha random field (random phases), size x size from a periodic 256 x 256 field, mean 0, sd 1. */
function pinkNoise(size: number, alpha: number, rand: () => number): Float64Array {
  const n = 256;
  const re = new Float64Array(n * n);
  const im = new Float64Array(n * n);
  for (let v = 0; v < n; v++) {
    const fy = v <= n / 2 ? v : v - n;
    for (let u = 0; u < n; u++) {
      const fx = u <= n / 2 ? u : u - n;
      const f = Math.hypot(fx, fy);
      const amp = f === 0 ? 0 : f ** -alpha;
      const phase = 2 * Math.PI * rand();
      re[v * n + u] = amp * Math.cos(phase);
      im[v * n + u] = amp * Math.sin(phase);
    }
  }
  const rowRe = new Float64Array(n);
  const rowIm = new Float64Array(n);
  const cos = Float64Array.from({ length: n / 2 }, (_, k) => Math.cos((2 * Math.PI * k) / n));
  const sin = Float64Array.from({ length: n / 2 }, (_, k) => Math.sin((2 * Math.PI * k) / n));
  for (let pass = 0; pass < 2; pass++) {
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        const idx = pass === 0 ? a * n + b : b * n + a;
        rowRe[b] = re[idx];
        rowIm[b] = im[idx];
      }
      inverseFft(rowRe, rowIm, cos, sin);
      for (let b = 0; b < n; b++) {
        const idx = pass === 0 ? a * n + b : b * n + a;
        re[idx] = rowRe[b];
        im[idx] = rowIm[b];
      }
    }
  }
  const out = new Float64Array(size * size);
  let mean = 0;
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) mean += out[y * size + x] = re[y * n + x];
  mean /= size * size;
  let sd = 0;
  for (let i = 0; i < out.length; i++) sd += (out[i] - mean) ** 2;
  sd = Math.sqrt(sd / out.length) || 1;
  for (let i = 0; i < out.length; i++) out[i] = (out[i] - mean) / sd;
  return out;
}

/** Render one stimulus (deterministic). */
export function renderStimulus(spec: StimulusSpec, size = STIMULUS_SIZE): Stimulus {
  const p = spec.params;
  const num = (k: string) => p[k] as number;
  const scale = size / STIMULUS_SIZE; // positions and sizes in the names are for 224 x 224
  const rand = mulberry32(seedOf(spec.name));
  let data: Uint8Array;
  switch (spec.family) {
    case 'grating': {
      const th = rad(num('orientation'));
      const k = (2 * Math.PI * num('frequency')) / size;
      const ph = rad(num('phase'));
      const [a, b] = p.colours === 'grey' ? [COLOURS.black, COLOURS.white] : PAIRS[p.colours as string];
      data = paint(size, (x, y) => mix(a, b, 0.5 + 0.5 * Math.cos(k * (x * Math.cos(th) + y * Math.sin(th)) + ph)));
      break;
    }
    case 'gabor': {
      const th = rad(num('orientation'));
      const s = num('sigma') * scale;
      const cx = (num('x') - 112) * scale;
      const cy = (112 - num('y')) * scale;
      const k = (2 * Math.PI) / (2 * s);
      data = paint(size, (x, y) => {
        const dx = x - cx;
        const dy = y - cy;
        const env = Math.exp(-(dx * dx + dy * dy) / (2 * s * s));
        const v = 0.5 + 0.5 * env * Math.cos(k * (dx * Math.cos(th) + dy * Math.sin(th)));
        return [v, v, v];
      });
      break;
    }
    case 'curve': {
      // A 120-degree arc of radius r whose midpoint is the image centre; the circle's centre lies r away
      // in `direction`, so the arc opens towards it.
      const r = num('radius') * scale;
      const w = num('width') * scale;
      const d = rad(num('direction'));
      const ccx = r * Math.cos(d);
      const ccy = r * Math.sin(d);
      const mid = Math.atan2(-ccy, -ccx);
      const half = rad(60);
      const [e1x, e1y, e2x, e2y] = [mid - half, mid + half].flatMap((t) => [ccx + r * Math.cos(t), ccy + r * Math.sin(t)]);
      data = paint(size, (x, y) => {
        const dx = x - ccx;
        const dy = y - ccy;
        let t = Math.atan2(dy, dx) - mid;
        t = Math.atan2(Math.sin(t), Math.cos(t));
        const dist = Math.abs(t) <= half
          ? Math.abs(Math.hypot(dx, dy) - r)
          : Math.min(Math.hypot(x - e1x, y - e1y), Math.hypot(x - e2x, y - e2y));
        return mix(GREY, COLOURS.white, stroke(dist, w));
      });
      break;
    }
    case 'line': {
      const th = rad(num('orientation'));
      const w = num('width') * scale;
      data = paint(size, (x, y) => mix(GREY, COLOURS.white, stroke(Math.abs(-x * Math.sin(th) + y * Math.cos(th)), w)));
      break;
    }
    case 'edge': {
      const d = rad(num('direction'));
      data = paint(size, (x, y) => {
        const v = clamp01(0.5 + (x * Math.cos(d) + y * Math.sin(d))); // one-pixel ramp
        return mix([0.2, 0.2, 0.2], [0.8, 0.8, 0.8], v);
      });
      break;
    }
    case 'blob': {
      const colour = COLOURS[p.colour as string];
      const s = num('sigma') * scale;
      const cx = (num('x') - 112) * scale;
      const cy = (112 - num('y')) * scale;
      data = paint(size, (x, y) => mix(GREY, colour, Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s * s))));
      break;
    }
    case 'checker': {
      const c = num('cell') * scale;
      const th = rad(num('orientation'));
      const [a, b] = p.colours === 'grey' ? [COLOURS.black, COLOURS.white] : PAIRS[p.colours as string];
      data = paint(size, (x, y) => {
        const u = x * Math.cos(th) + y * Math.sin(th);
        const v = -x * Math.sin(th) + y * Math.cos(th);
        return (Math.floor(u / c) + Math.floor(v / c)) & 1 ? b : a;
      });
      break;
    }
    case 'noise': {
      const alpha = num('alpha');
      const channels = p.colours === 'colour' ? [0, 1, 2].map(() => pinkNoise(size, alpha, rand)) : [pinkNoise(size, alpha, rand)];
      data = new Uint8Array(size * size * 3);
      for (let i = 0; i < size * size; i++) {
        for (let ch = 0; ch < 3; ch++) data[i * 3 + ch] = Math.round(clamp01(0.5 + 0.18 * channels[channels.length === 1 ? 0 : ch][i]) * 255);
      }
      break;
    }
    case 'dots': {
      const r = num('radius') * scale;
      const count = Math.round(((p.density === 'dense' ? 0.3 : 0.08) * size * size) / (Math.PI * r * r));
      const dots = Array.from({ length: count }, () => [(rand() - 0.5) * size, (rand() - 0.5) * size]);
      const [fg, bg] = p.polarity === 'wb' ? [COLOURS.white, COLOURS.black] : [COLOURS.black, COLOURS.white];
      // Coverage per pixel: the nearest dot decides (dots may overlap).
      const cover = new Float64Array(size * size);
      const c = size / 2;
      for (const [dx, dy] of dots) {
        const col0 = Math.max(0, Math.floor(dx + c - r - 1));
        const col1 = Math.min(size - 1, Math.ceil(dx + c + r + 1));
        const row0 = Math.max(0, Math.floor(c - dy - r - 1));
        const row1 = Math.min(size - 1, Math.ceil(c - dy + r + 1));
        for (let row = row0; row <= row1; row++) {
          for (let col = col0; col <= col1; col++) {
            const d = Math.hypot(col + 0.5 - c - dx, c - (row + 0.5) - dy);
            const v = clamp01(r - d + 0.5);
            if (v > cover[row * size + col]) cover[row * size + col] = v;
          }
        }
      }
      data = paint(size, (x, y) => mix(bg, fg, cover[Math.floor(c - y) * size + Math.floor(x + c)]));
      break;
    }
    case 'plaid': {
      const th = rad(num('orientation'));
      const k = (2 * Math.PI * num('frequency')) / size;
      data = paint(size, (x, y) => {
        const u = x * Math.cos(th) + y * Math.sin(th);
        const v = -x * Math.sin(th) + y * Math.cos(th);
        const g = 0.5 + 0.25 * Math.cos(k * u) + 0.25 * Math.cos(k * v);
        return [g, g, g];
      });
      break;
    }
    case 'rings': {
      const k = (2 * Math.PI * num('frequency')) / size;
      data = paint(size, (x, y) => {
        const g = 0.5 + 0.5 * Math.cos(k * Math.hypot(x, y));
        return [g, g, g];
      });
      break;
    }
    case 'radial': {
      const n = num('spokes');
      data = paint(size, (x, y) => {
        const g = 0.5 + 0.5 * Math.cos(n * Math.atan2(y, x));
        return [g, g, g];
      });
      break;
    }
    default:
      throw new Error(`unknown stimulus family '${(spec as StimulusSpec).family}'`);
  }
  return { ...spec, width: size, height: size, data };
}

/** The whole set, rendered (about 316 x 150 KB). Use `stimulusSpecs` + `renderStimulus` to render lazily. */
export function generateStimuli(size = STIMULUS_SIZE): Stimulus[] {
  return stimulusSpecs().map((s) => renderStimulus(s, size));
}

/** Render a stimulus by its file name (as analysis.json reports it). */
export function stimulusByName(name: string, size = STIMULUS_SIZE): Stimulus {
  const spec = stimulusSpecs().find((s) => s.name === name);
  if (!spec) throw new Error(`no stimulus named '${name}'`);
  return renderStimulus(spec, size);
}
