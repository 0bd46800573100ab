// The three readouts of a block (METHOD.md, "The three readouts of a block"): which tap is the input
// I, the branch B and the output O of each residual block, in the paper's post-ReLU form and the
// follow-up's pre-ReLU form, and how a readout's value is taken from a tap (its centre unit).
// Pure data and index arithmetic: browser-safe, no GPU.

import { type Architecture, BLOCKS, type BlockSpec, RESNET18, allTapNames, blockByName } from '../model/architecture';

/** 'post-relu': the 2024 paper (I and O after the ReLU). 'pre-relu': the 2025 follow-up (`sum`). */
export type Variant = 'post-relu' | 'pre-relu';

export const VARIANTS: readonly Variant[] = ['post-relu', 'pre-relu'];

/** The blocks the paper analyses (1.0 is allowed but not a default). */
export const DEFAULT_BLOCKS: readonly string[] = ['1.1', '2.0', '2.1', '3.0', '3.1', '4.0', '4.1'];

/** Every block, in forward order, by its short name. */
export const ALL_BLOCKS: readonly string[] = BLOCKS.map((b) => b.short);

/**
 * The blocks analysed by default in a member of the family (METHOD.md, "Beyond ResNet18"): every block
 * but layer1.0 in a BasicBlock network (the paper's; ResNet18: DEFAULT_BLOCKS), where 1.0's input is the
 * max-pool; every block in a Bottleneck network, where layer1.0 widens 64 -> 256 through a downsample and
 * so has a proper I.
 */
export function defaultBlocks(arch: Architecture = RESNET18): string[] {
  return arch.blocks.filter((b) => b.short !== '1.0' || b.downsample !== undefined).map((b) => b.short);
}

/** Every block of an architecture, in forward order, by its short name (ResNet18: ALL_BLOCKS). */
export function blockNames(arch: Architecture = RESNET18): string[] {
  return arch.blocks.map((b) => b.short);
}

export interface BlockReadouts {
  /** Short name, '2.1'. */
  block: string;
  /** torchvision module path of the block, 'layer2.1'. */
  module: string;
  variant: Variant;
  /** Tap read as the input I. */
  input: string;
  /** Tap read as the branch B: the last BN of the branch (`bn2` in a BasicBlock, `bn3` in a Bottleneck). */
  branch: string;
  /** Tap read as the output O. */
  output: string;
  /** Channels of the residual stream at this block (I, B and O all have this many). */
  channels: number;
}

function previousBlock(b: BlockSpec, arch: Architecture): BlockSpec | undefined {
  const i = arch.blocks.indexOf(b);
  return i > 0 ? arch.blocks[i - 1] : undefined;
}

/**
 * The readout taps of a block.
 * - I: downsampling block (2.0, 3.0, 4.0): `layerL.0.downsample.1` in both variants; block 1.0:
 *   `maxpool` in both variants; any other block: the previous block's output `layerL.(B-1)`
 *   (post-relu) or its `sum` (pre-relu).
 * - B: the last BN of the branch, `layerL.B.bn2` (BasicBlock) or `layerL.B.bn3` (Bottleneck).
 * - O: `layerL.B` (post-relu) or `layerL.B.sum` (pre-relu).
 */
export function readoutsFor(block: string, variant: Variant = 'post-relu', arch: Architecture = RESNET18): BlockReadouts {
  if (!VARIANTS.includes(variant)) throw new Error(`unknown variant '${variant}' (expected ${VARIANTS.join(' or ')})`);
  const b = blockByName(block, arch);
  let input: string;
  if (b.downsample) {
    input = b.downsample.bn;
  } else {
    const prev = previousBlock(b, arch);
    if (!prev) input = 'maxpool';
    else input = variant === 'pre-relu' ? `${prev.name}.sum` : prev.name;
  }
  return {
    block: b.short,
    module: b.name,
    variant,
    input,
    branch: b.branch[b.branch.length - 1].bn,
    output: variant === 'pre-relu' ? `${b.name}.sum` : b.name,
    channels: b.outChannels,
  };
}

/** The distinct taps the analysis of these blocks reads, in forward order. */
export function tapsNeeded(blocks: readonly string[], variant: Variant = 'post-relu', arch: Architecture = RESNET18): string[] {
  const wanted = new Set<string>();
  for (const block of blocks) {
    const r = readoutsFor(block, variant, arch);
    wanted.add(r.input).add(r.branch).add(r.output);
  }
  return allTapNames(arch).filter((t) => wanted.has(t));
}

/** The centre unit of an H x W map: [H // 2, W // 2] (224 input: 56 -> 28, 28 -> 14, 14 -> 7, 7 -> 3). */
export function centreIndex(height: number, width: number): [number, number] {
  return [Math.floor(height / 2), Math.floor(width / 2)];
}

/**
 * The centre values of an NCHW tap: a Float32Array of N * C laid out [n][c].
 * `shape` is [N, C, H, W] (the tap's full shape).
 */
export function centreValues(tap: Float32Array, shape: readonly number[]): Float32Array {
  if (shape.length !== 4) throw new Error(`centreValues: expected an NCHW shape, got [${shape.join(', ')}]`);
  const [n, c, h, w] = shape;
  if (tap.length !== n * c * h * w) {
    throw new Error(`centreValues: tap has ${tap.length} values, shape [${shape.join(', ')}] needs ${n * c * h * w}`);
  }
  const [cy, cx] = centreIndex(h, w);
  const offset = cy * w + cx;
  const out = new Float32Array(n * c);
  for (let i = 0; i < n * c; i++) out[i] = tap[i * h * w + offset];
  return out;
}
