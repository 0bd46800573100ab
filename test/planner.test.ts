// The forward planner on its own (no GPU): what it schedules, fuses and materialises, the kernel
// each convolution gets, the buffers tensors share, the memory estimate, and the one validator.

import { describe, expect, it } from 'vitest';
import {
  type Architecture, type BlockSpec, type ConvSpec, RESNET18, allTapNames, blockTapNames, expectedTensors, tapShape,
} from '../src/model/architecture';
import {
  type ForwardRequest, type ForwardSchedule, type ForwardStep, type KernelChoices, MissingWeightsError, planForward, scheduleMemory, stepTensors, validateForwardRequest,
} from '../src/model/planner';
import { pooledBytes } from '../src/util/tensor';

const rows = { conv2d: 'rows' as const };
const request = (taps: string[], extra: Partial<ForwardRequest> = {}): ForwardRequest =>
  ({ batch: 2, height: 45, width: 38, taps, kernels: rows, ...extra });

/** Every tensor that holds a value some later step reads must keep its buffer until then. */
function checkBuffers(s: ForwardSchedule): void {
  const owner = new Map<number, number>([[s.tensors[s.input].buffer, s.input]]); // buffer -> tensor whose value it holds now
  s.steps.forEach((step) => {
    const { reads, writes } = stepTensors(step);
    // A convolution's scratch is written before it is read, within the step.
    const internal = new Set(step.op === 'conv' ? [step.scratch, step.products, step.paddedInput].filter((t) => t !== undefined) : []);
    expect(new Set(writes.map((t) => s.tensors[t].buffer)).size, `${step.label} writes two tensors to one buffer`).toBe(writes.length);
    for (const t of reads.filter((r) => !internal.has(r))) expect(owner.get(s.tensors[t].buffer), `${step.label} reads ${s.tensors[t].name}`).toBe(t);
    for (const t of writes) {
      if (!reads.includes(t) || internal.has(t)) {
        expect(reads.filter((r) => r !== t).map((r) => s.tensors[r].buffer), `${step.label} writes a buffer it reads`).not.toContain(s.tensors[t].buffer);
      }
      owner.set(s.tensors[t].buffer, t);
    }
  });
  // Read-back taps (the input among them) still hold their values at the end.
  for (const o of s.outputs) expect(owner.get(s.tensors[o.tensor].buffer), o.tap).toBe(o.tensor);
  expect(owner.get(s.tensors[s.input].buffer)).toBe(s.input);
}

describe('forward planner', () => {
  it('fuses BN and ReLU into the convolutions when only the logits are read back', () => {
    const s = planForward(request(['fc']));
    const convs = s.steps.filter((st) => st.op === 'conv');
    expect(convs).toHaveLength(20);
    expect(s.steps.filter((st) => st.op === 'relu' || st.op === 'batchnorm')).toEqual([]);
    expect(s.steps.filter((st) => st.op === 'add').every((st) => st.op === 'add' && st.relu)).toBe(true);
    // No pre-ReLU tensor exists: bn1 of a block and its sum are fused away.
    expect(s.tensors.map((t) => t.name).filter((n) => /\.bn1$|\.sum$|^conv1$|^bn1$/.test(n))).toEqual([]);
    expect(s.outputs).toEqual([{ tap: 'fc', tensor: s.tensors.find((t) => t.name === 'fc')!.id }]);
    checkBuffers(s);
  });

  it('materialises a pre-ReLU tap only when it is read back or ablated, and plans nothing past the last one', () => {
    const s = planForward(request(['layer1.0.bn1', 'bn1']));
    expect(s.lastStage).toBe(0);
    expect(s.steps.map((st) => st.label).filter((l) => /layer[234]|avgpool|fc/.test(l))).toEqual([]);
    // The pre-ReLU tap and the ReLU after it come from one step, which writes both.
    const both = (label: string) => s.steps.find((st) => st.label === label) as Extract<ForwardStep, { op: 'conv' }>;
    expect(both('layer1.0.conv1+layer1.0.bn1 & layer1.0 relu(bn1)')).toMatchObject({ op: 'conv', relu: false });
    expect(s.tensors[both('layer1.0.conv1+layer1.0.bn1 & layer1.0 relu(bn1)').reluOutput!].name).toBe('layer1.0 relu(bn1)');
    expect(both('conv1+bn1 & relu')).toMatchObject({ op: 'conv', relu: false });
    expect(s.steps.filter((st) => st.op === 'relu')).toEqual([]);
    // An ablated pre-ReLU tap must change before the ReLU runs: then the ReLU is its own step.
    const ablated = planForward(request(['fc'], { ablations: [{ tap: 'layer2.1.sum', channels: [3] }, { tap: 'layer1.0.bn1', channels: [1] }] }));
    expect(ablated.steps.map((st) => st.label)).toEqual(expect.arrayContaining([
      'layer2.1 add', 'ablate layer2.1.sum', 'layer2.1 relu', 'layer1.0.conv1+layer1.0.bn1', 'ablate layer1.0.bn1', 'layer1.0 relu(bn1)',
    ]));
    checkBuffers(s);
    checkBuffers(ablated);
  });

  it('runs the raw conv1 tap as a unit-epilogue convolution and the separate batchnorm', () => {
    const s = planForward(request(['conv1', 'maxpool']));
    const [conv, bn] = s.steps;
    expect(conv).toMatchObject({ op: 'conv', epilogue: 'identity', relu: false, label: 'conv1 (raw)' });
    expect(bn).toMatchObject({ op: 'batchnorm', relu: true, label: 'bn1+relu' });
    checkBuffers(s);
  });

  it('aliases skip to the block input or downsample.1, and keeps every read-back tap in its own buffer', () => {
    const taps = allTapNames();
    const s = planForward(request(taps));
    const tensorOf = (tap: string) => s.outputs.find((o) => o.tap === tap)!.tensor;
    expect(tensorOf('layer1.0.skip')).toBe(tensorOf('maxpool'));
    expect(tensorOf('layer2.0.skip')).toBe(tensorOf('layer2.0.downsample.1'));
    expect(tensorOf('layer2.1.skip')).toBe(tensorOf('layer2.0'));
    for (const tap of taps) expect(s.tensors[tensorOf(tap)].shape, tap).toEqual(tapShape(tap, 2, 45, 38));
    const retained = new Set(s.outputs.map((o) => s.tensors[o.tensor].buffer));
    expect(retained.size).toBe(new Set(s.outputs.map((o) => o.tensor)).size);
    // Every ReLU is fused: the steps that keep a pre-ReLU tap write the tap after it too.
    expect(s.steps.filter((st) => st.op === 'relu')).toEqual([]);
    expect(s.steps.filter((st) => 'reluOutput' in st).map((st) => st.label)).toEqual([
      'bn1 & relu', ...RESNET18.blocks.flatMap((b) => [`${b.name}.conv1+${b.name}.bn1 & ${b.name} relu(bn1)`, `${b.name} add & relu`]),
    ]);
    checkBuffers(s);
  });

  it('reuses the buffers of dead tensors, and estimates memory as the sum of the schedule\'s tensors', () => {
    const s = planForward({ ...request(['fc']), batch: 1, height: 224, width: 224 });
    const m = scheduleMemory(s);
    expect(m.activationBytes).toBe(s.tensors.reduce((sum, t) => sum + pooledBytes(t.shape.reduce((a, b) => a * b, 1) * 4), 0));
    const held = s.buffers.reduce((a, b) => a + b, 0);
    expect(held).toBeLessThan(m.activationBytes);
    expect(m.largest).toEqual({ tensor: 'relu [1, 64, 112, 112]', bytes: 64 * 112 * 112 * 4 });
    expect(m.readbackBytes).toBe(pooledBytes(1000 * 4));
    checkBuffers(s);
  });

  it('gives each convolution the kernel chosen for it, where that kernel covers its shape', () => {
    const s = planForward(request(['fc'], { kernels: { conv2d: 'rows', layers: { 'layer3.1.conv2': 'direct' } } }));
    const kernel = new Map(s.steps.flatMap((st) => (st.op === 'conv' ? [[st.conv.conv, st.variant] as const] : [])));
    expect(kernel.get('layer1.0.conv1')).toBe('rows');
    expect(kernel.get('layer3.1.conv2')).toBe('direct');
    expect(kernel.get('layer2.0.conv1')).toBe('direct'); // stride 2: 'rows' does not cover it
    expect(kernel.get('conv1')).toBe('direct'); // 7x7
    expect([...kernel.values()].filter((v) => v === 'rows')).toHaveLength(12);
    const f16 = planForward(request(['fc'], { precision: 'f16' }));
    expect(f16.steps.filter((st) => st.op === 'conv').every((st) => st.op === 'conv' && st.variant === 'direct' && st.precision === 'f16')).toBe(true);
  });

  it("gives a 'direct' convolution with padding a zero-padded copy of its input where asked, as scratch of its step", () => {
    const s = planForward({ ...request(['fc'], { kernels: { conv2d: 'winograd-mixed', paddedInput: true } }), batch: 1, height: 224, width: 224 });
    const convs = s.steps.flatMap((st) => (st.op === 'conv' ? [st] : []));
    const padded = convs.filter((st) => st.paddedInput !== undefined);
    // The stem and the three stride-2 3x3 convolutions: not the Winograd ones, not the 1x1 downsamples (no padding).
    expect(padded.map((st) => st.conv.conv)).toEqual(['conv1', 'layer2.0.conv1', 'layer3.0.conv1', 'layer4.0.conv1']);
    expect(padded.every((st) => st.variant === 'direct')).toBe(true);
    expect(convs.filter((st) => st.variant === 'direct' && st.conv.padding > 0 && st.paddedInput === undefined)).toEqual([]);
    expect(padded.map((st) => s.tensors[st.paddedInput!].shape)).toEqual([[1, 3, 230, 230], [1, 64, 58, 58], [1, 128, 30, 30], [1, 256, 16, 16]]);
    expect(s.tensors[padded[0].paddedInput!].name).toBe('conv1+bn1+relu zero-padded input');
    for (const st of padded) {
      expect(stepTensors(st).writes).toContain(st.paddedInput);
      expect(s.tensors[st.paddedInput!].retained).toBe(false);
    }
    checkBuffers(s);
    // Off by default, and for every kernel but 'direct'.
    expect(planForward(request(['fc'])).steps.some((st) => st.op === 'conv' && st.paddedInput !== undefined)).toBe(false);
    const rowsPadded = planForward(request(['fc'], { kernels: { conv2d: 'rows', paddedInput: true } }));
    expect(rowsPadded.steps.filter((st) => st.op === 'conv' && st.paddedInput !== undefined)).toHaveLength(4);
  });

  it('runs the 3x3 stride-2 convolutions by F(4x4, 3x3) where winogradStride2 is on or a per-shape choice names it, with their scratch', () => {
    const at224 = (kernels: KernelChoices) => planForward({ ...request(['fc'], { kernels }), batch: 1, height: 224, width: 224 });
    const runs = (s: ForwardSchedule) => new Map(s.steps.flatMap((st) => (st.op === 'conv' ? [[st.conv.conv, st] as const] : [])));
    const stride2 = ['layer2.0.conv1', 'layer3.0.conv1', 'layer4.0.conv1'];
    // Off (the default): 'direct', as before it existed.
    for (const kernels of [{ conv2d: 'winograd-mixed' }, { conv2d: 'winograd4' }, { conv2d: 'winograd-mixed', winogradStride2: false }] as KernelChoices[]) {
      const off = runs(at224(kernels));
      for (const conv of stride2) expect(off.get(conv)!.variant, `${conv} ${JSON.stringify(kernels)}`).toBe('direct');
    }
    // On: F(4x4, 3x3) with its stride-2 scratch (81 products: V 81 x Cin x tiles, M 81 x Cout x
    // tiles; layer2.0.conv1 at 224: 64 -> 128 channels, 28x28 outputs, 7 x 7 tiles).
    const on = at224({ conv2d: 'winograd-mixed', winogradStride2: true });
    const onRuns = runs(on);
    for (const conv of stride2) expect(onRuns.get(conv)!.variant, conv).toBe('winograd4');
    const layer2 = onRuns.get('layer2.0.conv1')!;
    expect(on.tensors[layer2.scratch!].shape).toEqual([81 * 64 * 49]);
    expect(on.tensors[layer2.products!].shape).toEqual([81 * 128 * 49]);
    // 'winograd' (F(2x2, 3x3)) has no stride-2 form, and the stem and the 1x1 downsamples stay 'direct'.
    for (const conv of stride2) expect(runs(at224({ conv2d: 'winograd', winogradStride2: true })).get(conv)!.variant, conv).toBe('direct');
    for (const conv of ['conv1', 'layer2.0.downsample.0']) expect(onRuns.get(conv)!.variant, conv).toBe('direct');
    checkBuffers(on);
    // A measured table's choice of 'winograd4' for a stride-2 shape holds with the flag off.
    const tuned = runs(at224({ conv2d: 'direct', shapes: { 'b1 128x28x28 -> 256 k3 s2 p1': 'winograd4' } }));
    expect(tuned.get('layer3.0.conv1')!.variant).toBe('winograd4');
    expect(tuned.get('layer2.0.conv1')!.variant).toBe('direct');
  });

  it('validates a request in one place, with one line per error', () => {
    const bad: [Partial<ForwardRequest>, RegExp][] = [
      [{ batch: 0 }, /batch must be a positive integer, got 0/],
      [{ height: 31 }, /at least 32x32/],
      [{ taps: [] }, /at least one tap/],
      [{ taps: ['layer9.0'] }, /unknown tap 'layer9\.0'/],
      [{ ablations: [{ tap: 'fc', channels: [0] }] }, /ablation of 'fc' is not supported/],
      [{ ablations: [{ tap: 'layer1.0.skip', channels: [0] }] }, /through the tap it aliases/],
      [{ ablations: [{ tap: 'layer1.0', channels: [64] }] }, /channel 64 is out of range 0\.\.63/],
      [{ ablations: [{ tap: 'layer1.0', channels: [1, 2], values: [0] }] }, /1 values for 2 channels/],
    ];
    for (const [change, pattern] of bad) expect(() => validateForwardRequest({ ...request(['fc']), ...change }), String(pattern)).toThrow(pattern);
    const missing = new Set(['layer4.0.conv1.weight']);
    expect(() => planForward(request(['layer3.1'], { missing }))).not.toThrow();
    expect(() => planForward(request(['fc'], { missing }))).toThrow(MissingWeightsError);
    expect(() => planForward(request(['layer3.1'], { missing, ablations: [{ tap: 'layer4.0', channels: [0] }] })))
      .toThrow(/cannot compute tap 'layer4\.0': the checkpoint lacks layer4\.0\.conv1\.weight; the last computable stage is layer3\.1/);
  });

  it('is driven by the architecture: a bottleneck-style block (three branch convolutions) needs no code of its own', () => {
    const conv = (c: string, bn: string, inChannels: number, outChannels: number, kernel: number, stride = 1): ConvSpec =>
      ({ conv: c, bn, inChannels, outChannels, kernel, stride, padding: kernel === 3 ? 1 : 0 });
    const c1 = conv('layer1.0.conv1', 'layer1.0.bn1', 64, 16, 1);
    const c2 = conv('layer1.0.conv2', 'layer1.0.bn2', 16, 16, 3, 2);
    const c3 = conv('layer1.0.conv3', 'layer1.0.bn3', 16, 64, 1);
    const block: BlockSpec = {
      name: 'layer1.0', short: '1.0', stage: 1, index: 0, inChannels: 64, outChannels: 64, stride: 2,
      branch: [c1, c2, c3], conv1: c1, conv2: c2,
      downsample: conv('layer1.0.downsample.0', 'layer1.0.downsample.1', 64, 64, 1, 2),
    };
    const arch: Architecture = { ...RESNET18, name: 'bottleneck test', blocks: [block], features: 64, classes: 10 };
    expect(blockTapNames(block)).toEqual(['layer1.0.bn1', 'layer1.0.bn2', 'layer1.0.bn3', 'layer1.0.downsample.1', 'layer1.0.skip', 'layer1.0.sum', 'layer1.0']);
    expect(expectedTensors(arch).get('layer1.0.conv3.weight')).toEqual([64, 16, 1, 1]);
    const s = planForward({ ...request(allTapNames(arch)), architecture: arch });
    expect(s.steps.filter((st) => st.op === 'conv').map((st) => st.label)).toEqual([
      'conv1 (raw)', 'layer1.0.conv1+layer1.0.bn1 & layer1.0 relu(bn1)', 'layer1.0.conv2+layer1.0.bn2 & layer1.0 relu(bn2)',
      'layer1.0.conv3+layer1.0.bn3', 'layer1.0.downsample.0+layer1.0.downsample.1',
    ]);
    expect(s.steps.filter((st) => st.op === 'relu')).toEqual([]);
    for (const o of s.outputs) expect(s.tensors[o.tensor].shape, o.tap).toEqual(tapShape(o.tap, 2, 45, 38, arch));
    expect(tapShape('layer1.0', 2, 45, 38, arch)).toEqual([2, 64, 6, 5]);
    checkBuffers(s);
  });
});
