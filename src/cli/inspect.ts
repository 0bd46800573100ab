// `resnet-stream inspect --weights FILE`: load and validate a checkpoint without a GPU, and say what
// it is: format, which of torchvision's ResNets, tensors and parameters against it, what is missing, and which
// taps the weights can compute. Exit 0 when the file loads (a partial checkpoint loads too); any
// problem is the loader's one-line error, naming the tensor or zip entry.

import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { allTapNames, expectedTensors } from '../model/architecture';
import { architectureOf } from '../model/family';
import { computability } from '../model/planner';
import { describeCheckpoint, loadCheckpoint } from '../weights/load';
import { resolveWeightsPath } from '../weights/resolve-node';
import { sha256Hex } from '../weights/sha256';
import { parseArgs } from './args';
import { checkArchOption } from './checkpoint';
import { readFileBytes } from '../util/files-node';
import { elementCount } from '../util/tensor';

export const INSPECT_USAGE = `usage: resnet-stream inspect [--weights FILE] [--arch NAME] [--tensors] [--json]

Loads and validates a checkpoint (torch.save .pth, zip or legacy, or .safetensors) on the CPU, no GPU
needed, and prints its format, SHA-256, which of torchvision's ResNets it is (from its tensor names and
shapes), how many of that network's tensors and parameters it holds, what it lacks, and which taps the
weights can compute. Exit 0 if it loads, 1 with a one-line error if not.
  --arch NAME validate against this member of the family instead of recognising it
  --tensors   also list every tensor: name, shape, min, max, mean and the SHA-256 of its float32 values
  --json      one JSON object on stdout instead of text`;

/** Checkpoints are read whole into memory; refuse files no ResNet checkpoint comes near (wide_resnet101_2: 0.5 GB). */
const MAX_CHECKPOINT_BYTES = 2 * 1024 * 1024 * 1024;

function stats(data: Float32Array): { min: number; max: number; mean: number } {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of data) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return { min, max, mean: data.length ? sum / data.length : 0 };
}

/** The module a tensor belongs to, for grouping: 'layer2.0', or 'conv1' / 'bn1' / 'fc'. */
function moduleOf(name: string): string {
  const m = /^(layer\d\.\d)\./.exec(name);
  return m ? m[1] : name.split('.')[0];
}

/** Missing tensors, with whole modules collapsed ('all of layer2.0') so the line stays readable. */
function summarizeMissing(missing: string[], expected: string[]): string {
  const lacking = new Set(missing);
  const parts: string[] = [];
  const done = new Set<string>();
  for (const name of missing) {
    const mod = moduleOf(name);
    if (done.has(mod)) continue;
    const all = expected.filter((n) => moduleOf(n) === mod);
    if (all.length > 1 && all.every((n) => lacking.has(n))) {
      parts.push(`all of ${mod}`);
      done.add(mod);
    } else {
      parts.push(name);
    }
  }
  return parts.join(', ');
}

export async function inspectCommand(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${INSPECT_USAGE}\n`);
    return;
  }
  const args = parseArgs(argv, { values: ['weights', 'arch'], flags: ['tensors', 'json'] });
  const insist = args.values.get('arch');
  checkArchOption(insist);
  const path = await resolveWeightsPath({ flag: args.values.get('weights'), allowDownload: false });
  const size = statSync(path).size;
  if (size > MAX_CHECKPOINT_BYTES) throw new Error(`${path}: ${size} bytes is larger than any torchvision ResNet checkpoint (limit ${MAX_CHECKPOINT_BYTES})`);
  const bytes = readFileBytes(path);
  const checkpoint = loadCheckpoint(bytes, basename(path), { architecture: insist });
  const architecture = architectureOf(checkpoint.architecture);
  const expected = expectedTensors(architecture);
  const expectedParameters = [...expected.values()].reduce((a, s) => a + elementCount(s), 0);
  const parameters = [...checkpoint.tensors.values()].reduce((a, t) => a + t.data.length, 0);
  const status = computability(new Set(checkpoint.missing), architecture);
  const tensors = args.flags.has('tensors') || args.flags.has('json')
    ? [...checkpoint.tensors].map(([name, t]) => ({
      name,
      shape: t.shape,
      ...stats(t.data),
      sha256: sha256Hex(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)),
    }))
    : [];
  const report = {
    file: path,
    format: checkpoint.format,
    bytes: bytes.byteLength,
    sha256: checkpoint.sha256,
    known: describeCheckpoint(checkpoint) ?? null,
    architecture: architecture.name,
    tensors: checkpoint.tensors.size,
    expectedTensors: expected.size,
    parameters,
    expectedParameters,
    missing: checkpoint.missing,
    lastComputable: status.lastComputable,
    computableTaps: status.computable,
    notComputableTaps: status.notComputable,
    blockedBy: status.missingTensors,
    tensorList: tensors,
  };
  if (args.flags.has('json')) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const formats: Record<string, string> = {
    pth: 'torch.save zip (PyTorch >= 1.6)',
    'pth-legacy': 'torch.save legacy (PyTorch < 1.6)',
    safetensors: 'safetensors',
  };
  const out: string[] = [];
  out.push(`file:        ${path} (${bytes.byteLength} bytes)`);
  out.push(`format:      ${formats[checkpoint.format ?? ''] ?? checkpoint.format}`);
  out.push(`sha256:      ${checkpoint.sha256}${report.known ? ` (${report.known})` : ''}`);
  out.push(`architecture: ${architecture.name} (${insist ? 'as --arch insists; the tensors fit it' : 'recognised from the tensors\' names and shapes'})`);
  out.push(`tensors:     ${checkpoint.tensors.size} of ${architecture.name}'s ${expected.size}`);
  out.push(`parameters:  ${parameters.toLocaleString('en-US')} of ${expectedParameters.toLocaleString('en-US')}`);
  if (checkpoint.missing.length) {
    out.push(`missing:     ${checkpoint.missing.length} tensor(s): ${summarizeMissing(checkpoint.missing, [...expected.keys()])}`);
  } else {
    out.push('missing:     none');
  }
  const all = allTapNames(architecture).length;
  if (status.notComputable.length === 0) {
    out.push(`taps:        all ${all} computable (through fc)`);
  } else {
    out.push(`taps:        ${status.computable.length} of ${all} computable, through ${status.lastComputable}`);
    out.push(`not computable: ${status.notComputable.length > 12 ? `${status.notComputable.slice(0, 6).join(', ')} ... ${status.notComputable.slice(-2).join(', ')}` : status.notComputable.join(', ')}`);
    out.push(`  (the first stage that cannot run needs ${status.missingTensors.join(', ')})`);
  }
  for (const t of tensors) {
    out.push(`  ${t.name.padEnd(36)} [${t.shape.join(', ')}]`.padEnd(60) +
      ` min ${t.min.toPrecision(4)} max ${t.max.toPrecision(4)} mean ${t.mean.toPrecision(4)} sha256 ${t.sha256.slice(0, 16)}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}
