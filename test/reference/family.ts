// torchvision's ResNet family as data, written from torchvision/models/resnet.py (0.14) and kept
// independent of src/: the oracle that the engine's own architecture tables are checked against.
// Every constructor: BasicBlock (resnet18, resnet34) and Bottleneck (v1.5: the stride sits on the
// 3x3 conv2) with `groups` and `width_per_group`. scripts/goldens/make_family_goldens.py writes
// torchvision's own state-dict names and shapes to test/fixtures/goldens/family-state-dicts.json and
// test/reference-family-arch.test.ts compares them with familyStateDict below.

export type BlockKind = 'basic' | 'bottleneck';

export interface FamilyArch {
  name: string;
  block: BlockKind;
  /** Blocks per stage (layer1 .. layer4). */
  layers: readonly [number, number, number, number];
  groups: number;
  widthPerGroup: number;
}

export const FAMILY = {
  resnet18: { name: 'resnet18', block: 'basic', layers: [2, 2, 2, 2], groups: 1, widthPerGroup: 64 },
  resnet34: { name: 'resnet34', block: 'basic', layers: [3, 4, 6, 3], groups: 1, widthPerGroup: 64 },
  resnet50: { name: 'resnet50', block: 'bottleneck', layers: [3, 4, 6, 3], groups: 1, widthPerGroup: 64 },
  resnet101: { name: 'resnet101', block: 'bottleneck', layers: [3, 4, 23, 3], groups: 1, widthPerGroup: 64 },
  resnet152: { name: 'resnet152', block: 'bottleneck', layers: [3, 8, 36, 3], groups: 1, widthPerGroup: 64 },
  wide_resnet50_2: { name: 'wide_resnet50_2', block: 'bottleneck', layers: [3, 4, 6, 3], groups: 1, widthPerGroup: 128 },
  wide_resnet101_2: { name: 'wide_resnet101_2', block: 'bottleneck', layers: [3, 4, 23, 3], groups: 1, widthPerGroup: 128 },
  resnext50_32x4d: { name: 'resnext50_32x4d', block: 'bottleneck', layers: [3, 4, 6, 3], groups: 32, widthPerGroup: 4 },
  resnext101_32x8d: { name: 'resnext101_32x8d', block: 'bottleneck', layers: [3, 4, 23, 3], groups: 32, widthPerGroup: 8 },
  resnext101_64x4d: { name: 'resnext101_64x4d', block: 'bottleneck', layers: [3, 4, 23, 3], groups: 64, widthPerGroup: 4 },
} as const satisfies Record<string, FamilyArch>;

export type FamilyArchName = keyof typeof FAMILY;
export const FAMILY_NAMES = Object.keys(FAMILY) as FamilyArchName[];

export function familyArch(arch: FamilyArchName | FamilyArch): FamilyArch {
  if (typeof arch !== 'string') return arch;
  const a = (FAMILY as Record<string, FamilyArch>)[arch];
  if (!a) throw new Error(`unknown ResNet ${arch}`);
  return a;
}

/** torchvision's `expansion`: 1 for BasicBlock, 4 for Bottleneck. */
export function expansion(kind: BlockKind): number {
  return kind === 'basic' ? 1 : 4;
}

/** A convolution (no bias) and the BatchNorm after it. Weights are [out, in / groups, k, k]. */
export interface FamilyConv {
  conv: string;
  bn: string;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  padding: number;
  groups: number;
}

export interface FamilyBlock {
  /** `layerL.B` */
  name: string;
  kind: BlockKind;
  inChannels: number;
  /** Channels inside the branch (torchvision's `width`; `planes` in a BasicBlock). */
  width: number;
  outChannels: number;
  stride: number;
  /** conv1, conv2 (and conv3 in a Bottleneck), in order; the branch ReLUs sit between them. */
  convs: FamilyConv[];
  downsample?: FamilyConv;
}

export const FAMILY_STEM: FamilyConv = { conv: 'conv1', bn: 'bn1', inChannels: 3, outChannels: 64, kernel: 7, stride: 2, padding: 3, groups: 1 };
const PLANES = [64, 128, 256, 512];

/** The blocks in forward order, as torchvision's ResNet._make_layer builds them. */
export function familyBlocks(archOrName: FamilyArchName | FamilyArch): FamilyBlock[] {
  const arch = familyArch(archOrName);
  const exp = expansion(arch.block);
  if (arch.block === 'basic' && (arch.groups !== 1 || arch.widthPerGroup !== 64)) {
    throw new Error('BasicBlock only supports groups=1 and base_width=64 (as torchvision)');
  }
  const blocks: FamilyBlock[] = [];
  let inplanes = 64;
  for (let stage = 0; stage < 4; stage++) {
    const planes = PLANES[stage];
    for (let b = 0; b < arch.layers[stage]; b++) {
      const name = `layer${stage + 1}.${b}`;
      const stride = stage > 0 && b === 0 ? 2 : 1;
      const out = planes * exp;
      const conv = (i: number, inC: number, outC: number, kernel: number, s: number, groups: number): FamilyConv =>
        ({ conv: `${name}.conv${i}`, bn: `${name}.bn${i}`, inChannels: inC, outChannels: outC, kernel, stride: s,
          padding: kernel === 3 ? 1 : 0, groups });
      let width: number;
      let convs: FamilyConv[];
      if (arch.block === 'basic') {
        width = planes;
        convs = [conv(1, inplanes, planes, 3, stride, 1), conv(2, planes, planes, 3, 1, 1)];
      } else {
        width = Math.floor(planes * (arch.widthPerGroup / 64)) * arch.groups;
        convs = [conv(1, inplanes, width, 1, 1, 1), conv(2, width, width, 3, stride, arch.groups), conv(3, width, out, 1, 1, 1)];
      }
      const block: FamilyBlock = { name, kind: arch.block, inChannels: inplanes, width, outChannels: out, stride, convs };
      if (stride !== 1 || inplanes !== out) {
        block.downsample = { conv: `${name}.downsample.0`, bn: `${name}.downsample.1`, inChannels: inplanes, outChannels: out,
          kernel: 1, stride, padding: 0, groups: 1 };
      }
      blocks.push(block);
      inplanes = out;
    }
  }
  return blocks;
}

/** Channels of the final stream (avgpool's width, fc's in_features). */
export function familyFeatures(arch: FamilyArchName | FamilyArch): number {
  return 512 * expansion(familyArch(arch).block);
}

/** The block's branch readout B of METHOD.md: the last BatchNorm of the branch (bn2 or bn3). */
export function branchTap(block: FamilyBlock): string {
  return block.convs[block.convs.length - 1].bn;
}

export interface StateDictOptions {
  /** Include each BatchNorm's int64 `num_batches_tracked` (shape []), as torchvision's state_dict does. */
  numBatchesTracked?: boolean;
}

/** torchvision's state_dict() names and shapes, in its order (module registration order). */
export function familyStateDict(archOrName: FamilyArchName | FamilyArch, options: StateDictOptions = {}): [string, number[]][] {
  const arch = familyArch(archOrName);
  const out: [string, number[]][] = [];
  const bn = (name: string, c: number) => {
    out.push([`${name}.weight`, [c]], [`${name}.bias`, [c]], [`${name}.running_mean`, [c]], [`${name}.running_var`, [c]]);
    if (options.numBatchesTracked) out.push([`${name}.num_batches_tracked`, []]);
  };
  const convBn = (c: FamilyConv) => {
    out.push([`${c.conv}.weight`, [c.outChannels, c.inChannels / c.groups, c.kernel, c.kernel]]);
    bn(c.bn, c.outChannels);
  };
  convBn(FAMILY_STEM);
  for (const block of familyBlocks(arch)) {
    // torchvision registers conv1, bn1, conv2, bn2, (conv3, bn3,) relu, downsample: the same order.
    for (const c of block.convs) convBn(c);
    if (block.downsample) convBn(block.downsample);
  }
  const features = familyFeatures(arch);
  out.push(['fc.weight', [1000, features]], ['fc.bias', [1000]]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Taps

/** Every tap in forward order: stem, per block bn1, bn2, (bn3,) downsample.1, skip, sum, output; head. */
export function familyTapNames(archOrName: FamilyArchName | FamilyArch): string[] {
  const names = ['input', 'conv1', 'bn1', 'relu', 'maxpool'];
  for (const block of familyBlocks(archOrName)) {
    for (const c of block.convs) names.push(c.bn);
    if (block.downsample) names.push(block.downsample.bn);
    names.push(`${block.name}.skip`, `${block.name}.sum`, block.name);
  }
  names.push('avgpool', 'fc');
  return names;
}

/** floor((in + 2p - k) / s) + 1 */
export function outSize(inSize: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((inSize + 2 * padding - kernel) / stride) + 1;
}

/** Shape of every tap for an input [batch, 3, height, width]. */
export function familyTapShapes(archOrName: FamilyArchName | FamilyArch, batch: number, height: number, width: number): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  shapes.set('input', [batch, 3, height, width]);
  let h = outSize(height, 7, 2, 3);
  let w = outSize(width, 7, 2, 3);
  for (const t of ['conv1', 'bn1', 'relu']) shapes.set(t, [batch, 64, h, w]);
  h = outSize(h, 3, 2, 1);
  w = outSize(w, 3, 2, 1);
  shapes.set('maxpool', [batch, 64, h, w]);
  for (const block of familyBlocks(archOrName)) {
    let [ch, cw] = [h, w];
    for (const c of block.convs) {
      ch = outSize(ch, c.kernel, c.stride, c.padding);
      cw = outSize(cw, c.kernel, c.stride, c.padding);
      shapes.set(c.bn, [batch, c.outChannels, ch, cw]);
    }
    const out = [batch, block.outChannels, ch, cw];
    if (block.downsample) shapes.set(block.downsample.bn, out);
    for (const t of [`${block.name}.skip`, `${block.name}.sum`, block.name]) shapes.set(t, out);
    [h, w] = [ch, cw];
  }
  shapes.set('avgpool', [batch, familyFeatures(archOrName)]);
  shapes.set('fc', [batch, 1000]);
  return shapes;
}
