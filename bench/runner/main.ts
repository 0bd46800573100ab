// The benchmark orchestrator (bundled to bench/.build/runner.mjs; entry: bench/run.mjs, `npm run bench`).
// Runs every configuration this machine supports, one after the other (never two at once: the
// machine's cores are the adapter):
//   chromium-swiftshader   headless Chromium, core WebGPU on SwiftShader
//   chromium-lavapipe      headless Chromium, WebGPU compatibility mode on ANGLE/Vulkan/lavapipe
//   node-swiftshader       Node + Dawn (npm webgpu), SwiftShader
//   node-lavapipe          Node + Dawn, lavapipe (Mesa 25)
//   node-default           Node + Dawn, whatever Vulkan driver the loader finds (a real GPU; opt-in)
// and writes bench/results/<date>-<config>.{json,md,svg} plus <date>-summary.md; with --arch (another
// member of torchvision's family than ResNet18) <date>-<config>-<arch>.* and <date>-summary-<arch>.md.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem, type as osType, release as osRelease } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { chromiumAvailable, lavapipeIcd, openBrowserPage, withTimeout } from '../../test/helpers/browser';
import type { EngineName, EnvResult, ModelResult, Step, Variant } from '../core/suite';
import { CONV2D_VARIANTS } from '../../src/kernels/conv2d-variants';
import { RESNET18 } from '../../src/model/architecture';
import { FAMILY_NAMES, architectureOf } from '../../src/model/family';
import type { TimingPlan } from '../core/stats';
import { DEFAULT_INPUT_SEED, DEFAULT_WEIGHT_SEED, FAMILY_WEIGHT_DESCRIPTION, WEIGHT_DESCRIPTION } from '../core/weights';
import type { MatmulResult } from '../matmul';
import { prepareData } from './data';
import { type ConfigResult, archOf, writeReports, writeSummary } from './report';

type ConfigId = 'chromium-swiftshader' | 'chromium-lavapipe' | 'node-swiftshader' | 'node-lavapipe' | 'node-default';

interface Config {
  id: ConfigId;
  kind: 'browser' | 'node';
  adapter: 'swiftshader' | 'lavapipe' | 'default';
  featureLevel: 'core' | 'compatibility';
  label: string;
}

const CONFIGS: Config[] = [
  { id: 'chromium-swiftshader', kind: 'browser', adapter: 'swiftshader', featureLevel: 'core', label: 'Chromium / SwiftShader' },
  { id: 'chromium-lavapipe', kind: 'browser', adapter: 'lavapipe', featureLevel: 'compatibility', label: 'Chromium compat mode / ANGLE-Vulkan / lavapipe' },
  { id: 'node-swiftshader', kind: 'node', adapter: 'swiftshader', featureLevel: 'core', label: 'Node + Dawn / SwiftShader' },
  { id: 'node-lavapipe', kind: 'node', adapter: 'lavapipe', featureLevel: 'core', label: 'Node + Dawn / lavapipe' },
  { id: 'node-default', kind: 'node', adapter: 'default', featureLevel: 'core', label: 'Node + Dawn / default Vulkan adapter' },
];
const DEFAULT_CONFIGS: ConfigId[] = ['chromium-swiftshader', 'chromium-lavapipe', 'node-swiftshader', 'node-lavapipe'];
const ALL_ENGINES: EngineName[] = ['ours', 'tfjs-webgpu', 'ort-webgpu', 'ort-wasm'];


export interface Options {
  /** torchvision's constructor name of the network every engine runs (src/model/family.ts). */
  arch: string;
  configs: ConfigId[];
  engines: EngineName[];
  /** Our engine's convolution kernel (its `convVariant` option); undefined: the engine's own choice. */
  convVariant?: string;
  /** Our engine's `winogradStride2` option; undefined: the engine's choice per adapter. */
  winogradStride2?: boolean;
  /** Appended to the results' configuration id and label: a second run of a configuration on one date. */
  tag?: string;
  size: number;
  runs: number;
  warmups: number;
  throughputRuns: number;
  throughputWarmups: number;
  throughputBudget: number;
  batches: number[];
  matmulSize: number;
  matmulRuns: number;
  quick: boolean;
  reduced: boolean;
  outDir: string;
  echoPage: boolean;
  timeoutMinutes: number;
  weightSeed: number;
  inputSeed: number;
  mode: string;
  nodeBench: string;
  verifyOnly: boolean;
}

const HELP = `npm run bench -- [options]        (or: node bench/run.mjs [options])

Runs our engine and the peers (tfjs-webgpu, ONNX Runtime Web WebGPU, ORT wasm as CPU reference) on
the same random weights and input, in every configuration available here, and writes
bench/results/<date>-<config>.{json,md,svg} and <date>-summary.md.

  --arch NAME         the network: ${FAMILY_NAMES.join(', ')} (default resnet18);
                      results of another than resnet18 are named <date>-<config>-NAME.*, with their own
                      <date>-summary-NAME.md; tfjs has no grouped convolution, so it is not run on resnext*
  --only a,b          configurations: ${CONFIGS.map((c) => c.id).join(', ')}
                      (default: the first four that are installed; node-default is opt-in: a real GPU)
  --engines a,b       ${ALL_ENGINES.join(', ')} (default: all)
  --conv-variant V    our engine's convolution kernel: direct, rows, gemm, winograd or winograd4 (default: its choice per
                      adapter), or measured (each layer's kernel timed on the adapter, the fastest
                      kept); the results' configuration id gets '-V' appended
  --winograd-stride2 on|off
                      our engine's winogradStride2 (F(4x4, 3x3) for the 3x3 stride-2 convolutions where
                      its variant is winograd4 or winograd-mixed; default: its choice per adapter, on
                      where compatibility mode hides the adapter); name the run with --tag
  --tag T             appended to the results' configuration id ('-T') and label: another run of a
                      configuration on a date that has one, kept beside it
  --runs N            timed runs per batch-1 measure (default 20), after --warmups N (default 3)
  --batches 8,32      throughput batches of our engine (default 8,32; 'none' to skip)
  --throughput-runs N timed runs per throughput measure (default = --runs)
  --throughput-budget S  skip a throughput measure estimated to take longer than S seconds (default 900)
  --size N            input size N x N (default 224)
  --matmul N          matmul size (default 1024)
  --reduced           documented reduced mode for slow adapters: 10 runs after 2 warm-ups, throughput
                      with 5 runs after 1 warm-up; results are labelled 'reduced'
  --quick             development: 3 runs after 1 warm-up, no throughput, matmul 512; results go to
                      bench/.build/results (not bench/results) unless --out is given
  --verify-only       check every engine's logits against the float64 reference (and each other),
                      no timing; default size 64; results to bench/.build/results
  --out DIR           results folder
  --echo              echo the page's console
  --timeout-minutes M longest one configuration may take (default 120)
  --prepare-data      measure nothing: write the weights, input and float64 reference logits of --arch
                      at --size into bench/.build/data (bench/device.sh prepares the GPU run so)
  --report-only       measure nothing: rewrite the .md/.svg of every <date>-*.json in the results
                      folder and the summary (after copying in results from bench/device.sh, say);
                      --date YYYY-MM-DD (default today)
  --seed N            weight seed (default ${DEFAULT_WEIGHT_SEED}); --input-seed N (default ${DEFAULT_INPUT_SEED})
`;

export function parseArgs(argv: string[], root: string): Options {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const has = (name: string) => argv.includes(`--${name}`);
  if (has('help') || has('h')) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const verifyOnly = has('verify-only');
  const quick = has('quick') || verifyOnly;
  const reduced = has('reduced');
  const num = (name: string, fallback: number) => {
    const v = get(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} wants a number, got '${v}'`);
    return n;
  };
  const runs = verifyOnly ? 0 : num('runs', quick ? 3 : reduced ? 10 : 20);
  const warmups = verifyOnly ? 0 : num('warmups', quick ? 1 : reduced ? 2 : 3);
  const only = get('only');
  const configs = (only ? only.split(',') : DEFAULT_CONFIGS) as ConfigId[];
  for (const c of configs) if (!CONFIGS.some((k) => k.id === c)) throw new Error(`unknown configuration '${c}'`);
  const engines = (get('engines')?.split(',') ?? ALL_ENGINES) as EngineName[];
  for (const e of engines) if (!ALL_ENGINES.includes(e)) throw new Error(`unknown engine '${e}'`);
  const batchesArg = get('batches');
  const batches = batchesArg === 'none' || verifyOnly ? [] : (batchesArg?.split(',').map(Number) ?? (quick ? [] : [8, 32]));
  for (const b of batches) if (!Number.isInteger(b) || b < 2) throw new Error(`--batches wants integers >= 2, got ${batchesArg}`);
  const mode = verifyOnly ? 'verify-only' : quick ? 'quick' : reduced ? 'reduced' : (has('runs') || has('warmups')) ? 'custom' : 'full';
  const convVariant = get('conv-variant');
  const choices = [...CONV2D_VARIANTS, 'measured'];
  if (convVariant !== undefined && !choices.includes(convVariant)) throw new Error(`--conv-variant wants ${choices.join(', ')}, got '${convVariant}'`);
  const stride2 = get('winograd-stride2');
  if (stride2 !== undefined && stride2 !== 'on' && stride2 !== 'off') throw new Error(`--winograd-stride2 wants on or off, got '${stride2}'`);
  const tag = get('tag');
  if (tag !== undefined && !/^[a-z0-9][a-z0-9-]*$/.test(tag)) throw new Error(`--tag wants lower-case letters, digits and '-', got '${tag}'`);
  const arch = get('arch') ?? RESNET18.name;
  if (!FAMILY_NAMES.includes(arch)) throw new Error(`--arch wants one of ${FAMILY_NAMES.join(', ')}, got '${arch}'`);
  return {
    arch,
    configs,
    engines,
    convVariant,
    ...(stride2 !== undefined ? { winogradStride2: stride2 === 'on' } : {}),
    tag,
    size: num('size', verifyOnly ? 64 : 224),
    runs,
    warmups,
    throughputRuns: num('throughput-runs', reduced ? 5 : runs),
    throughputWarmups: num('throughput-warmups', reduced ? 1 : warmups),
    throughputBudget: num('throughput-budget', 900),
    batches,
    matmulSize: verifyOnly ? 0 : num('matmul', quick ? 512 : 1024),
    matmulRuns: num('matmul-runs', quick ? 3 : runs),
    quick,
    reduced,
    outDir: resolve(get('out') ?? join(root, quick ? 'bench/.build/results' : 'bench/results')),
    echoPage: has('echo'),
    timeoutMinutes: num('timeout-minutes', 120),
    weightSeed: num('seed', DEFAULT_WEIGHT_SEED),
    inputSeed: num('input-seed', DEFAULT_INPUT_SEED),
    mode,
    nodeBench: resolve(get('node-bench') ?? join(root, 'bench/.build/node-bench.mjs')),
    verifyOnly,
  };
}

function unavailable(config: Config): string | null {
  if (config.kind === 'browser' && !chromiumAvailable()) return 'no Chromium: none on this system and no npm-shipped one';
  if (config.adapter === 'lavapipe' && !lavapipeIcd()) return 'lavapipe (Mesa Vulkan drivers) not installed';
  return null;
}

/** The results' file tag: the configuration, or for node-default the adapter's vendor (node-nvidia). */
function resultId(config: Config, env: EnvResult | undefined, arch: string, convVariant?: string, tag?: string): string {
  const suffix = `${arch === RESNET18.name ? '' : `-${arch}`}${convVariant ? `-${convVariant}` : ''}${tag ? `-${tag}` : ''}`;
  if (config.id !== 'node-default') return `${config.id}${suffix}`;
  const vendor = (env?.adapter?.vendor || env?.adapter?.description || 'default').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return `node-${vendor || 'default'}${suffix}`;
}

function localDate(): string {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function buildSteps(opts: Options, data: ReturnType<typeof prepareData>): Step[] {
  const plan: TimingPlan = { warmups: opts.warmups, runs: opts.runs };
  const throughputPlan: TimingPlan = { warmups: opts.throughputWarmups, runs: opts.throughputRuns };
  const steps: Step[] = [{ kind: 'env' }];
  const paths = { weights: data.weightsPath, input: data.inputPath, referenceLogits: data.referenceLogits };
  for (const engine of opts.engines) {
    const variants: Variant[] = [{ id: 'b1', batch: 1, taps: 'fc' }];
    if (engine === 'ours') {
      variants.push({ id: 'b1-all-taps', batch: 1, taps: 'all' }, { id: 'b1-all-taps-reused', batch: 1, taps: 'all', reuse: true });
      for (const b of opts.batches) variants.push({ id: `b${b}`, batch: b, taps: 'fc' });
    }
    steps.push({
      kind: 'model', engine, arch: opts.arch, size: opts.size, data: paths, variants, plan, throughputPlan,
      throughputBudgetSeconds: opts.throughputBudget,
      ...(engine === 'ours' && opts.convVariant ? { convVariant: opts.convVariant } : {}),
      ...(engine === 'ours' && opts.winogradStride2 !== undefined ? { winogradStride2: opts.winogradStride2 } : {}),
    });
  }
  if (opts.matmulSize > 0) steps.push({ kind: 'matmul', size: opts.matmulSize, plan: { warmups: Math.min(opts.warmups, 2), runs: opts.matmulRuns } });
  return steps;
}

async function runBrowserConfig(config: Config, steps: Step[], opts: Options, log: (s: string) => void):
  Promise<{ results: unknown[]; browserVersion: string; consoleErrors: string[]; args: string[] }> {
  const shaderCache = mkdtempSync(join(tmpdir(), 'resnet-stream-mesa-cache-'));
  const session = await openBrowserPage({
    adapter: config.adapter === 'lavapipe' ? 'lavapipe' : 'swiftshader',
    echoConsole: opts.echoPage,
    env: { MESA_SHADER_CACHE_DIR: shaderCache },
    protocolTimeoutMs: opts.timeoutMinutes * 60_000,
  });
  try {
    session.page.on('console', (msg) => {
      const text = msg.text();
      if (!opts.echoPage && text.startsWith('[bench] ')) log(text.slice(8));
    });
    const query = config.featureLevel === 'compatibility' ? '?featureLevel=compatibility' : '';
    await session.page.goto(session.url(`/bench/page/index.html${query}`), { waitUntil: 'load', timeout: 60_000 });
    await session.page.waitForFunction('window.bench && window.bench.ready', { timeout: 60_000 });
    const browserVersion = `${await session.browser.version()} (${session.chromium})`;
    const results: unknown[] = [];
    const deadline = Date.now() + opts.timeoutMinutes * 60_000;
    for (const step of steps) {
      const left = deadline - Date.now();
      if (left <= 0) {
        results.push({ error: `not run: the configuration's ${opts.timeoutMinutes} min timeout was spent` });
        continue;
      }
      try {
        results.push(await withTimeout(
          session.page.evaluate((s) => (window as unknown as { bench: { runStep(s: unknown): Promise<unknown> } }).bench.runStep(s), step),
          left, `step ${step.kind}`));
      } catch (e) {
        results.push({ error: String((e as Error).message ?? e) });
        log(`step ${step.kind} failed: ${(e as Error).message}`);
        if (/timed out|Target closed|Session closed|detached/i.test(String((e as Error).message))) break;
      }
    }
    return { results, browserVersion, consoleErrors: [...session.consoleErrors], args: session.args };
  } finally {
    await session.close();
    rmSync(shaderCache, { recursive: true, force: true });
  }
}

async function runNodeConfig(config: Config, steps: Step[], opts: Options, root: string, log: (s: string) => void):
  Promise<{ results: unknown[]; stderrTail: string[] }> {
  const work = mkdtempSync(join(tmpdir(), 'resnet-stream-node-bench-'));
  const stepsPath = join(work, 'steps.json');
  const outPath = join(work, 'results.json');
  writeFileSync(stepsPath, JSON.stringify(steps));
  const env: NodeJS.ProcessEnv = { ...process.env, MESA_SHADER_CACHE_DIR: join(work, 'mesa-cache') };
  const tail: string[] = [];
  try {
    const code = await new Promise<number | null>((ok) => {
      const child = spawn(process.execPath, [opts.nodeBench, '--adapter', config.adapter,
        '--steps', stepsPath, '--out', outPath], { cwd: root, env, stdio: ['ignore', 'inherit', 'pipe'] });
      let buffered = '';
      child.stderr.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line.startsWith('[bench] ')) log(line.slice(8));
          else if (line.trim()) {
            tail.push(line);
            if (tail.length > 40) tail.shift();
            if (opts.echoPage) log(`stderr: ${line}`);
          }
        }
      });
      const timer = setTimeout(() => {
        log(`timeout after ${opts.timeoutMinutes} min: killing the Node bench (pid ${child.pid})`);
        child.kill('SIGKILL');
      }, opts.timeoutMinutes * 60_000);
      child.on('exit', (c, signal) => {
        clearTimeout(timer);
        if (signal) tail.push(`exited on ${signal}`);
        ok(c);
      });
    });
    const results = existsSync(outPath) ? JSON.parse(readFileSync(outPath, 'utf8')) as unknown[] : [];
    if (code !== 0) tail.push(`node bench exited with code ${code}`);
    while (results.length < steps.length) results.push({ error: `not run: the Node bench stopped (${tail.slice(-3).join(' | ')})` });
    return { results, stderrTail: tail };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function reportOnly(outDir: string, date: string, log: (s: string) => void): number {
  const files = readdirSync(outDir).filter((f) => f.startsWith(`${date}-`) && f.endsWith('.json')).sort();
  const results: ConfigResult[] = [];
  for (const f of files) {
    const r = JSON.parse(readFileSync(join(outDir, f), 'utf8')) as ConfigResult;
    if (r.schema !== 1 || !r.config) continue;
    writeReports(r, outDir);
    results.push(r);
    log(`rewrote ${f.replace(/\.json$/, '')}.md/.svg`);
  }
  if (!results.length) {
    log(`no ${date}-*.json results in ${outDir}`);
    return 1;
  }
  // One summary per architecture (writeSummary keeps to the architecture of what it is given).
  for (const arch of new Set(results.map(archOf))) log(`wrote ${writeSummary(results.filter((r) => archOf(r) === arch), outDir, date)}`);
  return 0;
}

export async function main(argv: string[], root: string): Promise<number> {
  const opts = parseArgs(argv, root);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  if (argv.includes('--report-only')) {
    const i = argv.indexOf('--date');
    return reportOnly(opts.outDir, i >= 0 ? argv[i + 1] : localDate(), log);
  }
  // The build writes engine-status.json next to the Node bench it made (bench/.build or bench/.build/device).
  const statusPath = [join(dirname(opts.nodeBench), 'engine-status.json'), join(root, 'bench/.build/engine-status.json')].find(existsSync);
  const engineStatus = statusPath ? JSON.parse(readFileSync(statusPath, 'utf8')) as { engine: boolean; reason?: string }
    : { engine: false, reason: 'bench/.build/engine-status.json missing: run node bench/build.mjs' };
  if (!engineStatus.engine && opts.engines.includes('ours')) log(`NOTE: our engine is not in this build: ${engineStatus.reason}`);
  const arch = architectureOf(opts.arch);
  const data = prepareData(root, opts.weightSeed, opts.inputSeed, opts.size, log, arch);
  if (argv.includes('--prepare-data')) return 0;
  const steps = buildSteps(opts, data);
  const date = localDate();
  mkdirSync(opts.outDir, { recursive: true });
  const written: ConfigResult[] = [];
  for (const id of opts.configs) {
    const config = CONFIGS.find((c) => c.id === id)!;
    const why = unavailable(config);
    if (why) {
      log(`== ${config.id}: skipped: ${why}`);
      continue;
    }
    log(`== ${config.id} (${config.label}), mode ${opts.mode}`);
    const started = new Date().toISOString();
    const t0 = Date.now();
    const loadBefore = loadavg();
    let raw: unknown[] = [];
    let extra: Partial<ConfigResult> = {};
    try {
      if (config.kind === 'browser') {
        const r = await runBrowserConfig(config, steps, opts, (s) => log(`  ${s}`));
        raw = r.results;
        extra = { browserVersion: r.browserVersion, consoleErrors: r.consoleErrors, chromiumArgs: r.args };
      } else {
        const r = await runNodeConfig(config, steps, opts, root, (s) => log(`  ${s}`));
        raw = r.results;
        extra = { stderrTail: r.stderrTail };
      }
    } catch (e) {
      log(`  ${config.id} failed: ${(e as Error).message}`);
      extra = { error: String((e as Error).stack ?? e) };
    }
    const env = raw[0] as EnvResult | undefined;
    const models = steps.map((s, i) => (s.kind === 'model' ? (raw[i] as ModelResult | { error: string } | undefined) ?? { error: 'not run' } : null))
      .filter((m): m is ModelResult => m !== null).map((m, i) => ('engine' in m ? m : {
        engine: opts.engines[i], arch: opts.arch, size: opts.size, variants: [], notes: [], available: false, error: (m as { error: string }).error,
      } as ModelResult));
    const matmulIndex = steps.findIndex((s) => s.kind === 'matmul');
    const matmul = matmulIndex >= 0 ? raw[matmulIndex] as MatmulResult | { error: string } | undefined : undefined;
    const cpu = cpus();
    const result: ConfigResult = {
      schema: 1,
      date,
      started,
      durationSeconds: Math.round((Date.now() - t0) / 1000),
      config: {
        id: resultId(config, env, opts.arch, opts.convVariant, opts.tag), label: `${config.label}${opts.convVariant === 'measured' ? ', our convolution kernels chosen by measurement' : opts.convVariant ? `, our convolution kernel forced to '${opts.convVariant}'` : ''}${opts.tag ? ` (${opts.tag})` : ''}`, kind: config.kind, adapter: config.adapter, featureLevel: config.featureLevel,
        ...(config.id === 'chromium-lavapipe' ? { vulkanIcd: lavapipeIcd() ?? undefined } : {}),
      },
      mode: {
        name: opts.mode,
        ...(opts.mode !== 'full' ? { note: opts.quick ? 'quick development run: too few runs to quote' : opts.reduced
          ? 'reduced mode for slow adapters: fewer runs than the issue asks (>= 20); see each measure\'s n' : 'custom run counts' } : {}),
        warmups: opts.warmups, runs: opts.runs, throughputWarmups: opts.throughputWarmups, throughputRuns: opts.throughputRuns,
        throughputBudgetSeconds: opts.throughputBudget, batches: opts.batches, matmulSize: opts.matmulSize,
      },
      machine: {
        cores: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30),
        os: `${osType()} ${osRelease()}`, node: process.version,
        loadAverage1mBefore: Math.round(loadBefore[0] * 100) / 100, loadAverage1mAfter: Math.round(loadavg()[0] * 100) / 100,
      },
      engineBuild: engineStatus,
      data: {
        arch: arch.name, weightSeed: data.weightSeed, inputSeed: data.inputSeed, size: data.size,
        weights: arch.name === RESNET18.name ? WEIGHT_DESCRIPTION : FAMILY_WEIGHT_DESCRIPTION,
      },
      env: env ?? null,
      matmul: matmul ?? null,
      models,
      ...extra,
    };
    const files = writeReports(result, opts.outDir);
    log(`  wrote ${files.map((f) => f.replace(`${root}/`, '')).join(', ')}`);
    written.push(result);
  }
  if (written.length) {
    const summary = writeSummary(written, opts.outDir, date);
    log(`wrote ${summary.replace(`${root}/`, '')}`);
  }
  return written.length ? 0 : 1;
}
