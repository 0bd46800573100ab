// The blocks an analysis can run with the loaded weights: shared by `analyze` (dataset probes) and
// `analyze --probes fv`, so both skip the same blocks for the same stated reason.

import type { SkippedBlock } from '../analysis/analyze';
import { type Variant, readoutsFor } from '../analysis/readouts';
import type { Architecture } from '../model/architecture';
import type { ResNetEngine } from '../model/engine';

/**
 * Split `requested` into the blocks whose readouts (I, B, O) the weights can compute and the rest,
 * each skipped block with what the checkpoint lacks (the caller says so). Throws if none is left.
 */
export function computableBlocks(requested: string[], variant: Variant, status: ReturnType<ResNetEngine['computability']>, arch?: Architecture):
  { blocks: string[]; skipped: SkippedBlock[] } {
  const blocks: string[] = [];
  const skipped: SkippedBlock[] = [];
  for (const b of requested) {
    const r = readoutsFor(b, variant, arch);
    if ([r.input, r.branch, r.output].some((t) => status.notComputable.includes(t))) {
      const reason = `checkpoint lacks ${status.missingTensors.join(', ')} (it computes through ${status.lastComputable})`;
      skipped.push({ block: b, reason });
    } else {
      blocks.push(b);
    }
  }
  if (!blocks.length) throw new Error('none of the requested blocks can be computed with these weights');
  return { blocks, skipped };
}
