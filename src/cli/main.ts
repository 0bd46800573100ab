// The resnet-stream command line (Node, through Dawn). Every failure is one line on stderr and a
// non-zero exit; no stack traces unless RESNET_STREAM_DEBUG=1.

import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { type TapName, allTapNames } from '../model/architecture';
import { ResNetEngine } from '../model/engine';
import { ADAPTER_HELP, checkAdapterOption, openNodeContext } from './adapter';
import { type HostTensor, type TensorMap, readSafetensors, writeSafetensors } from '../weights/safetensors';
import { ARCH_HELP, checkArchOption, loadInto, readWeights } from './checkpoint';
import { preprocessFiles } from '../image/preprocess-node';
import { UsageError, errorLine, parseArgs, required } from './args';
import { imagenetClasses } from './classes-node';

const USAGE = `resnet-stream: torchvision's ResNets on WebGPU, with every skip and branch of the residual stream read back

usage:
  resnet-stream taps --weights FILE (--input TENSOR.safetensors | --image FILE...) --out OUT.safetensors [--taps a,b,...]
  resnet-stream classify --weights FILE (--input TENSOR.safetensors | --image FILE...) [--top 5] [--json]
  resnet-stream preprocess --image FILE --out OUT.safetensors
  resnet-stream --version
  resnet-stream inspect [--weights FILE] [--tensors] [--json]   (load and validate a checkpoint; no GPU)
  resnet-stream fv --weights FILE --tap NAME --channels 0-63 [--steps 2560] [--seed N] [--out DIR]
  resnet-stream analyze --out DIR [--weights FILE] [--images DIR|LIST] ...   (analyze --help)
  resnet-stream analyze ... --shard K/N   (one of N shards; analyze --plan prints the work and its projected time)
  resnet-stream merge --out DIR SHARD_DIR...   (the N shards into the unsharded run's outputs; merge --help)
  resnet-stream robustness --weights FILE --analysis FILE --images DIR|LIST --block 3.1 --out FILE.json ...   (robustness --help)

common options:
  --weights FILE        a torchvision .pth (zip) or .safetensors state dict; else $RESNET_STREAM_WEIGHTS,
                        else the cached official download (node weights/download.mjs)
  ${ARCH_HELP}
  ${ADAPTER_HELP}
  taps are named as in torchvision: input, conv1, bn1, relu, maxpool, layerL.B.{bn1,bn2,bn3,downsample.1,skip,sum},
  layerL.B, avgpool, fc (bn3 in a Bottleneck network: resnet50 and up)`;

type Command = (argv: string[]) => Promise<void>;

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function openEngine(adapter: string | undefined): Promise<ResNetEngine> {
  const context = await openNodeContext(adapter);
  return ResNetEngine.create({ context });
}

async function loadWeightsInto(engine: ResNetEngine, args: ReturnType<typeof parseArgs>): Promise<{ path: string; missing: string[] }> {
  const { path, checkpoint } = await readWeights({ weights: args.values.get('weights'), arch: args.values.get('arch') });
  loadInto(engine, checkpoint);
  return { path, missing: checkpoint.missing };
}

/** The input batch: --input TENSOR.safetensors (tensor 'input') or --image FILE... (preprocessed). */
function readInput(args: ReturnType<typeof parseArgs>): { tensor: HostTensor; names: string[] } {
  const inputPath = args.values.get('input');
  const images = args.multi.get('image') ?? [];
  if (inputPath && images.length) throw new UsageError('give --input or --image, not both');
  if (inputPath) {
    const file = readSafetensors(new Uint8Array(readFileSync(inputPath)), inputPath);
    const tensor = file.tensors.get('input');
    if (!tensor) throw new Error(`${inputPath}: no tensor named 'input' (found: ${[...file.tensors.keys()].join(', ') || 'none'})`);
    if (tensor.shape.length !== 4 || tensor.shape[1] !== 3) {
      throw new Error(`${inputPath}: 'input' must be float32 NCHW with 3 channels, got shape [${tensor.shape}]`);
    }
    return { tensor, names: Array.from({ length: tensor.shape[0] }, (_, i) => `${basename(inputPath)}[${i}]`) };
  }
  if (!images.length) throw new UsageError('--input TENSOR.safetensors or --image FILE is required');
  const result = preprocessFiles(images);
  for (const f of result.failed) log(`skipped ${f.file}: ${f.error}`);
  if (!result.ok.length) throw new Error(`none of the ${images.length} image(s) could be read`);
  return { tensor: result.tensor, names: result.ok.map((p) => basename(p)) };
}

const taps: Command = async (argv) => {
  const args = parseArgs(argv, { values: ['weights', 'arch', 'input', 'out', 'taps', 'adapter'], multi: ['image'] });
  checkAdapterOption(args.values.get('adapter'));
  checkArchOption(args.values.get('arch'));
  const out = required(args, 'out');
  const { tensor } = readInput(args);
  const engine = await openEngine(args.values.get('adapter'));
  try {
    const { missing } = await loadWeightsInto(engine, args);
    const status = engine.computability();
    let wanted: TapName[];
    const asked = args.values.get('taps');
    if (asked) {
      wanted = asked.split(',').map((t) => t.trim()).filter(Boolean);
      const known = new Set(allTapNames(engine.architecture));
      const unknown = wanted.filter((t) => !known.has(t));
      if (unknown.length) throw new UsageError(`unknown tap(s): ${unknown.join(', ')}`);
    } else {
      wanted = allTapNames(engine.architecture);
    }
    const blocked = wanted.filter((t) => status.notComputable.includes(t));
    if (blocked.length) {
      log(`the checkpoint lacks ${missing.length} tensor(s): ${status.missingTensors.join(', ')}` +
        (missing.length > status.missingTensors.length ? ` (and ${missing.length - status.missingTensors.length} more)` : ''));
      log(`not computed (need the missing tensors): ${blocked.join(', ')}`);
      log(`computed through ${status.lastComputable}`);
    }
    wanted = wanted.filter((t) => !blocked.includes(t));
    const result = await engine.forward(tensor, { taps: wanted });
    const ordered: TensorMap = new Map();
    for (const t of allTapNames(engine.architecture)) {
      const v = t === 'input' && wanted.includes('input') ? tensor : result.get(t);
      if (v && wanted.includes(t)) ordered.set(t, v);
    }
    writeFileSync(out, writeSafetensors(ordered, { producer: 'resnet-stream', adapter: engine.adapter.name }));
    log(`wrote ${ordered.size} taps to ${out}`);
  } finally {
    engine.dispose();
  }
};

function softmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const p = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += p[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < p.length; i++) p[i] /= sum;
  return p;
}

const classify: Command = async (argv) => {
  const args = parseArgs(argv, { values: ['weights', 'arch', 'input', 'top', 'adapter'], flags: ['json'], multi: ['image'] });
  checkAdapterOption(args.values.get('adapter'));
  checkArchOption(args.values.get('arch'));
  const top = Number(args.values.get('top') ?? 5);
  if (!Number.isInteger(top) || top < 1 || top > 1000) throw new UsageError('--top must be an integer from 1 to 1000');
  const { tensor, names } = readInput(args);
  const engine = await openEngine(args.values.get('adapter'));
  try {
    await loadWeightsInto(engine, args);
    const status = engine.computability();
    if (status.notComputable.includes('fc')) {
      throw new Error(`classification needs the whole network, but the checkpoint lacks ${status.missingTensors.join(', ')} ` +
        `(it computes through ${status.lastComputable}); use a complete ${engine.architecture.name} checkpoint` +
        (engine.architecture.name === 'resnet18' ? ' such as the torchvision file resnet18-f37072fd.pth' : ''));
    }
    const logits = (await engine.forward(tensor, { taps: ['fc'] })).get('fc')!;
    const classes = imagenetClasses();
    const results = names.map((image, n) => {
      const p = softmax(logits.data.subarray(n * 1000, (n + 1) * 1000));
      const order = Array.from(p.keys()).sort((a, b) => p[b] - p[a]).slice(0, top);
      return { image, top: order.map((index) => ({ index, name: classes[index].name, probability: p[index] })) };
    });
    if (args.flags.has('json')) {
      process.stdout.write(`${JSON.stringify(names.length === 1 ? results[0] : results, null, 2)}\n`);
    } else {
      for (const r of results) {
        if (names.length > 1) process.stdout.write(`${r.image}\n`);
        for (const t of r.top) process.stdout.write(`${t.index.toString().padStart(4)}  ${(t.probability * 100).toFixed(2).padStart(6)}%  ${t.name}\n`);
      }
    }
  } finally {
    engine.dispose();
  }
};

const preprocess: Command = async (argv) => {
  const args = parseArgs(argv, { values: ['out'], multi: ['image'] });
  const out = required(args, 'out');
  const images = args.multi.get('image') ?? [];
  if (images.length !== 1) throw new UsageError('preprocess takes exactly one --image FILE');
  const { zoomIn, zoomOut } = await import('../image/zoom');
  const result = preprocessFiles(images);
  if (result.failed.length) throw new Error(result.failed[0].error);
  const input = result.tensor;
  writeFileSync(out, writeSafetensors(new Map([['input', input], ['zoom_in', zoomIn(input)], ['zoom_out', zoomOut(input)]]), {
    image: basename(images[0]),
    preprocess: 'RGB; Resize(256) bilinear antialias (Pillow-exact); CenterCrop(224); ToTensor; Normalize(ImageNet)',
  }));
  log(`wrote input, zoom_in, zoom_out to ${out}`);
};

const commands: Record<string, Command> = {
  taps,
  classify,
  preprocess,
  inspect: async (argv) => (await import('./inspect')).inspectCommand(argv),
  analyze: async (argv) => (await import('./analyze')).analyzeCommand(argv),
  merge: async (argv) => (await import('./merge')).mergeCommand(argv),
  fv: async (argv) => (await import('./fv')).fvCommand(argv),
  robustness: async (argv) => (await import('./robustness')).robustnessCommand(argv),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`${RESNET_STREAM_VERSION}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    log(`error: unknown command '${name.replace(/[^\x20-\x7e]/g, '?')}' (commands: ${Object.keys(commands).join(', ')}; resnet-stream --help)`);
    return 2;
  }
  try {
    await command(rest);
    return 0;
  } catch (e) {
    if (process.env.RESNET_STREAM_DEBUG) console.error(e);
    log(errorLine(e));
    return e instanceof UsageError ? 2 : 1;
  }
}

// Anything that escapes main (a rejected promise in a callback, an exception in an event handler)
// is still one line and exit 1.
const fatal = (e: unknown) => {
  if (process.env.RESNET_STREAM_DEBUG) console.error(e);
  log(errorLine(e));
  process.exit(1);
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

// Dawn keeps the event loop alive; exit explicitly once the command is done.
main(process.argv.slice(2)).then((code) => process.exit(code), fatal);
