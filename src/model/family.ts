// torchvision's ResNet family as data: every constructor of torchvision.models.resnet as an
// Architecture value (architecture.ts), so the planner, tap names, shapes, expected tensors and the
// analysis follow the loaded network without a code path per member. ResNet18 is one entry.
//
//   BasicBlock (resnet18, resnet34): 3x3 conv1 (with the stride) -> 3x3 conv2; expansion 1.
//   Bottleneck (resnet50/101/152, wide_resnet50_2/101_2, resnext50_32x4d/101_32x8d/101_64x4d):
//     1x1 conv1 -> 3x3 conv2 (with the stride: torchvision's "v1.5") -> 1x1 conv3; expansion 4;
//     width = floor(planes * width_per_group / 64) * groups, conv2 grouped.
//   A block downsamples its skip (1x1 conv with the stride + BN) when its stride is not 1 or its
//   input width differs from its output's (torchvision's _make_layer).

import { type Architecture, type BlockSpec, type ConvSpec, NUM_CLASSES, STEM } from './architecture';

export type BlockKind = 'basic' | 'bottleneck';

export interface FamilyMember {
  name: string;
  block: BlockKind;
  layers: readonly [number, number, number, number];
  groups: number;
  widthPerGroup: number;
}

/** torchvision.models' constructors, with their arguments. */
export const FAMILY: readonly FamilyMember[] = [
  { name: 'resnet18', block: 'basic', layers: [2, 2, 2, 2], groups: 1, widthPerGroup: 64 },
  { name: 'resnet34', block: 'basic', layers: [3, 4, 6, 3], groups: 1, widthPerGroup: 64 },
  { name: 'resnet50', block: 'bottleneck', layers: [3, 4, 6, 3], groups: 1, widthPerGroup: 64 },
  { name: 'resnet101', block: 'bottleneck', layers: [3, 4, 23, 3], groups: 1, widthPerGroup: 64 },
  { name: 'resnet152', block: 'bottleneck', layers: [3, 8, 36, 3], groups: 1, widthPerGroup: 64 },
  { name: 'wide_resnet50_2', block: 'bottleneck', layers: [3, 4, 6, 3], groups: 1, widthPerGroup: 128 },
  { name: 'wide_resnet101_2', block: 'bottleneck', layers: [3, 4, 23, 3], groups: 1, widthPerGroup: 128 },
  { name: 'resnext50_32x4d', block: 'bottleneck', layers: [3, 4, 6, 3], groups: 32, widthPerGroup: 4 },
  { name: 'resnext101_32x8d', block: 'bottleneck', layers: [3, 4, 23, 3], groups: 32, widthPerGroup: 8 },
  { name: 'resnext101_64x4d', block: 'bottleneck', layers: [3, 4, 23, 3], groups: 64, widthPerGroup: 4 },
];

export const FAMILY_NAMES: readonly string[] = FAMILY.map((m) => m.name);

const conv = (module: string, bn: string, inChannels: number, outChannels: number, kernel: number, stride: number, groups = 1): ConvSpec =>
  ({ conv: module, bn, inChannels, outChannels, kernel, stride, padding: kernel === 3 ? 1 : 0, ...(groups > 1 ? { groups } : {}) });

function blocksOf(m: FamilyMember): BlockSpec[] {
  const expansion = m.block === 'basic' ? 1 : 4;
  const blocks: BlockSpec[] = [];
  let inChannels = 64;
  [64, 128, 256, 512].forEach((planes, s) => {
    const stage = s + 1;
    const out = planes * expansion;
    const width = Math.floor((planes * m.widthPerGroup) / 64) * m.groups;
    for (let index = 0; index < m.layers[s]; index++) {
      const name = `layer${stage}.${index}`;
      const stride = stage > 1 && index === 0 ? 2 : 1;
      const cin = index === 0 ? inChannels : out;
      const branch = m.block === 'basic'
        ? [conv(`${name}.conv1`, `${name}.bn1`, cin, planes, 3, stride), conv(`${name}.conv2`, `${name}.bn2`, planes, planes, 3, 1)]
        : [
          conv(`${name}.conv1`, `${name}.bn1`, cin, width, 1, 1),
          conv(`${name}.conv2`, `${name}.bn2`, width, width, 3, stride, m.groups),
          conv(`${name}.conv3`, `${name}.bn3`, width, out, 1, 1),
        ];
      blocks.push({
        name, short: `${stage}.${index}`, stage, index, inChannels: cin, outChannels: out, stride,
        branch, conv1: branch[0], conv2: branch[1],
        downsample: cin !== out || stride !== 1 ? conv(`${name}.downsample.0`, `${name}.downsample.1`, cin, out, 1, stride) : undefined,
      });
    }
    inChannels = out;
  });
  return blocks;
}

const built = new Map<string, Architecture>();

/** The Architecture of a family member by torchvision's constructor name. */
export function architectureOf(name: string): Architecture {
  const known = built.get(name);
  if (known) return known;
  const m = FAMILY.find((f) => f.name === name);
  if (!m) throw new Error(`unknown architecture '${name}' (one of: ${FAMILY_NAMES.join(', ')})`);
  const blocks = blocksOf(m);
  const arch: Architecture = {
    name, stem: STEM, pool: { kernel: 3, stride: 2, padding: 1 }, blocks,
    features: blocks[blocks.length - 1].outChannels, classes: NUM_CLASSES,
  };
  built.set(name, arch);
  return arch;
}

/** A member's name as people write it: 'ResNet50', 'ResNeXt50_32x4d', 'Wide ResNet50_2'. */
export function displayName(name: string): string {
  return name.replace(/^wide_resnet/, 'Wide ResNet').replace(/^resnext/, 'ResNeXt').replace(/^resnet/, 'ResNet');
}
