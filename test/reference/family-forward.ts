// Any torchvision ResNet (test/reference/family.ts) in float64 on the CPU: the forward with every
// tap, and the input gradient of a seed on any tap. Built from the reference kernels (cpu.ts,
// grouped-conv.ts, backward.ts) and independent of src/. Tap conventions as resnet.ts and METHOD.md:
// bn1 / bn2 / bn3 are BatchNorm outputs before any ReLU; `skip` is what the addition receives (the
// block input or downsample.1); `sum` = last BN + skip before the final ReLU; `layerL.B` = relu(sum);
// `avgpool` is [N, C]; `fc` the logits [N, 1000].

import { batchnormBackward, globalAvgPoolBackward, maxpool2dBackward, reluBackward } from './backward';
import { add, batchnorm, globalAvgPool, linear, maxpool2d, relu, windowOutputSize } from './cpu';
import { type FamilyArch, type FamilyArchName, type FamilyConv, FAMILY_STEM, branchTap, familyBlocks, familyFeatures,
  familyTapNames, familyTapShapes } from './family';
import { groupedConv2d, groupedConv2dBackwardData } from './grouped-conv';

export interface RefTensor {
  shape: number[];
  data: Float64Array;
}

export type WeightMap = Map<string, { data: ArrayLike<number> }>;

export interface FamilyForwardOptions {
  /** Stop once this tap is produced (default 'fc'). */
  lastTap?: string;
  /**
   * Called with each tap's array as it is produced, before anything downstream reads it; changing
   * it in place changes the rest of the forward, except for `input`, `conv1` and `skip` (as resnet.ts).
   */
  edit?: (tap: string, data: Float64Array, shape: number[]) => void;
}

function bnParams(weights: WeightMap, bn: string) {
  const w = (name: string) => {
    const t = weights.get(name);
    if (!t) throw new Error(`missing tensor ${name}`);
    return t.data;
  };
  return { mean: w(`${bn}.running_mean`), variance: w(`${bn}.running_var`), gamma: w(`${bn}.weight`), beta: w(`${bn}.bias`) };
}

/** conv (grouped, no bias) then inference BatchNorm; returns both and the output size. */
function convBn(weights: WeightMap, spec: FamilyConv, x: ArrayLike<number>, batch: number, h: number, w: number) {
  const oh = windowOutputSize(h, spec.kernel, spec.stride, spec.padding);
  const ow = windowOutputSize(w, spec.kernel, spec.stride, spec.padding);
  const weight = weights.get(`${spec.conv}.weight`);
  if (!weight) throw new Error(`missing tensor ${spec.conv}.weight`);
  const raw = groupedConv2d(x, weight.data, null, {
    batch, inChannels: spec.inChannels, inHeight: h, inWidth: w, outChannels: spec.outChannels,
    kernel: spec.kernel, stride: spec.stride, padding: spec.padding, groups: spec.groups,
  });
  const bn = batchnorm(raw, bnParams(weights, spec.bn), batch, spec.outChannels, oh * ow, false);
  return { raw, bn, oh, ow };
}

/** Every tap of `arch` up to options.lastTap, for input [N, 3, H, W] (any H, W >= 32 or so). */
export function familyForward(arch: FamilyArchName | FamilyArch, weights: WeightMap,
  input: { shape: number[]; data: ArrayLike<number> }, options: FamilyForwardOptions = {}): Map<string, RefTensor> {
  const [batch, , height, width] = input.shape;
  const order = familyTapNames(arch);
  const shapes = familyTapShapes(arch, batch, height, width);
  const lastTap = options.lastTap ?? 'fc';
  const stopAt = order.indexOf(lastTap);
  if (stopAt < 0) throw new Error(`no tap ${lastTap} in ${typeof arch === 'string' ? arch : arch.name}`);
  const taps = new Map<string, RefTensor>();
  const put = (name: string, data: Float64Array) => {
    const shape = shapes.get(name)!;
    if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`tap ${name}: ${data.length} values for [${shape}]`);
    options.edit?.(name, data, shape);
    taps.set(name, { shape, data });
    return order.indexOf(name) >= stopAt;
  };

  if (put('input', Float64Array.from(input.data))) return taps;
  const stem = convBn(weights, FAMILY_STEM, input.data, batch, height, width);
  if (put('conv1', stem.raw) || put('bn1', stem.bn)) return taps;
  const r = relu(stem.bn);
  if (put('relu', r)) return taps;
  let x = maxpool2d(r, { batch, channels: 64, inHeight: stem.oh, inWidth: stem.ow, kernel: 3, stride: 2, padding: 1 });
  if (put('maxpool', x)) return taps;
  let h = windowOutputSize(stem.oh, 3, 2, 1);
  let w = windowOutputSize(stem.ow, 3, 2, 1);
  for (const block of familyBlocks(arch)) {
    // The branch: conv -> BN, with a ReLU between consecutive convs (not after the last).
    let y: ArrayLike<number> = x;
    let [bh, bw] = [h, w];
    let last: Float64Array | null = null;
    for (let i = 0; i < block.convs.length; i++) {
      const c = convBn(weights, block.convs[i], i === 0 ? x : relu(y), batch, bh, bw);
      if (put(block.convs[i].bn, c.bn)) return taps;
      y = c.bn;
      last = c.bn;
      [bh, bw] = [c.oh, c.ow];
    }
    let skip: Float64Array = x;
    if (block.downsample) {
      skip = convBn(weights, block.downsample, x, batch, h, w).bn;
      if (put(block.downsample.bn, skip)) return taps;
    }
    if (put(`${block.name}.skip`, skip)) return taps;
    const sum = add(skip, last!, false);
    if (put(`${block.name}.sum`, sum)) return taps;
    x = relu(sum);
    if (put(block.name, x)) return taps;
    [h, w] = [bh, bw];
  }
  const features = familyFeatures(arch);
  const pooled = globalAvgPool(x, batch, features, h * w);
  if (put('avgpool', pooled)) return taps;
  put('fc', linear(pooled, weights.get('fc.weight')!.data, weights.get('fc.bias')!.data, batch, features, 1000));
  return taps;
}

// ---------------------------------------------------------------------------------------------
// The input gradient

/**
 * dL/d(input) for dL/d(target) = seed, through `arch` in float64 (BN in eval mode, unfolded). As
 * backward.ts's resnetInputGradient for ResNet18: ReLU masks and max-pool argmaxes come from
 * `activations` (tap -> values: `relu`, every pre-ReLU BN inside a branch (all but the last), and
 * each block's output up to the target), so a caller can pass its own forward's values; gradients
 * accumulate into every tap in reverse order, the way autograd does, so any tap can be the target
 * (including `fc`).
 */
export function familyInputGradient(arch: FamilyArchName | FamilyArch, weights: WeightMap,
  activations: Map<string, ArrayLike<number>>, target: string, seed: ArrayLike<number>,
  batch: number, height: number, width: number): Float64Array {
  const blocks = familyBlocks(arch);
  const shapes = familyTapShapes(arch, batch, height, width);
  const order = familyTapNames(arch);
  if (!order.includes(target)) throw new Error(`no tap ${target}`);
  const count = (tap: string) => shapes.get(tap)!.reduce((a, b) => a * b, 1);
  const data = (name: string) => weights.get(name)!.data;
  const act = (tap: string) => {
    const a = activations.get(tap);
    if (!a) throw new Error(`activation ${tap} needed`);
    return a;
  };
  const grads = new Map<string, Float64Array>();
  grads.set(target, Float64Array.from(seed));
  const take = (tap: string) => grads.get(tap) ?? new Float64Array(count(tap));
  const addInto = (a: Float64Array, b: ArrayLike<number>) => {
    for (let i = 0; i < a.length; i++) a[i] += b[i];
    return a;
  };
  const accumulate = (tap: string, g: ArrayLike<number>) => grads.set(tap, addInto(take(tap), g));
  const slope = (bn: string, channels: number) => {
    const g = data(`${bn}.weight`);
    const v = data(`${bn}.running_var`);
    return Float64Array.from({ length: channels }, (_, c) => g[c] / Math.sqrt(v[c] + 1e-5));
  };
  /** dL/d(conv input) from dL/d(BN output): the BN slope folded into the grouped conv backward. */
  const convBnBackward = (spec: FamilyConv, dy: ArrayLike<number>, inH: number, inW: number) =>
    groupedConv2dBackwardData(dy, data(`${spec.conv}.weight`), slope(spec.bn, spec.outChannels), {
      batch, inChannels: spec.inChannels, inHeight: inH, inWidth: inW, outChannels: spec.outChannels,
      kernel: spec.kernel, stride: spec.stride, padding: spec.padding, groups: spec.groups,
    });
  const hw = (tap: string) => shapes.get(tap)!.slice(2) as [number, number];

  const features = familyFeatures(arch);
  if (target === 'fc') {
    // fc: dL/d(avgpool)[n,i] = sum_o seed[n,o] * W[o,i].
    const W = data('fc.weight');
    const g = new Float64Array(batch * features);
    for (let n = 0; n < batch; n++) {
      for (let o = 0; o < 1000; o++) {
        const s = seed[n * 1000 + o];
        for (let i = 0; i < features; i++) g[n * features + i] += s * W[o * features + i];
      }
    }
    accumulate('avgpool', g);
  }
  const lastBlock = blocks[blocks.length - 1].name;
  if (grads.has('avgpool')) {
    const [h, w] = hw(lastBlock);
    accumulate(lastBlock, globalAvgPoolBackward(grads.get('avgpool')!, batch, features, h * w));
  }
  const targetIndex = order.indexOf(target);
  for (let i = blocks.length - 1; i >= 0; i--) {
    const b = blocks[i];
    // Blocks after the target receive no gradient.
    if (order.indexOf(b.convs[0].bn) > targetIndex) continue;
    const into = i > 0 ? blocks[i - 1].name : 'maxpool';
    const [inH, inW] = hw(into);
    const gSum = addInto(reluBackward(take(b.name), activations.get(b.name) ?? new Float64Array(count(b.name))), take(`${b.name}.sum`));
    const gx = new Float64Array(count(into));
    // Skip path.
    const gSkip = addInto(Float64Array.from(gSum), take(`${b.name}.skip`));
    if (b.downsample) addInto(gx, convBnBackward(b.downsample, addInto(gSkip, take(b.downsample.bn)), inH, inW));
    else addInto(gx, gSkip);
    // Branch, last conv first.
    let g = addInto(Float64Array.from(gSum), take(branchTap(b)));
    for (let k = b.convs.length - 1; k >= 0; k--) {
      const spec = b.convs[k];
      const [h, w] = k > 0 ? hw(b.convs[k - 1].bn) : [inH, inW];
      const gin = convBnBackward(spec, g, h, w);
      if (k === 0) {
        addInto(gx, gin);
      } else {
        const prev = b.convs[k - 1].bn;
        g = addInto(reluBackward(gin, act(prev)), take(prev));
      }
    }
    accumulate(into, gx);
  }
  // Stem: maxpool <- relu <- bn1 <- conv1 <- input.
  const [sh, sw] = hw('relu');
  const pool = { batch, channels: 64, inHeight: sh, inWidth: sw, kernel: 3, stride: 2, padding: 1 };
  const gRelu = take('relu');
  if (grads.has('maxpool')) addInto(gRelu, maxpool2dBackward(act('relu'), grads.get('maxpool')!, pool));
  const gBn1 = addInto(grads.has('relu') || grads.has('maxpool') ? reluBackward(gRelu, act('relu')) : new Float64Array(gRelu.length), take('bn1'));
  const gConv1 = addInto(batchnormBackward(gBn1, data('bn1.weight'), data('bn1.running_var'), batch, 64, sh * sw), take('conv1'));
  return groupedConv2dBackwardData(gConv1, data('conv1.weight'), null, {
    batch, inChannels: 3, inHeight: height, inWidth: width, outChannels: 64, kernel: 7, stride: 2, padding: 3, groups: 1,
  });
}
