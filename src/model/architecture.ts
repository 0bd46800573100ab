// ResNet18 as data: the stem, the eight basic blocks, the head, every parameter tensor torchvision's
// state dict holds, and every tap name of METHOD.md. Nothing here touches the GPU.
//
// The network is an `Architecture` value: a stem (conv + BN + ReLU, max pool), a list of residual
// blocks whose branch is a list of conv + BN pairs (a ReLU after each but the last) with an
// optional downsampling conv + BN on the skip path, and a head (global average pool, classifier).
// The forward planner (planner.ts), the tap names, their shapes and the expected tensors all walk
// this value, so another member of the family is another value, not another code path.

export interface ConvSpec {
  /** torchvision module path of the convolution, e.g. 'layer2.0.conv1' or 'layer2.0.downsample.0'. */
  conv: string;
  /** torchvision module path of the BatchNorm that follows it, e.g. 'layer2.0.bn1'. */
  bn: string;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  padding: number;
  /** Grouped convolution (ResNeXt's 3x3): input and output channels split into this many groups. Default 1. */
  groups?: number;
}

export interface PoolSpec {
  kernel: number;
  stride: number;
  padding: number;
}

export interface BlockSpec {
  /** 'layer2.0' */
  name: string;
  /** '2.0', the paper's short name. */
  short: string;
  stage: number;
  index: number;
  inChannels: number;
  outChannels: number;
  stride: number;
  /** The branch's convolutions in order; a ReLU follows each but the last (BasicBlock: conv1, conv2). */
  branch: readonly ConvSpec[];
  conv1: ConvSpec;
  conv2: ConvSpec;
  /** 1x1 stride-2 convolution + BN on the skip path (blocks 2.0, 3.0, 4.0). */
  downsample?: ConvSpec;
}

export interface Architecture {
  name: string;
  /** conv1 + bn1 (+ the ReLU 'relu'), then the max pool 'maxpool'. */
  stem: ConvSpec;
  pool: PoolSpec;
  blocks: readonly BlockSpec[];
  /** Channels of the last block's output: the width of 'avgpool'. */
  features: number;
  /** Outputs of the classifier 'fc'. */
  classes: number;
}

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;
export const BN_EPS = 1e-5;
export const NUM_CLASSES = 1000;
export const FEATURE_WIDTH = 512;

export const STEM: ConvSpec = {
  conv: 'conv1', bn: 'bn1', inChannels: 3, outChannels: 64, kernel: 7, stride: 2, padding: 3,
};

function makeBlocks(): BlockSpec[] {
  const widths = [64, 128, 256, 512];
  const blocks: BlockSpec[] = [];
  let inChannels = 64;
  widths.forEach((width, s) => {
    const stage = s + 1;
    for (let index = 0; index < 2; index++) {
      const name = `layer${stage}.${index}`;
      const stride = stage > 1 && index === 0 ? 2 : 1;
      const cin = index === 0 ? inChannels : width;
      const conv1: ConvSpec = { conv: `${name}.conv1`, bn: `${name}.bn1`, inChannels: cin, outChannels: width, kernel: 3, stride, padding: 1 };
      const conv2: ConvSpec = { conv: `${name}.conv2`, bn: `${name}.bn2`, inChannels: width, outChannels: width, kernel: 3, stride: 1, padding: 1 };
      blocks.push({
        name, short: `${stage}.${index}`, stage, index, inChannels: cin, outChannels: width, stride,
        branch: [conv1, conv2], conv1, conv2,
        downsample: cin !== width || stride !== 1
          ? { conv: `${name}.downsample.0`, bn: `${name}.downsample.1`, inChannels: cin, outChannels: width, kernel: 1, stride, padding: 0 }
          : undefined,
      });
    }
    inChannels = width;
  });
  return blocks;
}

export const BLOCKS: readonly BlockSpec[] = makeBlocks();

/** torchvision's resnet18. */
export const RESNET18: Architecture = {
  name: 'resnet18',
  stem: STEM,
  pool: { kernel: 3, stride: 2, padding: 1 },
  blocks: BLOCKS,
  features: FEATURE_WIDTH,
  classes: NUM_CLASSES,
};

export function blockByName(name: string, arch: Architecture = RESNET18): BlockSpec {
  const short = name.startsWith('layer') ? name.slice(5) : name;
  const block = arch.blocks.find((b) => b.short === short);
  if (!block) throw new Error(`unknown block '${name}' (expected one of ${arch.blocks.map((b) => b.short).join(', ')})`);
  return block;
}

/** A block's convolutions in forward order: its branch, then the downsampling conv if any. */
export function blockConvs(b: BlockSpec): ConvSpec[] {
  return [...b.branch, ...(b.downsample ? [b.downsample] : [])];
}

/** Every convolution of the network in forward order (stem, then per block its branch and downsample). */
export function allConvs(arch: Architecture = RESNET18): ConvSpec[] {
  return [arch.stem, ...arch.blocks.flatMap(blockConvs)];
}

/** The parameter tensors of torchvision's state dict, with their shapes, in state-dict order. */
export function expectedTensors(arch: Architecture = RESNET18): Map<string, number[]> {
  const tensors = new Map<string, number[]>();
  for (const c of allConvs(arch)) {
    tensors.set(`${c.conv}.weight`, [c.outChannels, c.inChannels / (c.groups ?? 1), c.kernel, c.kernel]);
    for (const p of ['weight', 'bias', 'running_mean', 'running_var']) tensors.set(`${c.bn}.${p}`, [c.outChannels]);
  }
  tensors.set('fc.weight', [arch.classes, arch.features]);
  tensors.set('fc.bias', [arch.classes]);
  return tensors;
}

/** State-dict entries that are legal but carry no parameters the forward needs. */
export function isIgnorableTensor(name: string): boolean {
  return name.endsWith('.num_batches_tracked');
}

/** The tensors one convolution + BN needs. */
export function convTensorNames(c: ConvSpec): string[] {
  return [`${c.conv}.weight`, `${c.bn}.weight`, `${c.bn}.bias`, `${c.bn}.running_mean`, `${c.bn}.running_var`];
}

/** The classifier's tensors. */
export const HEAD_TENSORS: readonly string[] = ['fc.weight', 'fc.bias'];

// ---------------------------------------------------------------------------------------------
// Spatial sizes

export function convOutputSize(size: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((size + 2 * padding - kernel) / stride) + 1;
}

/** [height, width] after a convolution or pool of this kernel, stride and padding. */
export function outputSize2d([h, w]: readonly [number, number], k: { kernel: number; stride: number; padding: number }): [number, number] {
  return [convOutputSize(h, k.kernel, k.stride, k.padding), convOutputSize(w, k.kernel, k.stride, k.padding)];
}

/** A block's output size: its branch's convolutions applied in turn. */
export function blockOutputSize(b: BlockSpec, size: readonly [number, number]): [number, number] {
  let s: [number, number] = [size[0], size[1]];
  for (const c of b.branch) s = outputSize2d(s, c);
  return s;
}

export interface SpatialPlan {
  stem: [number, number]; // conv1 / bn1 / relu
  pooled: [number, number]; // maxpool
  blocks: [number, number][]; // output size of each block
}

export function spatialPlan(height: number, width: number, arch: Architecture = RESNET18): SpatialPlan {
  const stem = outputSize2d([height, width], arch.stem);
  const pooled = outputSize2d(stem, arch.pool);
  const blocks: [number, number][] = [];
  let size = pooled;
  for (const b of arch.blocks) {
    size = blockOutputSize(b, size);
    blocks.push(size);
  }
  return { stem, pooled, blocks };
}

export const MIN_INPUT_SIZE = 32;

// ---------------------------------------------------------------------------------------------
// Taps (METHOD.md): names are torchvision module paths; 'skip' and 'sum' are the two inputs and the
// pre-ReLU result of the residual addition.

export type TapName = string;

/** The stem's taps, in forward order. */
export const STEM_TAPS: readonly TapName[] = ['conv1', 'bn1', 'relu', 'maxpool'];
/** The head's taps. */
export const HEAD_TAPS: readonly TapName[] = ['avgpool', 'fc'];

export function blockTapNames(b: BlockSpec): TapName[] {
  const names = b.branch.map((c) => c.bn);
  if (b.downsample) names.push(b.downsample.bn);
  names.push(`${b.name}.skip`, `${b.name}.sum`, b.name);
  return names;
}

/** Every tap in forward order. */
export function allTapNames(arch: Architecture = RESNET18): TapName[] {
  return ['input', ...STEM_TAPS, ...arch.blocks.flatMap(blockTapNames), ...HEAD_TAPS];
}

/** The block a tap belongs to, or -1. */
function blockIndexOf(tap: TapName, arch: Architecture): number {
  return arch.blocks.findIndex((b) => tap === b.name || tap.startsWith(`${b.name}.`));
}

/** Shape of a tap for a batch of N images of H x W. */
export function tapShape(tap: TapName, batch: number, height: number, width: number, arch: Architecture = RESNET18): number[] {
  if (tap === 'input') return [batch, arch.stem.inChannels, height, width];
  if (tap === 'avgpool') return [batch, arch.features];
  if (tap === 'fc') return [batch, arch.classes];
  const plan = spatialPlan(height, width, arch);
  if (tap === 'maxpool') return [batch, arch.stem.outChannels, ...plan.pooled];
  if (STEM_TAPS.includes(tap)) return [batch, arch.stem.outChannels, ...plan.stem];
  const i = blockIndexOf(tap, arch);
  if (i < 0 || !blockTapNames(arch.blocks[i]).includes(tap)) {
    throw new Error(`unknown tap '${tap}'; taps are: ${allTapNames(arch).join(', ')}`);
  }
  const block = arch.blocks[i];
  // An inner branch BN (a bottleneck's bn1, bn2) has its convolution's shape; every other tap of a
  // block (the last branch BN, downsample.1, skip, sum, output) has the block's output shape.
  const k = block.branch.findIndex((c) => c.bn === tap);
  if (k >= 0 && k < block.branch.length - 1) {
    let size: [number, number] = i > 0 ? plan.blocks[i - 1] : plan.pooled;
    for (const c of block.branch.slice(0, k + 1)) size = outputSize2d(size, c);
    return [batch, block.branch[k].outChannels, ...size];
  }
  const [h, w] = plan.blocks[i];
  return [batch, block.outChannels, h, w];
}

/**
 * The stage a tap belongs to: -2 for the input, -1 for the stem, the block's index, or
 * blocks.length for the head. What a stage needs is in stageTensors.
 */
export function tapStage(tap: TapName, arch: Architecture = RESNET18): number {
  if (tap === 'input') return -2;
  return tapStageIndex(tap, arch);
}

/** Index of the block a tap belongs to (-1 for the stem, BLOCKS.length for the head). */
export function tapStageIndex(tap: TapName, arch: Architecture = RESNET18): number {
  if (tap === 'input' || STEM_TAPS.includes(tap)) return -1;
  if (HEAD_TAPS.includes(tap)) return arch.blocks.length;
  const i = blockIndexOf(tap, arch);
  if (i < 0) throw new Error(`unknown tap '${tap}'`);
  return i;
}

/** The state-dict tensors stage `stage` needs (-1 the stem, a block index, blocks.length the head). */
export function stageTensors(stage: number, arch: Architecture = RESNET18): string[] {
  if (stage < 0) return convTensorNames(arch.stem);
  if (stage >= arch.blocks.length) return [...HEAD_TENSORS];
  return blockConvs(arch.blocks[stage]).flatMap(convTensorNames);
}

/** Weights of the convolutions a Winograd kernel can run at `stride` (3x3, padding 1, not grouped). */
export function winogradWeights(arch: Architecture, stride = 1): number {
  return allConvs(arch).filter((c) => c.kernel === 3 && c.stride === stride && c.padding === 1 && (c.groups ?? 1) === 1)
    .reduce((sum, c) => sum + c.inChannels * c.outChannels * 9, 0);
}

/** What the per-adapter defaults weigh against the Winograd filter budget (conv2dVariantFor). */
export function winogradNetwork(arch: Architecture): { winogradWeights: number; winogradStride2Weights: number } {
  return { winogradWeights: winogradWeights(arch), winogradStride2Weights: winogradWeights(arch, 2) };
}
