// One entry point for weights: bytes in (a torch.save .pth or a .safetensors file), a validated
// ResNet18 state dict out. Browser-safe: no Node imports.
//
// Validation is against torchvision's resnet18 (model/architecture.ts expectedTensors()):
//   - names the network does not have are an error (after stripping DataParallel's 'module.');
//   - shapes must match exactly; parameters must be floating point and finite;
//   - BatchNorm running variances must be >= 0;
//   - tensors the network has but the file lacks are allowed and listed in `missing`, so a partial
//     checkpoint runs the blocks it covers and the engine can say what the rest needs.

import { expectedTensors, isIgnorableTensor } from '../model/architecture';
import { closestArchitecture } from '../model/recognise';
import { displayName } from '../model/family';
import { isLegacyPth, isZip, readPth } from './pth';
import { readSafetensors, type HostTensor, type TensorMap } from './safetensors';
import { sha256Hex } from './sha256';
import { printable } from './zip';
import { PickleDict, type PickleValue, TensorRef, isFloatDtype } from './unpickle';
import { elementCount } from '../util/tensor';

export interface Checkpoint {
  /** The network's tensors the file holds, float32, in state-dict order. */
  tensors: TensorMap;
  /** The network's tensors the file lacks, in state-dict order. */
  missing: string[];
  /** Where the weights came from (the name given to loadCheckpoint). */
  source: string;
  /** Hex SHA-256 of the file's bytes (absent when hashing was switched off or there was no file). */
  sha256?: string;
  format?: 'pth' | 'pth-legacy' | 'safetensors' | 'memory';
  /** Which of torchvision's ResNets the tensors' names and shapes make it ('resnet18', 'resnet50', ...). */
  architecture: string;
}

export interface LoadOptions {
  /** Compute the file's SHA-256 (default true; about 0.3 s for the full 45 MB checkpoint). */
  hash?: boolean;
  /** Validate against this member of the family instead of recognising it (--arch). */
  architecture?: string;
}

/** Known checkpoints, by SHA-256 prefix. */
export const KNOWN_CHECKPOINTS: Readonly<Record<string, string>> = {
  f37072fd: "torchvision's official resnet18-f37072fd.pth (IMAGENET1K_V1)",
  ae693fb2: 'resnet18-imagenet1k-v1-partial.pth (IMAGENET1K_V1 without the layer4 3x3 convolutions, BatchNorm folded)',
};

/** What a checkpoint is, if its hash is a known one. */
export function describeCheckpoint(checkpoint: Checkpoint): string | undefined {
  return checkpoint.sha256 ? KNOWN_CHECKPOINTS[checkpoint.sha256.slice(0, 8)] : undefined;
}

/** Keys under which training scripts nest the state dict ({'epoch': ..., 'state_dict': {...}}). */
const NESTING_KEYS = ['state_dict', 'model', 'model_state_dict', 'module', 'net'];
const MAX_LISTED = 4;

function listNames(names: string[]): string {
  const shown = names.slice(0, MAX_LISTED).map((n) => `'${printable(n)}'`).join(', ');
  return names.length > MAX_LISTED ? `${shown} and ${names.length - MAX_LISTED} more` : shown;
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function sniff(bytes: Uint8Array): 'zip' | 'legacy' | 'safetensors' | string {
  if (isZip(bytes)) return 'zip';
  if (isLegacyPth(bytes)) return 'legacy';
  if (bytes.length >= 9 && bytes[8] === 0x7b /* { */ && bytes[6] === 0 && bytes[7] === 0) return 'safetensors';
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 64));
  if (/^version https:\/\/git-lfs/.test(head)) return 'a Git LFS pointer, not the file itself (run git lfs pull)';
  if (/^\s*<(!doctype|html|\?xml)/i.test(head)) return 'a web page, not a checkpoint (the download went wrong)';
  if (bytes.length === 0) return 'empty';
  const hex = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `an unknown format (first bytes ${hex}); expected a torch.save .pth (zip) or .safetensors file`;
}

/** Find the state dict in an unpickled checkpoint: the root, or a dict nested under a known key. */
function findStateDict(root: PickleValue, what: string): PickleDict {
  let node = root;
  for (let depth = 0; depth < 3; depth++) {
    if (!(node instanceof PickleDict)) break;
    const values = [...node.values()];
    if (values.length > 0 && values.every((v) => v instanceof TensorRef)) return node;
    const key = NESTING_KEYS.find((k) => node instanceof PickleDict && node.get(k) instanceof PickleDict);
    if (key === undefined) {
      if (values.length === 0) throw new Error(`${what}: the checkpoint is an empty dict`);
      const keys = [...node.keys()].map(String);
      const nonTensors = [...node.entries()].filter(([, v]) => !(v instanceof TensorRef)).map(([k]) => String(k));
      throw new Error(
        `${what}: not a state dict of tensors: ${listNames(nonTensors)} ${nonTensors.length === 1 ? 'is not a tensor' : 'are not tensors'}` +
          ` and no '${NESTING_KEYS.join("' / '")}' entry holds one (keys: ${listNames(keys)})`,
      );
    }
    node = node.get(key)!;
  }
  throw new Error(`${what}: the checkpoint is not a dict of tensors (found ${Array.isArray(node) ? 'a list or tuple' : typeof node})`);
}

function stripPrefix(name: string): string {
  return name.startsWith('module.') ? name.slice('module.'.length) : name;
}

/**
 * Validate a state dict against ResNet18 and build a Checkpoint. `entries` are (name, dtype,
 * shape, read) with `read` called only for tensors the network uses.
 */
function validate(
  entries: { name: string; dtype: string; isFloat: boolean; shape: number[]; read: () => Float32Array }[],
  source: string,
  insist?: string,
): Pick<Checkpoint, 'tensors' | 'missing' | 'architecture'> {
  // The family member the names and shapes fit (else the closest, whose name the errors carry).
  const architecture = closestArchitecture(new Map(entries.map((e) => [stripPrefix(e.name), e.shape] as [string, number[]])
    .filter(([n]) => !isIgnorableTensor(n))), insist);
  const expected = expectedTensors(architecture);
  const byName = new Map<string, (typeof entries)[number]>();
  const unknown: string[] = [];
  for (const e of entries) {
    const name = stripPrefix(e.name);
    if (isIgnorableTensor(name)) continue;
    if (!expected.has(name)) unknown.push(name);
    else if (byName.has(name)) throw new Error(`${source}: tensor '${name}' appears twice (with and without 'module.')`);
    else byName.set(name, { ...e, name });
  }
  if (unknown.length) {
    throw new Error(`${source}: ${unknown.length} tensor(s) are not part of torchvision's ${architecture.name}: ${listNames(unknown)}`);
  }
  const tensors: TensorMap = new Map();
  const missing: string[] = [];
  for (const [name, shape] of expected) {
    const e = byName.get(name);
    if (!e) {
      missing.push(name);
      continue;
    }
    if (!e.isFloat) throw new Error(`${source}: tensor '${name}' has dtype ${e.dtype}; ${displayName(architecture.name)}'s parameters are floating point`);
    if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`${source}: tensor '${name}' has shape ${formatShape(e.shape)}, expected ${formatShape(shape)}`);
    }
    const data = e.read();
    checkValues(name, data, source);
    tensors.set(name, { shape: [...shape], data });
  }
  return { tensors, missing, architecture: architecture.name };
}

function checkValues(name: string, data: Float32Array, source: string): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) {
      throw new Error(`${source}: tensor '${name}' holds ${Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf'} at flat index ${i}`);
    }
  }
  if (name.endsWith('.running_var')) {
    const i = data.findIndex((v) => v < 0);
    if (i >= 0) throw new Error(`${source}: tensor '${name}' holds the negative variance ${data[i]} at index ${i}`);
  }
}

/**
 * Read and validate a ResNet18 checkpoint: a torch.save file (zip, or legacy pre-1.6) holding a
 * state dict (possibly under 'state_dict' / 'model', possibly with 'module.' prefixes), or a
 * safetensors file. Throws a one-line Error naming the file and the problem.
 */
export function loadCheckpoint(bytes: Uint8Array, name = 'checkpoint', options: LoadOptions = {}): Checkpoint {
  const kind = sniff(bytes);
  let result: Pick<Checkpoint, 'tensors' | 'missing' | 'architecture'>;
  let format: Checkpoint['format'];
  if (kind === 'zip' || kind === 'legacy') {
    const archive = readPth(bytes, name);
    const dict = findStateDict(archive.root, name);
    const entries = [...dict.entries()].map(([key, ref]) => {
      if (typeof key !== 'string') throw new Error(`${name}: state-dict key ${printable(String(key))} is not a string`);
      const t = ref as TensorRef;
      return { name: key, dtype: t.dtype, isFloat: isFloatDtype(t.dtype), shape: t.shape, read: () => archive.read(t, `tensor '${key}'`) };
    });
    result = validate(entries, name, options.architecture);
    format = kind === 'zip' ? 'pth' : 'pth-legacy';
  } else if (kind === 'safetensors') {
    const file = readSafetensors(bytes, name, { integers: 'read' });
    const entries = [...file.tensors].map(([key, t]) => {
      const dtype = file.dtypes.get(key) ?? 'F32';
      return { name: key, dtype, isFloat: ['F32', 'F16', 'BF16', 'F64'].includes(dtype), shape: t.shape, read: () => t.data };
    });
    result = validate(entries, name, options.architecture);
    format = 'safetensors';
  } else {
    throw new Error(`${name}: ${kind === 'empty' ? 'the file is empty' : `is ${kind}`}`);
  }
  const checkpoint: Checkpoint = { ...result, source: name, format };
  if (options.hash !== false) checkpoint.sha256 = sha256Hex(bytes);
  return checkpoint;
}

/** Validate tensors already in memory (e.g. randomWeights()) as a Checkpoint. */
export function checkpointFromTensors(tensors: TensorMap, source = 'tensors in memory'): Checkpoint {
  const entries = [...tensors].map(([key, t]: [string, HostTensor]) => {
    const count = elementCount(t.shape);
    if (count !== t.data.length) throw new Error(`${source}: tensor '${key}' has shape ${formatShape(t.shape)} but ${t.data.length} values`);
    return { name: key, dtype: 'float32', isFloat: true, shape: t.shape, read: () => t.data };
  });
  return { ...validate(entries, source), source, format: 'memory' };
}

/** The subset of `names` the checkpoint lacks (e.g. the tensors one block needs). */
export function missingFor(checkpoint: Checkpoint, names: string[]): string[] {
  return names.filter((n) => !checkpoint.tensors.has(n));
}

/**
 * Throw a one-line error unless the checkpoint holds every tensor in `names`; `purpose` says what
 * needs them ('block 4.0', 'classification').
 */
export function requireTensors(checkpoint: Checkpoint, names: string[], purpose: string): void {
  const lacking = missingFor(checkpoint, names);
  if (lacking.length) {
    throw new Error(
      `${purpose} needs ${listNames(lacking)}, which ${checkpoint.source} lacks; ` +
        `use the full torchvision checkpoint resnet18-f37072fd.pth (see weights/README.md)`,
    );
  }
}
