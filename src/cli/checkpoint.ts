// The --weights and --arch options of every command that loads a network: one place that finds the
// file (--weights, $RESNET_STREAM_WEIGHTS, the cache), reads it, validates it against the family
// member its tensors make it (or the one --arch insists on), and loads it into an engine as that
// member. A partial checkpoint can fit two members alike (resnet50 and resnet101 up to layer3): the
// engine is told the member the loader settled on, so the two never disagree.

import type { ResNetEngine } from '../model/engine';
import { FAMILY_NAMES } from '../model/family';
import type { Checkpoint } from '../weights/load';
import { readCheckpointFile, resolveWeightsPath } from '../weights/resolve-node';
import { UsageError } from './args';

export const ARCH_HELP = `--arch NAME           insist on one of torchvision's ResNets (${FAMILY_NAMES.join(', ')});
                        default: recognised from the checkpoint's tensor names and shapes`;

/** Check --arch early (before slow work). */
export function checkArchOption(arch: string | undefined): void {
  if (arch !== undefined && !FAMILY_NAMES.includes(arch)) {
    throw new UsageError(`--arch must be one of ${FAMILY_NAMES.join(', ')}, not '${arch}'`);
  }
}

export interface WeightsOptions {
  /** --weights (absent: $RESNET_STREAM_WEIGHTS, then the cache). */
  weights?: string;
  /** --arch (absent: recognised). */
  arch?: string;
  /** Fetch the official ResNet18 weights into the cache when nothing else is found. */
  allowDownload?: boolean;
}

/** Find, read and validate the checkpoint. */
export async function readWeights(options: WeightsOptions): Promise<{ path: string; checkpoint: Checkpoint }> {
  checkArchOption(options.arch);
  const path = await resolveWeightsPath({ flag: options.weights, allowDownload: options.allowDownload ?? false });
  const checkpoint = readCheckpointFile(path, { architecture: options.arch });
  return { path, checkpoint };
}

/** Load a checkpoint into an engine as the member it was validated against. */
export function loadInto(engine: ResNetEngine, checkpoint: Checkpoint): void {
  engine.loadWeights(checkpoint.tensors, { architecture: checkpoint.architecture });
}
