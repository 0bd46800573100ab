// `resnet-stream fv`: feature visualisations as the paper's probes, from the command line.
//
//   resnet-stream fv --weights FILE --tap NAME --channels 0-63 [--steps 2560] [--seed N] [--out DIR]
//                    [--batch 64] [--size 224] [--adapter NAME] [--arch NAME]
//
// Writes DIR/unit<c>.png per channel (8-bit, as the paper saved them) and DIR/fv.json (per channel:
// the centre activation at the first and last step and of the saved PNG re-measured through the
// forward pass). A progress bar on stderr shows steps/s. The checkpoint may hold any torchvision
// ResNet (recognised from its tensors); --tap names one of its taps. src/cli/main.ts dispatches 'fv' here.

import cliProgress from 'cli-progress';
import { checkAdapterOption, openNodeContext } from '../cli/adapter';
import { allTapNames } from '../model/architecture';
import { architectureOf } from '../model/family';
import { runFv } from '../featureviz/fv-node';
import { UsageError, parseArgs } from './args';
import { checkArchOption, readWeights } from './checkpoint';

export const FV_USAGE = `resnet-stream fv --weights FILE --tap NAME --channels 0-63 [--steps 2560] [--seed N] [--out DIR]
                 [--batch 64] [--size 224] [--adapter NAME]
  one feature visualisation per channel of the tap (Lucent's render_vis with the paper's settings),
  optimised --batch channels at a time; PNGs and fv.json go to --out`;

/** '0-63', '3,7,9', '0-3,10' -> channel list (sorted, unique). */
export function parseChannels(spec: string): number[] {
  const out = new Set<number>();
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new UsageError(`--channels: '${part}' is not a channel or a range like 0-63`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new UsageError(`--channels: range '${part}' runs backwards`);
    for (let c = lo; c <= hi; c++) out.add(c);
  }
  if (!out.size) throw new UsageError('--channels is empty');
  return [...out].sort((a, b) => a - b);
}

function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, not '${value}'`);
  return n;
}

export async function fvCommand(argv: string[]): Promise<void> {
  const args = parseArgs(argv, { values: ['weights', 'arch', 'tap', 'channels', 'steps', 'seed', 'out', 'batch', 'size', 'adapter'] });
  const tap = args.values.get('tap');
  if (!tap) throw new UsageError('--tap NAME is required');
  if (tap === 'input' || tap === 'fc') throw new UsageError(`--tap '${tap}' cannot be visualised`);
  const channelSpec = args.values.get('channels');
  if (!channelSpec) throw new UsageError('--channels (e.g. 0-63) is required');
  const channels = parseChannels(channelSpec);
  const steps = positiveInt(args.values.get('steps'), 'steps', 2560);
  const batchSize = positiveInt(args.values.get('batch'), 'batch', 64);
  const size = positiveInt(args.values.get('size'), 'size', 224);
  const seedText = args.values.get('seed');
  const seed = seedText === undefined ? 0 : Number(seedText);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, not '${seedText}'`);
  const adapter = args.values.get('adapter');
  checkAdapterOption(adapter);
  checkArchOption(args.values.get('arch'));

  const { checkpoint } = await readWeights({ weights: args.values.get('weights'), arch: args.values.get('arch') });
  // The taps are the checkpoint's network's (any member of the family).
  const architecture = architectureOf(checkpoint.architecture);
  const taps = allTapNames(architecture).filter((t) => t !== 'input' && t !== 'fc');
  if (!taps.includes(tap)) throw new UsageError(`--tap '${tap}' cannot be visualised in ${architecture.name}; taps: ${taps.join(', ')}`);
  const ctx = await openNodeContext(adapter);
  process.stderr.write(`${channels.length} channels of ${tap}, ${steps} steps, batches of ${batchSize}\n`);
  const bar = new cliProgress.SingleBar({
    format: 'fv batch {batch} |{bar}| {value}/{total} steps | {rate} steps/s | ETA {eta_formatted}',
    hideCursor: true, stream: process.stderr, noTTYOutput: true, notTTYSchedule: 5000,
  }, cliProgress.Presets.shades_classic);
  let current = -1;
  try {
    const report = await runFv({
      ctx, weights: checkpoint.tensors, architecture, tap, channels, steps, seed, size, batchSize, outDir: args.values.get('out'),
      onProgress: (p) => {
        if (p.batchIndex !== current) {
          if (current >= 0) bar.stop();
          current = p.batchIndex;
          bar.start(p.steps, 0, { batch: `${p.batchIndex + 1}/${p.batches}`, rate: '-' });
        }
        bar.update(p.step, { batch: `${p.batchIndex + 1}/${p.batches}`, rate: (p.step / (p.elapsedMs / 1000)).toFixed(2) });
      },
    });
    bar.stop();
    const raised = report.channels.filter((c) => c.activationPng > c.activationFirst).length;
    process.stderr.write(`${report.stepsPerSecond.toFixed(2)} steps/s (batches of ${batchSize}); ` +
      `${raised}/${report.channels.length} saved PNGs drive their unit above its first-step value\n`);
    if (!args.values.get('out')) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    bar.stop();
    ctx.destroy();
  }
}
