// Deterministic weights and inputs for torchvision's ResNet family, bit-identical to
// scripts/goldens/family_weights.py (whose header is the specification; this is a line-by-line
// translation): a counter-based uint32 hash of (seed, FNV-1a of the tensor name, element index),
// mapped exactly to a float32 uniform in [0, 1), then one float32 multiply and one float32 add.
// JS does the uint32 arithmetic with Math.imul and >>> 0, and each float32 operation as a float64
// operation rounded by Math.fround (exact: float64 holds the product of two float32 exactly, and
// rounding a float64 sum of two float32 to float32 equals the float32 sum).

import { type FamilyArch, type FamilyArchName, familyStateDict } from './family';

export interface HostTensor32 {
  shape: number[];
  data: Float32Array;
}

function mix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** FNV-1a, 32 bit, over the UTF-8 bytes of s. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/** u(i) = (h(i) >>> 8) * 2^-24 for i < count, then f32(f32(u * span) + low). */
export function hashTensor(seed: number, name: string, count: number, low: number, span: number): Float32Array {
  const key = mix(mix(seed >>> 0) ^ fnv1a(name));
  const lo = Math.fround(low);
  const sp = Math.fround(span);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const u = (mix(mix(i) ^ key) >>> 8) * 2 ** -24;
    out[i] = Math.fround(u * sp) + lo; // the Float32Array store is the second rounding
  }
  return out;
}

/** The [0, 1) uniforms alone (a test's random source: seeded, reproducible in Python). */
export function hashUniform(seed: number, name: string, count: number): Float32Array {
  return hashTensor(seed, name, count, 0, 1);
}

/** An input tensor in [-2, 2), fed to the network as is (it stands for a normalised image). */
export function hashInput(seed: number, name: string, shape: number[]): HostTensor32 {
  return { shape, data: hashTensor(seed, name, shape.reduce((a, b) => a * b, 1), -2, 4) };
}

/** (D, last): the number of blocks and each branch's last conv index, from the names (as Python). */
function networkShape(names: string[]): { depth: number; last: number } {
  const blocks = new Set<string>();
  for (const n of names) {
    const m = /^(layer\d+\.\d+)\./.exec(n);
    if (m) blocks.add(m[1]);
  }
  return { depth: blocks.size, last: names.some((n) => /\.conv3\.weight$/.test(n)) ? 3 : 2 };
}

/** [LOW, SPAN] (before rounding to float32) of a state-dict tensor: family_weights.py's table. */
export function tensorRange(name: string, shape: number[], depth: number, last: number): [number, number] {
  let a: number;
  if (shape.length === 4) {
    const fan = shape[1] * shape[2] * shape[3];
    if (/^layer\d+\.\d+\.downsample\.0\.weight$/.test(name)) a = Math.sqrt(3 / fan);
    else if (new RegExp(`^layer\\d+\\.\\d+\\.conv${last}\\.weight$`).test(name)) a = Math.sqrt(3 / (fan * depth));
    else a = Math.sqrt(6 / fan);
    return [-a, 2 * a];
  }
  if (name === 'fc.weight') {
    a = Math.sqrt(1 / shape[1]);
    return [-a, 2 * a];
  }
  if (name.endsWith('running_var') || (name.endsWith('.weight') && shape.length === 1)) return [0.5, 1];
  if (name.endsWith('running_mean') || name.endsWith('.bias')) return [-0.1, 0.2];
  throw new Error(`no rule for ${name} [${shape}]`);
}

/** Every float tensor of a state dict (num_batches_tracked skipped), generated under `seed`. */
export function generateWeights(namesShapes: [string, number[]][], seed: number): Map<string, HostTensor32> {
  const floats = namesShapes.filter(([n]) => !n.endsWith('num_batches_tracked'));
  const { depth, last } = networkShape(floats.map(([n]) => n));
  const out = new Map<string, HostTensor32>();
  for (const [name, shape] of floats) {
    const [low, span] = tensorRange(name, shape, depth, last);
    out.set(name, { shape, data: hashTensor(seed, name, shape.reduce((a, b) => a * b, 1), low, span) });
  }
  return out;
}

/** torchvision's state dict of `arch` (its names, shapes and order) filled with the hash weights. */
export function familyWeights(arch: FamilyArchName | FamilyArch, seed: number): Map<string, HostTensor32> {
  return generateWeights(familyStateDict(arch), seed);
}
