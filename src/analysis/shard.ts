// Sharding: one run's work split over N processes (machines, scheduler array tasks), merged exactly
// afterwards. Browser-safe, pure.
//
// Assignment is deterministic and contiguous: of `total` units (dataset mode: the images in the order
// the run lists them; fv mode: the render units, fv-probes.ts), shard K of N takes the units
// floor(K * total / N) .. floor((K + 1) * total / N) - 1. Every unit lands in exactly one shard, the
// shards differ in size by at most one, and shard K's units follow shard K-1's, so concatenating the
// shards in K order gives the unsharded order back.

/** Shard `index` (K, 0-based) of `count` (N). */
export interface ShardSpec {
  index: number;
  count: number;
}

/** The units [start, end) of shard K of N over `total` units. */
export function shardRange(total: number, shard: ShardSpec): { start: number; end: number } {
  checkShard(shard);
  return { start: Math.floor((shard.index * total) / shard.count), end: Math.floor(((shard.index + 1) * total) / shard.count) };
}

/** Throws unless 0 <= K < N are integers. */
export function checkShard(shard: ShardSpec): void {
  const { index, count } = shard;
  if (!Number.isInteger(count) || count < 1) throw new Error(`shard count must be a positive integer, got ${count}`);
  if (!Number.isInteger(index) || index < 0 || index >= count) throw new Error(`shard index must be an integer from 0 to ${count - 1}, got ${index}`);
}

/** 'K/N' as the command line writes it. */
export function shardLabel(shard: ShardSpec): string {
  return `${shard.index}/${shard.count}`;
}

/**
 * Of a set of shards that should be one run's 0..N-1 exactly once: the indices missing and those
 * given more than once ([] and [] when the set is whole).
 */
export function shardCoverage(indices: readonly number[], count: number): { missing: number[]; repeated: number[] } {
  const seen = new Map<number, number>();
  for (const k of indices) seen.set(k, (seen.get(k) ?? 0) + 1);
  const missing = Array.from({ length: count }, (_, k) => k).filter((k) => !seen.has(k));
  const repeated = [...seen].filter(([, n]) => n > 1).map(([k]) => k).sort((a, b) => a - b);
  return { missing, repeated };
}

/**
 * Throws ShardSetError unless `indices` are 0..count-1 exactly once: 'shards 1/3, 2/3 missing; shard 0/3
 * given more than once (a, b)', `givenBy(k)` naming where shard k was given.
 */
export function checkCoverage(indices: readonly number[], count: number, givenBy: (k: number) => string): void {
  const { missing, repeated } = shardCoverage(indices, count);
  if (!missing.length && !repeated.length) return;
  throw new ShardSetError([
    missing.length ? `shard${missing.length > 1 ? 's' : ''} ${missing.map((k) => `${k}/${count}`).join(', ')} missing` : '',
    ...repeated.map((k) => `shard ${k}/${count} given more than once (${givenBy(k)})`),
  ].filter(Boolean).join('; '));
}

/** The mismatch or gap that makes a set of shards unmergeable (nothing is written). */
export class ShardSetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShardSetError';
  }
}
