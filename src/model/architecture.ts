// ResNet18 as data: the stem, the eight basic blocks, the head, every parameter tensor torchvision's
// state dict holds, and every tap name of METHOD.md. Nothing here touches the GPU.

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
  conv1: ConvSpec;
  conv2: ConvSpec;
  /** 1x1 stride-2 convolution + BN on the skip path (blocks 2.0, 3.0, 4.0). */
  downsample?: ConvSpec;
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
      blocks.push({
        name, short: `${stage}.${index}`, stage, index, inChannels: cin, outChannels: width, stride,
        conv1: { conv: `${name}.conv1`, bn: `${name}.bn1`, inChannels: cin, outChannels: width, kernel: 3, stride, padding: 1 },
        conv2: { conv: `${name}.conv2`, bn: `${name}.bn2`, inChannels: width, outChannels: width, kernel: 3, stride: 1, padding: 1 },
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

export function blockByName(name: string): BlockSpec {
  const short = name.startsWith('layer') ? name.slice(5) : name;
  const block = BLOCKS.find((b) => b.short === short);
  if (!block) throw new Error(`unknown block '${name}' (expected one of ${BLOCKS.map((b) => b.short).join(', ')})`);
  return block;
}

/** Every convolution of the network in forward order (stem, then per block conv1, conv2, downsample). */
export function allConvs(): ConvSpec[] {
  const convs = [STEM];
  for (const b of BLOCKS) {
    convs.push(b.conv1, b.conv2);
    if (b.downsample) convs.push(b.downsample);
  }
  return convs;
}

/** The parameter tensors of torchvision's resnet18 state dict, with their shapes, in state-dict order. */
export function expectedTensors(): Map<string, number[]> {
  const tensors = new Map<string, number[]>();
  const addConvBn = (c: ConvSpec) => {
    tensors.set(`${c.conv}.weight`, [c.outChannels, c.inChannels, c.kernel, c.kernel]);
    for (const p of ['weight', 'bias', 'running_mean', 'running_var']) tensors.set(`${c.bn}.${p}`, [c.outChannels]);
  };
  addConvBn(STEM);
  for (const b of BLOCKS) {
    addConvBn(b.conv1);
    addConvBn(b.conv2);
    if (b.downsample) addConvBn(b.downsample);
  }
  tensors.set('fc.weight', [NUM_CLASSES, FEATURE_WIDTH]);
  tensors.set('fc.bias', [NUM_CLASSES]);
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

// ---------------------------------------------------------------------------------------------
// Spatial sizes

export function convOutputSize(size: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((size + 2 * padding - kernel) / stride) + 1;
}

export interface SpatialPlan {
  stem: [number, number]; // conv1 / bn1 / relu
  pooled: [number, number]; // maxpool
  blocks: [number, number][]; // output size of each block
}

export function spatialPlan(height: number, width: number): SpatialPlan {
  const stem: [number, number] = [convOutputSize(height, 7, 2, 3), convOutputSize(width, 7, 2, 3)];
  const pooled: [number, number] = [convOutputSize(stem[0], 3, 2, 1), convOutputSize(stem[1], 3, 2, 1)];
  const blocks: [number, number][] = [];
  let size = pooled;
  for (const b of BLOCKS) {
    size = [convOutputSize(size[0], 3, b.stride, 1), convOutputSize(size[1], 3, b.stride, 1)];
    blocks.push(size);
  }
  return { stem, pooled, blocks };
}

export const MIN_INPUT_SIZE = 32;

// ---------------------------------------------------------------------------------------------
// Taps (METHOD.md): names are torchvision module paths; 'skip' and 'sum' are the two inputs and the
// pre-ReLU result of the residual addition.

export type TapName = string;

export function blockTapNames(b: BlockSpec): TapName[] {
  const names = [`${b.name}.bn1`, `${b.name}.bn2`];
  if (b.downsample) names.push(`${b.name}.downsample.1`);
  names.push(`${b.name}.skip`, `${b.name}.sum`, b.name);
  return names;
}

/** Every tap in forward order. */
export function allTapNames(): TapName[] {
  const names = ['input', 'conv1', 'bn1', 'relu', 'maxpool'];
  for (const b of BLOCKS) names.push(...blockTapNames(b));
  names.push('avgpool', 'fc');
  return names;
}

/** Shape of a tap for a batch of N images of H x W. */
export function tapShape(tap: TapName, batch: number, height: number, width: number): number[] {
  const plan = spatialPlan(height, width);
  if (tap === 'input') return [batch, 3, height, width];
  if (tap === 'conv1' || tap === 'bn1' || tap === 'relu') return [batch, 64, ...plan.stem];
  if (tap === 'maxpool') return [batch, 64, ...plan.pooled];
  if (tap === 'avgpool') return [batch, FEATURE_WIDTH];
  if (tap === 'fc') return [batch, NUM_CLASSES];
  const i = BLOCKS.findIndex((b) => tap === b.name || tap.startsWith(`${b.name}.`));
  if (i < 0 || !blockTapNames(BLOCKS[i]).includes(tap)) {
    throw new Error(`unknown tap '${tap}'; taps are: ${allTapNames().join(', ')}`);
  }
  // Every tap of a block (bn1, bn2, downsample.1, skip, sum, output) has the block's output shape.
  const [h, w] = plan.blocks[i];
  return [batch, BLOCKS[i].outChannels, h, w];
}

/** Index of the block a tap belongs to (-1 for the stem, BLOCKS.length for the head). */
export function tapStageIndex(tap: TapName): number {
  if (['input', 'conv1', 'bn1', 'relu', 'maxpool'].includes(tap)) return -1;
  if (tap === 'avgpool' || tap === 'fc') return BLOCKS.length;
  const i = BLOCKS.findIndex((b) => tap === b.name || tap.startsWith(`${b.name}.`));
  if (i < 0) throw new Error(`unknown tap '${tap}'`);
  return i;
}
