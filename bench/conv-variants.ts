// The conv2d variant micro-benchmark, one adapter per process (bench/conv-variants.mjs bundles
// and runs this): ResNet18's 20 convolutions at their real shapes (batch 1, 224 x 224 input),
// every conv2d variant on each ('gemm' and the Winograd kernels as a forward dispatches them, with
// their scratch and, for Winograd, the transformed filter of the tile that runs), interleaved (A B, then B A, ...), wall-clock ms
// per dispatch waited for with onSubmittedWorkDone; then whole batch-1 forwards (logits read back),
// one engine per variant on one context, interleaved the same way. Prints one JSON line on stdout.
// Besides wall-clock time it records the process's CPU time per dispatch (process.cpuUsage: the
// CPU drivers run the kernels on threads of this process), which time slicing by other processes'
// load stretches far less than wall-clock time. 'f16' (where the adapter has 'shader-f16') is the
// direct kernel with f16 weights (precision 'f16').

import { createNodeContext, type AdapterChoice } from '../src/gpu/node';
import { CONV2D_VARIANTS, type Conv2dVariant, conv2dDispatch, conv2dVariantFor, packConv2dWeights, packConv2dWeightsF16, supportsF16, type Conv2dShape } from '../src/kernels/conv2d';
import { type WinogradTile, conv2dVariantRun, gemmScratchBytes, isWinogradVariant, winogradScratchBytes, winogradTileOf } from '../src/kernels/conv2d-variants';
import { winogradFilter } from '../src/kernels/conv2d-winograd';
import type { GpuContext } from '../src/gpu/context';
import { ResNetEngine } from '../src/model/engine';
import { convStepDispatches } from '../src/model/forward';
import { allConvs, spatialPlan, STEM } from '../src/model/architecture';
import { randomWeights } from '../src/weights/random';
import { mulberry32 } from '../src/util/random';

type Candidate = Conv2dVariant | 'f16';
interface Args { adapter: AdapterChoice; reps: number; forwardReps: number; size: number; variants: Candidate[]; layers: string | null }

function parseArgs(argv: string[]): Args {
  const get = (name: string) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : undefined; };
  const variants = (get('variants') ?? [...CONV2D_VARIANTS, 'f16'].join(',')).split(',') as Candidate[];
  for (const v of variants) if (v !== 'f16' && !CONV2D_VARIANTS.includes(v)) throw new Error(`unknown variant '${v}' (expected ${CONV2D_VARIANTS.join(', ')}, f16)`);
  return {
    adapter: (get('adapter') ?? 'swiftshader') as AdapterChoice,
    reps: Number(get('reps') ?? 5),
    forwardReps: Number(get('forward-reps') ?? 5),
    size: Number(get('size') ?? 224),
    variants,
    layers: get('layers') ?? null,
  };
}

/** The input size (square) of each convolution of ResNet18 for a size x size image. */
function convShapes(size: number): { name: string; shape: Conv2dShape }[] {
  const plan = spatialPlan(size, size);
  const out: { name: string; shape: Conv2dShape }[] = [];
  for (const spec of allConvs()) {
    let inSize: number;
    if (spec === STEM) inSize = size;
    else {
      const m = /^layer(\d)\.(\d)\./.exec(spec.conv)!;
      const blockIndex = (Number(m[1]) - 1) * 2 + Number(m[2]);
      const blockInput = blockIndex === 0 ? plan.pooled[0] : plan.blocks[blockIndex - 1][0];
      // conv1 and the downsample read the block input; conv2 reads the block's own size.
      inSize = spec.conv.endsWith('conv2') ? plan.blocks[blockIndex][0] : blockInput;
    }
    out.push({ name: spec.conv, shape: { batch: 1, inChannels: spec.inChannels, inHeight: inSize, inWidth: inSize, outChannels: spec.outChannels, kernel: spec.kernel, stride: spec.stride, padding: spec.padding } });
  }
  return out;
}

/**
 * The split-K scratch of 'gemm', and the Winograd kernels' U (one per tile that runs: F(2x2) and
 * F(4x4) filters differ) and their two scratch buffers (sized for the larger need), where those run.
 */
function multiDispatchBuffers(ctx: GpuContext, name: string, shape: Conv2dShape, w: Float32Array, variants: Candidate[]):
  { scratch?: GPUBuffer; products?: GPUBuffer; winograd: Partial<Record<WinogradTile, GPUBuffer>> } {
  const out: { scratch?: GPUBuffer; products?: GPUBuffer; winograd: Partial<Record<WinogradTile, GPUBuffer>> } = { winograd: {} };
  const gemm = variants.includes('gemm') ? gemmScratchBytes(shape) : 0;
  const tiles = [...new Set(variants.flatMap((v) => {
    const run = v === 'f16' ? 'direct' : conv2dVariantRun(v, shape);
    return isWinogradVariant(run) ? [winogradTileOf(run)] : [];
  }))];
  let scratch = gemm;
  let products = 0;
  for (const tile of tiles) {
    const bytes = winogradScratchBytes(shape, tile);
    out.winograd[tile] = ctx.createStorageBuffer(`${name} bench Winograd F(${tile}x${tile}) filter`, winogradFilter(w, shape, tile));
    scratch = Math.max(scratch, bytes.input);
    products = Math.max(products, bytes.products);
  }
  if (scratch) out.scratch = ctx.createStorageBuffer(`${name} bench ${tiles.length ? 'Winograd input / ' : ''}split-K scratch`, new Float32Array(scratch / 4));
  if (products) out.products = ctx.createStorageBuffer(`${name} bench Winograd products`, new Float32Array(products / 4));
  return out;
}

const median = (a: number[]) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
/** The order of the variants in repetition r: rotated each time, so none always runs first. */
const orderFor = <T>(items: T[], r: number) => items.map((_, i) => items[(i + r) % items.length]);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const ctx = await createNodeContext(args.adapter);
  const log = (s: string) => process.stderr.write(`[${args.adapter}] ${s}\n`);
  log(`adapter ${ctx.adapter.name} (${ctx.adapter.description}); default variant ${conv2dVariantFor(ctx.adapter)}`);
  const rng = mulberry32(2026);
  const rand = (n: number) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = rng() * 2 - 1; return a; };
  if (!supportsF16(ctx)) args.variants = args.variants.filter((v) => v !== 'f16');
  const layers = convShapes(args.size).filter((l) => !args.layers || args.layers.split(',').includes(l.name));

  // 1. Per layer: every variant's dispatch on the same buffers, interleaved.
  const perLayer: { name: string; shape: Conv2dShape; ms: Record<string, number[]>; cpuMs: Record<string, number[]> }[] = [];
  for (const { name, shape } of layers) {
    const [oh, ow] = [Math.floor((shape.inHeight + 2 * shape.padding - shape.kernel) / shape.stride) + 1, Math.floor((shape.inWidth + 2 * shape.padding - shape.kernel) / shape.stride) + 1];
    const w = rand(shape.outChannels * shape.inChannels * shape.kernel ** 2);
    const { winograd, ...multi } = multiDispatchBuffers(ctx, name, shape, w, args.variants);
    const bufs = {
      input: ctx.createStorageBuffer(`${name} bench input`, rand(shape.inChannels * shape.inHeight * shape.inWidth)),
      weights: ctx.createStorageBuffer(`${name} bench weights`, packConv2dWeights(w, shape)),
      weightsF16: ctx.createStorageBuffer(`${name} bench weights (f16)`, new Uint32Array(packConv2dWeightsF16(w, shape).buffer)),
      scale: ctx.createStorageBuffer(`${name} bench scale`, new Float32Array(shape.outChannels).fill(1)),
      shift: ctx.createStorageBuffer(`${name} bench shift`, new Float32Array(shape.outChannels)),
      output: ctx.createStorageBuffer(`${name} bench output`, new Float32Array(shape.outChannels * oh * ow)),
      ...multi,
    };
    // 'gemm' and the Winograd kernels as a forward runs them (convStepDispatches: their scratch, U of the tile that runs).
    const dispatches = new Map(args.variants.map((v) => {
      if (v === 'f16') return [v, [conv2dDispatch(ctx, shape, { ...bufs, weights: bufs.weightsF16 }, { relu: true, precision: 'f16' }, `${name} (f16)`)]];
      const run = conv2dVariantRun(v, shape);
      const weights = isWinogradVariant(run) ? winograd[winogradTileOf(run)]! : bufs.weights;
      return [v, [convStepDispatches(ctx, { ...shape, groups: 1 }, { ...bufs, weights }, { variant: run, relu: true, precision: 'f32' }, `${name} (${v})`)].flat()];
    }));
    const ms: Record<string, number[]> = Object.fromEntries(args.variants.map((v) => [v, []]));
    const cpuMs: Record<string, number[]> = Object.fromEntries(args.variants.map((v) => [v, []]));
    for (const v of args.variants) { ctx.run(dispatches.get(v)!); await ctx.finish(); } // compile + warm
    for (let r = 0; r < args.reps; r++) {
      for (const v of orderFor(args.variants, r)) {
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        ctx.run(dispatches.get(v)!);
        await ctx.finish();
        const c = process.cpuUsage(c0);
        ms[v].push(performance.now() - t0);
        cpuMs[v].push((c.user + c.system) / 1000);
      }
    }
    for (const b of [...Object.values(bufs), ...Object.values(winograd)]) b.destroy();
    perLayer.push({ name, shape, ms, cpuMs });
    log(`${name}: ${args.variants.map((v) => `${v} ${median(ms[v]).toFixed(1)} ms (cpu ${median(cpuMs[v]).toFixed(1)})`).join(', ')}`);
  }

  // 2. Whole forward (batch 1, logits read back): one engine per variant on the shared context,
  //    each plan built while its variant is forced (plans keep their dispatches).
  const forward: Record<string, number[]> = Object.fromEntries(args.variants.map((v) => [v, []]));
  const forwardCpu: Record<string, number[]> = Object.fromEntries(args.variants.map((v) => [v, []]));
  if (args.forwardReps > 0) {
    const weights = randomWeights(20261129);
    const input = { shape: [1, 3, args.size, args.size], data: rand(3 * args.size * args.size) };
    const engines = new Map<Candidate, ResNetEngine>();
    const logits = new Map<Candidate, Float32Array>();
    for (const v of args.variants) {
      const engine = await ResNetEngine.create(v === 'f16'
        ? { context: ctx, convVariant: 'direct', precision: 'f16' }
        : { context: ctx, convVariant: v });
      engine.loadWeights(weights);
      engine.plan(1, args.size, args.size, ['fc']);
      engines.set(v, engine);
      logits.set(v, (await engine.forward(input)).get('fc')!.data); // warm-up
    }
    for (let r = 0; r < args.forwardReps; r++) {
      for (const v of orderFor(args.variants, r)) {
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        await engines.get(v)!.forward(input);
        const c = process.cpuUsage(c0);
        forward[v].push(performance.now() - t0);
        forwardCpu[v].push((c.user + c.system) / 1000);
      }
    }
    const base = logits.get(args.variants[0])!;
    let scale = 0; for (const x of base) scale = Math.max(scale, Math.abs(x));
    for (const v of args.variants) {
      let worst = 0; const l = logits.get(v)!;
      for (let i = 0; i < l.length; i++) worst = Math.max(worst, Math.abs(l[i] - base[i]));
      log(`forward ${v}: median ${median(forward[v]).toFixed(1)} ms (cpu ${median(forwardCpu[v]).toFixed(1)}); logits vs ${args.variants[0]}: ${(worst / scale).toExponential(1)}`);
    }
    for (const e of engines.values()) e.dispose();
  }
  const { loadavg } = await import('node:os');
  process.stdout.write(`${JSON.stringify({ adapter: ctx.adapter, defaultVariant: conv2dVariantFor(ctx.adapter), args, perLayer, forward, forwardCpu, loadavg: loadavg() })}\n`);
  ctx.destroy();
}

main().catch((e) => { process.stderr.write(`conv-variants: ${(e as Error).message}\n`); process.exit(1); });
