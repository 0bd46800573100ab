// Which member of torchvision's ResNet family a checkpoint holds, from its tensor names and shapes
// alone (no flag needed): the block kind (a bottleneck has conv3), the blocks per stage, and the
// grouped width of the 3x3 convolution. Partial checkpoints are recognised from what they have; a
// checkpoint of no member gets one line saying what it resembles and what does not fit.

import { type Architecture, expectedTensors, isIgnorableTensor } from './architecture';
import { FAMILY, type FamilyMember, architectureOf } from './family';

export interface Recognition {
  architecture: Architecture;
  /** Expected tensors the checkpoint lacks (a partial checkpoint). */
  missing: string[];
}

export class UnrecognisedArchitectureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnrecognisedArchitectureError';
  }
}

type Shapes = ReadonlyMap<string, readonly number[]>;

/** How far a member's expected tensors are from the checkpoint's: wrong shapes, unexpected names, absent names. */
function distance(member: FamilyMember, shapes: Shapes): { wrongShape: string[]; unexpected: string[]; missing: string[] } {
  const expected = expectedTensors(architectureOf(member.name));
  const wrongShape: string[] = [];
  const unexpected: string[] = [];
  for (const [name, shape] of shapes) {
    if (isIgnorableTensor(name)) continue;
    const want = expected.get(name);
    if (!want) unexpected.push(name);
    else if (want.join('x') !== shape.join('x')) wrongShape.push(`${name} [${shape.join(', ')}] (${member.name}: [${want.join(', ')}])`);
  }
  const missing = [...expected.keys()].filter((n) => !shapes.has(n));
  return { wrongShape, unexpected, missing };
}

/**
 * The family member whose tensors the checkpoint's names and shapes fit: every tensor it has is one
 * the member expects, with that shape. Among several (a partial checkpoint can fit resnet50 and
 * resnet101 alike when it stops in layer3), the one missing the fewest tensors. `insist` names the
 * member to check against instead (--arch).
 */
export function recogniseArchitecture(shapes: Shapes, insist?: string): Recognition {
  const { fits, closest } = rank(shapes, insist);
  if (fits) return { architecture: architectureOf(closest.m.name), missing: closest.d.missing };
  // None fits: name the closest, by how many of the checkpoint's tensors it explains.
  const problems = [...closest.d.wrongShape, ...closest.d.unexpected.map((n) => `${n} (not in ${closest.m.name})`)];
  const shown = problems.slice(0, 3).join('; ') + (problems.length > 3 ? `; and ${problems.length - 3} more` : '');
  throw new UnrecognisedArchitectureError(insist
    ? `the checkpoint is not a ${insist}: ${shown}`
    : `the checkpoint is none of torchvision's ResNets; it is closest to ${closest.m.name}, which does not fit ${shown}`);
}

function rank(shapes: Shapes, insist?: string) {
  const candidates = insist ? FAMILY.filter((m) => m.name === insist) : FAMILY;
  if (insist && !candidates.length) {
    throw new UnrecognisedArchitectureError(`unknown architecture '${insist}' (one of: ${FAMILY.map((m) => m.name).join(', ')})`);
  }
  const scored = candidates.map((m) => ({ m, d: distance(m, shapes) }));
  const fitting = scored.filter((s) => !s.d.wrongShape.length && !s.d.unexpected.length).sort((a, b) => a.d.missing.length - b.d.missing.length);
  if (fitting.length) return { fits: true, closest: fitting[0] };
  const closest = [...scored].sort((a, b) => (a.d.wrongShape.length + a.d.unexpected.length) - (b.d.wrongShape.length + b.d.unexpected.length))[0];
  return { fits: false, closest };
}

/**
 * The member a checkpoint fits, else the one it resembles most (fewest tensors of the checkpoint
 * it cannot explain): what a loader validates against, so that its errors name what does not fit.
 */
export function closestArchitecture(shapes: Shapes, insist?: string): Architecture {
  return architectureOf(rank(shapes, insist).closest.m.name);
}
