// Peer 2: any torchvision ResNet (an Architecture of src/model/family.ts) as an ONNX model written by
// hand from OUR weights, for ONNX Runtime Web.
//
// The model: opset 17, IR version 8, static input `input` float32 [N, 3, H, W] (NCHW), output
// `logits` [N, 1000]. BatchNorm is folded into each Conv (as torch.onnx.export does), so the graph
// holds Conv (with `group` for ResNeXt's 3x3), Relu, MaxPool, Add, GlobalAveragePool, Flatten and
// Gemm (ResNet18: 20 Conv, 17 Relu, 8 Add; ResNet50: 53 Conv, 49 Relu, 16 Add).
// Initializers are TensorProtos with raw_data (little-endian float32).
//
// ONNX field numbers used (onnx/onnx.proto, proto2):
//   ModelProto      1 ir_version, 2 producer_name, 3 producer_version, 7 graph, 8 opset_import
//   OperatorSetId   1 domain, 2 version
//   GraphProto      1 node, 2 name, 5 initializer, 11 input, 12 output
//   NodeProto       1 input, 2 output, 3 name, 4 op_type, 5 attribute
//   AttributeProto  1 name, 3 i, 8 ints, 20 type (INT = 2, INTS = 7)
//   TensorProto     1 dims, 2 data_type (FLOAT = 1), 8 name, 9 raw_data
//   ValueInfoProto  1 name, 2 type;  TypeProto 1 tensor_type;  TypeProto.Tensor 1 elem_type, 2 shape
//   TensorShapeProto 1 dim;  Dimension 1 dim_value

import { type Architecture, type ConvSpec, RESNET18 } from '../../src/model/architecture';
import { type TensorMap, foldAll } from '../core/weights';
import { ProtoWriter } from './protobuf';

const FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

type Attr = { name: string; int: number } | { name: string; ints: number[] };

interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attrs?: Attr[];
}

interface Initializer {
  name: string;
  dims: number[];
  data: Float32Array;
}

function writeValueInfo(w: ProtoWriter, name: string, dims: number[]): void {
  w.string(1, name);
  w.message(2, (type) => type.message(1, (tensor) => {
    tensor.int(1, FLOAT);
    tensor.message(2, (shape) => {
      for (const d of dims) shape.message(1, (dim) => dim.int(1, d));
    });
  }));
}

export interface OnnxModelInfo {
  bytes: Uint8Array;
  nodeCount: number;
  ops: Record<string, number>;
}

export function buildResnetOnnx(weights: TensorMap, batch: number, height: number, width: number,
  arch: Architecture = RESNET18): OnnxModelInfo {
  const folded = foldAll(weights, arch);
  const nodes: Node[] = [];
  const inits: Initializer[] = [];

  const conv = (x: string, spec: ConvSpec, relu: boolean, out: string): string => {
    const f = folded.get(spec.conv);
    if (!f) throw new Error(`onnx peer: no folded conv '${spec.conv}'`);
    const wName = `${spec.conv}.weight`;
    const bName = `${spec.conv}.bias`;
    const groups = spec.groups ?? 1;
    inits.push({ name: wName, dims: [spec.outChannels, spec.inChannels / groups, spec.kernel, spec.kernel], data: f.weight });
    inits.push({ name: bName, dims: [spec.outChannels], data: f.bias });
    const convOut = relu ? `${out}.pre_relu` : out;
    nodes.push({
      op: 'Conv', name: spec.conv, inputs: [x, wName, bName], outputs: [convOut], attrs: [
        { name: 'dilations', ints: [1, 1] },
        { name: 'group', int: groups },
        { name: 'kernel_shape', ints: [spec.kernel, spec.kernel] },
        { name: 'pads', ints: [spec.padding, spec.padding, spec.padding, spec.padding] },
        { name: 'strides', ints: [spec.stride, spec.stride] },
      ],
    });
    if (relu) nodes.push({ op: 'Relu', name: `${spec.conv}.relu`, inputs: [convOut], outputs: [out] });
    return out;
  };

  let x = conv('input', arch.stem, true, 'relu');
  const { kernel: pk, stride: ps, padding: pp } = arch.pool;
  nodes.push({
    op: 'MaxPool', name: 'maxpool', inputs: [x], outputs: ['maxpool'], attrs: [
      { name: 'ceil_mode', int: 0 },
      { name: 'kernel_shape', ints: [pk, pk] },
      { name: 'pads', ints: [pp, pp, pp, pp] },
      { name: 'strides', ints: [ps, ps] },
    ],
  });
  x = 'maxpool';
  for (const b of arch.blocks) {
    // A ReLU after every branch convolution but the last (torchvision's relu1, relu2, ...).
    const last = b.branch.length - 1;
    const y = b.branch.reduce((h, spec, i) => conv(h, spec, i < last, i < last ? `${b.name}.relu${i + 1}` : spec.bn), x);
    const skip = b.downsample ? conv(x, b.downsample, false, `${b.name}.downsample.1`) : x;
    nodes.push({ op: 'Add', name: `${b.name}.add`, inputs: [y, skip], outputs: [`${b.name}.sum`] });
    nodes.push({ op: 'Relu', name: `${b.name}.relu`, inputs: [`${b.name}.sum`], outputs: [b.name] });
    x = b.name;
  }
  nodes.push({ op: 'GlobalAveragePool', name: 'avgpool', inputs: [x], outputs: ['avgpool4d'] });
  nodes.push({ op: 'Flatten', name: 'flatten', inputs: ['avgpool4d'], outputs: ['avgpool'], attrs: [{ name: 'axis', int: 1 }] });
  const fcW = weights.get('fc.weight');
  const fcB = weights.get('fc.bias');
  if (!fcW || !fcB) throw new Error('onnx peer: fc.weight / fc.bias missing');
  inits.push({ name: 'fc.weight', dims: fcW.shape, data: fcW.data });
  inits.push({ name: 'fc.bias', dims: fcB.shape, data: fcB.data });
  nodes.push({
    // y = avgpool @ fc.weight^T + fc.bias (alpha and beta keep their default 1).
    op: 'Gemm', name: 'fc', inputs: ['avgpool', 'fc.weight', 'fc.bias'], outputs: ['logits'],
    attrs: [{ name: 'transB', int: 1 }],
  });

  const model = new ProtoWriter();
  model.int(1, 8); // ir_version 8 (ONNX 1.13+, opset 17)
  model.string(2, 'resnet-stream bench');
  model.string(3, '0.1.0');
  model.message(7, (g) => {
    for (const n of nodes) {
      g.message(1, (nw) => {
        for (const i of n.inputs) nw.string(1, i);
        for (const o of n.outputs) nw.string(2, o);
        nw.string(3, n.name);
        nw.string(4, n.op);
        for (const a of n.attrs ?? []) {
          nw.message(5, (aw) => {
            aw.string(1, a.name);
            if ('ints' in a) {
              aw.ints(8, a.ints);
              aw.int(20, ATTR_INTS);
            } else {
              aw.int(3, a.int);
              aw.int(20, ATTR_INT);
            }
          });
        }
      });
    }
    g.string(2, arch.name);
    for (const t of inits) {
      g.message(5, (tw) => {
        tw.ints(1, t.dims);
        tw.int(2, FLOAT);
        tw.string(8, t.name);
        tw.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      });
    }
    g.message(11, (v) => writeValueInfo(v, 'input', [batch, 3, height, width]));
    g.message(12, (v) => writeValueInfo(v, 'logits', [batch, arch.classes]));
  });
  model.message(8, (o) => {
    o.string(1, '');
    o.int(2, 17);
  });
  const ops: Record<string, number> = {};
  for (const n of nodes) ops[n.op] = (ops[n.op] ?? 0) + 1;
  return { bytes: model.finish(), nodeCount: nodes.length, ops };
}
