// What the bench's .ts scripts share: their --name value options and flags (the single-purpose
// ones, the head-to-head, the overhead split, the feature-visualisation and family benchmarks), and
// the inputs the kernel scripts time kernels on.

/** The value after --name on the command line, or `fallback` where it is absent or has none. */
export function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

/** Whether --name is on the command line. */
export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

/** Uniform values in [-0.5, 0.5) from a linear congruential generator (the timings need no better). */
export function lcgValues(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 32 - 0.5;
  }
  return out;
}
