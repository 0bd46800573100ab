// The reference the streaming top-k accumulator (src/analysis/probes.ts TopK) is tested against:
// sort everything by the same ranking rule.

import { ranksBefore } from '../../src/analysis/probes';

/** Brute-force top-k (sort everything): the reference the streaming accumulator is tested against. */
export function topKBruteForce(column: ArrayLike<number>, k: number, imageIndices?: ArrayLike<number>): number[] {
  const idx = Array.from({ length: column.length }, (_, j) => j);
  const imageOf = (j: number) => (imageIndices ? imageIndices[j] : j);
  idx.sort((a, b) => (ranksBefore(column[a], imageOf(a), column[b], imageOf(b)) ? -1 : 1));
  return idx.slice(0, k).map(imageOf);
}
