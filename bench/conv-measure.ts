// The kernel tuner's measurement (src/model/tune.ts measureKernels) over chosen convolutions of
// ResNet18, one adapter per process (bench/conv-measure.mjs bundles and runs this): each
// convolution's candidates timed exactly as a forward dispatches them (multi-dispatch variants
// included, with their scratch and derived filters), interleaved, medians. Prints a table and one
// JSON line with the load average before and after. `--without-subgroups` makes the device from an
// adapter that does not offer 'subgroups': the kernels a page gets in Chromium's compatibility
// mode, on the same driver (bench/core/withhold.ts); `--compat` withholds it and hides the
// adapter's info as that mode does (asCompatibilityMode), so the kernels take their forms for an
// unknown adapter, as in a page.

import { loadavg } from 'node:os';
import { GpuContext } from '../src/gpu/context';
import { type AdapterChoice, createNodeContext, resolveNodeGpu } from '../src/gpu/node';
import { CONV2D_VARIANTS, type Conv2dVariant, convShapeKey } from '../src/kernels/conv2d-variants';
import { ResNetEngine } from '../src/model/engine';
import { emptyKernelTable, measureKernels, scheduleConvs } from '../src/model/tune';
import { randomWeights } from '../src/weights/random';
import { flag, option } from './core/args';
import { asCompatibilityMode, withholdFeatures } from './core/withhold';

const adapter = option('adapter', 'lavapipe') as AdapterChoice;
const size = Number(option('size', '224'));
const batch = Number(option('batch', '1'));
const rounds = Number(option('rounds', '5'));
const variants = option('variants', CONV2D_VARIANTS.join(',')).split(',') as Conv2dVariant[];
/** 'k3s1': the 3x3 stride-1 convolutions only; 'k3s2': the 3x3 stride-2 ones; 'all': every convolution. */
const which = option('convs', 'k3s1');
const withoutSubgroups = flag('without-subgroups');
const compat = flag('compat');

async function main(): Promise<void> {
  const load = [loadavg()];
  const ctx = compat
    ? await GpuContext.create({ gpu: asCompatibilityMode((await resolveNodeGpu(adapter)).gpu), featureLevel: 'compatibility' })
    : withoutSubgroups
      ? await GpuContext.create({ gpu: withholdFeatures((await resolveNodeGpu(adapter)).gpu, ['subgroups']) })
      : await createNodeContext(adapter);
  const engine = await ResNetEngine.create({ context: ctx });
  engine.loadWeights(randomWeights(1)); // planning needs weights; the timings use their own random data
  const schedule = engine.plan(batch, size, size, ['fc']).schedule;
  const geometries = [...new Map(scheduleConvs(schedule).map(({ geometry }) => [convShapeKey(geometry), geometry])).values()]
    .filter((g) => which === 'all' || (g.kernel === 3 && g.stride === (which === 'k3s2' ? 2 : 1)));
  const table = await measureKernels(ctx, emptyKernelTable(ctx.adapter), geometries, {
    candidates: variants, rounds,
    onProgress: (done, total, key, m) => console.log(`${done}/${total} ${key}: ${Object.entries(m.ms).map(([v, ms]) => `${v} ${ms!.toPrecision(3)} ms`).join(', ')} -> ${m.variant}`),
  });
  load.push(loadavg());
  engine.dispose();
  console.log(JSON.stringify({ adapter: ctx.adapter.name, description: ctx.adapter.description, subgroups: ctx.device.features.has('subgroups'), featureLevel: ctx.adapter.featureLevel, size, batch, rounds, loadavg: load, shapes: table.shapes }));
}

main().catch((e) => { process.stderr.write(`conv-measure: ${(e as Error).message}\n`); process.exit(1); });
