// Results: one JSON (every measure, every sample), one Markdown table and one SVG plot per
// configuration, and a summary table over the configurations of a run, per architecture.

import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Architecture, RESNET18, allTapNames, expectedTensors, tapShape } from '../../src/model/architecture';
import { architectureOf, displayName } from '../../src/model/family';
import { type Agreement, LOGIT_TOLERANCE, compareLogits } from '../core/compare';
import { networkMacs } from '../core/flops';
import type { EngineName, EnvResult, ModelResult, VariantResult } from '../core/suite';
import type { MatmulResult } from '../matmul';

export interface ConfigResult {
  schema: 1;
  date: string;
  started: string;
  durationSeconds: number;
  config: { id: string; label: string; kind: 'browser' | 'node'; adapter: string; featureLevel: string; vulkanIcd?: string };
  mode: Record<string, unknown> & { name: string; note?: string };
  machine: {
    cores: number; cpuModel: string; memoryGiB: number; os: string; node: string;
    /** 1-minute load average before and after: the machine is shared; a high load makes the numbers slow. */
    loadAverage1mBefore?: number; loadAverage1mAfter?: number;
  };
  engineBuild: { engine: boolean; reason?: string };
  /** arch: torchvision's constructor name (absent in results from before other members ran: resnet18). */
  data: { arch?: string; weightSeed: number; inputSeed: number; size: number; weights: string };
  env: EnvResult | null;
  matmul: MatmulResult | { error: string } | null;
  models: ModelResult[];
  browserVersion?: string;
  chromiumArgs?: string[];
  consoleErrors?: string[];
  stderrTail?: string[];
  error?: string;
  /** Filled by writeReports. */
  agreement?: { a: EngineName; b: EngineName; relError: number; top1Agree: boolean; ok: boolean }[];
  targets?: Target[];
}

export interface Target {
  name: string;
  goal: string;
  measured: string;
  met: boolean | null;
  note?: string;
}

const ENGINE_LABEL: Record<EngineName, string> = {
  ours: 'resnet-stream (ours)',
  'tfjs-webgpu': 'tfjs 4.22 webgpu',
  'ort-webgpu': 'ONNX Runtime Web 1.30 WebGPU EP',
  'ort-wasm': 'ONNX Runtime Web 1.30 wasm EP (CPU)',
};

const fmt = (x: number | null | undefined, digits = 0): string => {
  if (x == null || !Number.isFinite(x)) return '-';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
};
const ms = (x: number | null | undefined) => fmt(x, x != null && x < 100 ? 1 : 0);

export function adapterName(r: ConfigResult): string {
  const a = r.env?.adapter;
  const parts = [a?.vendor, a?.architecture, a?.device, a?.description].filter(Boolean);
  if (parts.length) return parts.join(' / ');
  if (r.config.featureLevel === 'compatibility') {
    return `lavapipe through ANGLE/Vulkan, compatibility mode (adapter info is empty there; the Vulkan loader sees only ${r.config.vulkanIcd ?? 'lavapipe'})`;
  }
  return 'unknown';
}

/** A short adapter name for tables: 'SwiftShader', 'lavapipe (Mesa 25.0.7)', 'lavapipe via ANGLE (compat)', or the vendor's. */
export function shortAdapter(r: ConfigResult): string {
  const a = r.env?.adapter;
  const all = [a?.vendor, a?.architecture, a?.device, a?.description].filter(Boolean).join(' ');
  if (/swiftshader/i.test(all)) return 'SwiftShader';
  if (/llvmpipe|lavapipe/i.test(all)) return `lavapipe${/Mesa ([0-9.]+)/.exec(all) ? ` (Mesa ${/Mesa ([0-9.]+)/.exec(all)![1]})` : ''}`;
  if (r.config.featureLevel === 'compatibility') return 'lavapipe via ANGLE (compat)';
  return all || 'unknown';
}

/** The architecture of a result. */
export function archOf(r: ConfigResult): string {
  return r.data.arch ?? RESNET18.name;
}

function b1(m: ModelResult | undefined, id = 'b1'): VariantResult | undefined {
  return m?.variants.find((v) => v.id === id);
}

function matmulOk(m: ConfigResult['matmul']): m is MatmulResult {
  return !!m && !('error' in m && (m as { error?: string }).error);
}

/** Bytes of weights (float32) + every tap at batch 1: the denominator of the memory target. */
function weightsPlusActivations(size: number, arch: Architecture): number {
  let params = 0;
  for (const shape of expectedTensors(arch).values()) params += shape.reduce((a, b) => a * b, 1);
  let acts = 0;
  for (const t of allTapNames(arch)) acts += tapShape(t, 1, size, size, arch).reduce((a, b) => a * b, 1);
  return 4 * (params + acts);
}

function evaluate(r: ConfigResult): void {
  const byEngine = new Map(r.models.map((m) => [m.engine, m]));
  // Pairwise agreement of first-run logits.
  const withLogits = r.models.filter((m) => b1(m)?.logits);
  r.agreement = [];
  for (let i = 0; i < withLogits.length; i++) {
    for (let j = i + 1; j < withLogits.length; j++) {
      const a = withLogits[i];
      const b = withLogits[j];
      const g: Agreement = compareLogits(b1(a)!.logits!, b1(b)!.logits!);
      r.agreement.push({ a: a.engine, b: b.engine, relError: g.relError, top1Agree: g.top1Agree, ok: g.ok });
    }
  }
  const targets: Target[] = [];
  const ours = byEngine.get('ours');
  const oursB1 = b1(ours)?.timing?.median;
  const peers = (['tfjs-webgpu', 'ort-webgpu'] as EngineName[])
    .map((e) => ({ e, t: b1(byEngine.get(e))?.timing?.median }))
    .filter((p): p is { e: EngineName; t: number } => p.t != null);
  const fastest = peers.sort((x, y) => x.t - y.t)[0];
  if (oursB1 != null && fastest) {
    const ratio = oursB1 / fastest.t;
    targets.push({
      name: 'batch-1 latency', goal: '<= 0.5x the faster WebGPU peer (same run)',
      measured: `${ms(oursB1)} ms vs ${ENGINE_LABEL[fastest.e]} ${ms(fastest.t)} ms: ${ratio.toFixed(2)}x`,
      met: ratio <= 0.5, note: ratio <= 0.5 ? undefined : `missed: ${(ratio / 0.5).toFixed(2)}x slower than the target`,
    });
  } else {
    targets.push({ name: 'batch-1 latency', goal: '<= 0.5x the faster WebGPU peer (same run)', measured: oursB1 == null ? 'our engine not measured' : 'no WebGPU peer measured', met: null });
  }
  const eff = b1(ours)?.effectiveGflops;
  if (eff != null && matmulOk(r.matmul)) {
    const ratio = eff / r.matmul.gflops.median;
    targets.push({
      name: 'effective GFLOP/s', goal: '>= 80% of our best matmul', met: ratio >= 0.8,
      measured: `${fmt(eff, 2)} vs matmul ${fmt(r.matmul.gflops.median, 2)} GFLOP/s (medians; matmul best ${fmt(r.matmul.gflops.best, 2)}): ${(ratio * 100).toFixed(0)}%`,
    });
  } else {
    targets.push({ name: 'effective GFLOP/s', goal: '>= 80% of our best matmul', measured: 'not measured', met: null });
  }
  const taps = b1(ours, 'b1-all-taps')?.timing?.median;
  const reused = b1(ours, 'b1-all-taps-reused')?.timing?.median;
  const paired = ours?.interleavedTaps;
  if (paired) {
    // The per-round ratios of runs taken in turn: a drifting machine slows all three alike.
    targets.push({
      name: 'all taps read back', goal: '<= 1.3x the plain forward', met: paired.allTapsRatio <= 1.3,
      measured: `${paired.allTapsRatio.toFixed(2)}x (median per-round ratio, ${paired.rounds} interleaved rounds: plain ` +
        `${ms(paired.plain.median)}, all taps ${ms(paired.allTaps.median)} ms); into the previous run's arrays ` +
        `${paired.reusedRatio.toFixed(2)}x (${ms(paired.reused.median)} ms)` +
        (taps != null && oursB1 != null ? `; sequential medians ${ms(taps)} ms: ${(taps / oursB1).toFixed(2)}x` : ''),
    });
  } else if (taps != null && oursB1 != null) {
    const ratio = taps / oursB1;
    const intoArrays = reused != null ? `; into the previous run's arrays ${ms(reused)} ms: ${(reused / oursB1).toFixed(2)}x` : '';
    targets.push({ name: 'all taps read back', goal: '<= 1.3x the plain forward', measured: `${ms(taps)} ms: ${ratio.toFixed(2)}x${intoArrays}`, met: ratio <= 1.3 });
  } else {
    targets.push({ name: 'all taps read back', goal: '<= 1.3x the plain forward', measured: 'not measured', met: null });
  }
  const mem = b1(ours, 'b1-all-taps')?.memory;
  if (mem?.weightBytes != null && mem.poolPeakBytesInUse != null) {
    const peak = mem.weightBytes + mem.poolPeakBytesInUse;
    const base = weightsPlusActivations(r.data.size, architectureOf(archOf(r)));
    targets.push({
      name: 'peak GPU memory, batch 1, all taps', goal: '<= 2x (weights + activations)', met: peak <= 2 * base,
      measured: `${fmt(peak / 2 ** 20, 1)} MiB (weights ${fmt(mem.weightBytes / 2 ** 20, 1)} + pooled peak ${fmt(mem.poolPeakBytesInUse / 2 ** 20, 1)}) vs weights + every tap ${fmt(base / 2 ** 20, 1)} MiB: ${(peak / base).toFixed(2)}x`,
      note: 'pooled peak counts every plan alive at once (the batch-1 logits-only plan too), so it is an upper bound',
    });
  } else {
    targets.push({ name: 'peak GPU memory, batch 1, all taps', goal: '<= 2x (weights + activations)', measured: 'not reported', met: null });
  }
  r.targets = targets;
}

function timingCells(v: VariantResult | undefined): string[] {
  const t = v?.timing;
  if (!t) return ['-', '-', '-', '-'];
  return [ms(t.median), ms(t.min), ms(t.max), `${t.n}${t.reduced ? '*' : ''}`];
}

export function markdown(r: ConfigResult): string {
  const lines: string[] = [];
  const arch = architectureOf(archOf(r));
  lines.push(`# ${displayName(arch.name)} benchmark: ${r.config.label}, ${r.date}`);
  lines.push('');
  lines.push(`- Adapter: **${adapterName(r)}**${r.env?.adapter?.isFallbackAdapter ? ' (fallback adapter)' : ''}; feature level ${r.config.featureLevel}`);
  if (r.browserVersion) lines.push(`- Browser: ${r.browserVersion} (headless, fresh profile: cold shader caches)`);
  lines.push(`- Runtime: ${r.env?.userAgent ?? '-'}`);
  lines.push(`- Machine: ${r.machine.cores} cores (${r.machine.cpuModel}), ${r.machine.memoryGiB} GiB, ${r.machine.os}, Node ${r.machine.node}; ` +
    `1-min load average ${r.machine.loadAverage1mBefore ?? '-'} before, ${r.machine.loadAverage1mAfter ?? '-'} after (shared machine: load above 0 slows every engine alike)`);
  lines.push(`- Mode: **${r.mode.name}**${r.mode.note ? ` (${r.mode.note})` : ''}: batch-1 measures ${r.mode.runs} runs after ${r.mode.warmups} warm-ups; throughput ${r.mode.throughputRuns} after ${r.mode.throughputWarmups}`);
  lines.push(`- Input ${r.data.size} x ${r.data.size}, float32 NCHW, random (seed ${r.data.inputSeed}); weights: ${r.data.weights} (seed ${r.data.weightSeed}). Every engine runs the same tensors.`);
  lines.push(`- A run = upload the input, forward, read the logits (or taps) back to JS. Times in ms.`);
  if (!r.engineBuild.engine) lines.push(`- **Our engine is not in this build:** ${r.engineBuild.reason}`);
  if (r.env?.error) lines.push(`- **No adapter:** ${r.env.error}`);
  if (r.error) lines.push(`- **Configuration failed:** ${r.error.split('\n')[0]}`);
  lines.push('');
  lines.push('| engine | measure | setup | plan + pipelines | first run | median | min | max | n | images/s | eff. GFLOP/s | vs float64 ref |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  const notes: string[] = [];
  for (const m of r.models) {
    const label = ENGINE_LABEL[m.engine] ?? m.engine;
    if (!m.available || (m.error && !m.variants.length)) {
      lines.push(`| ${label} | - | - | - | - | - | - | - | - | - | - | ${m.error ? `not run: ${m.error.split('\n')[0].slice(0, 160)}` : 'not available'} |`);
      continue;
    }
    m.variants.forEach((v, i) => {
      const measure = v.id === 'b1' ? 'batch 1' : v.id.startsWith('b1-all-taps') ? `batch 1, all ${v.tapCount} taps${v.id.endsWith('-reused') ? ', into reused arrays' : ''}` : `batch ${v.batch}`;
      const check = v.agreement ? `${v.agreement.relError.toExponential(1)} ${v.agreement.ok ? 'ok' : 'FAIL'}` : '';
      const status = v.skipped ?? v.error;
      const cells = status && !v.timing ? ['-', '-', '-', '-'] : timingCells(v);
      lines.push(`| ${i === 0 ? label : ''} | ${measure} | ${i === 0 ? ms(m.setupMs) : ''} | ${v.pipelineMs != null ? ms(v.pipelineMs) : '-'} | ${ms(v.firstRunMs)} | ${cells.join(' | ')} | ${v.timing ? fmt(v.imagesPerSecond, 2) : '-'} | ${v.timing ? fmt(v.effectiveGflops, 2) : '-'} | ${check}${status ? ` ${status}` : ''} |`);
      if (v.timing?.reduced) notes.push(`${label} ${measure}: ${v.timing.reduced}`);
    });
    if (m.device) {
      const d = m.device;
      notes.push(`${label}: ran on ${[d.vendor, d.architecture, d.description].filter(Boolean).join(' / ') || '(adapter info empty)'}, ` +
        `${d.core ? 'core' : 'compatibility-mode'} device, max storage binding ${fmt((d.maxStorageBufferBindingSize ?? 0) / 2 ** 20)} MiB`);
    }
    for (const n of m.notes) notes.push(`${label}: ${n}`);
    if (m.error) notes.push(`${label}: error: ${m.error.split('\n')[0]}`);
  }
  lines.push('');
  lines.push('`setup`: create the engine / backend / session and upload the weights (tfjs uploads lazily, in its first run). ' +
    '`plan + pipelines`: our engine building a forward plan (pipelines, bind groups, buffers) before its first run, ' +
    'waited for on the queue. `first run`: the first forward after that, cold (fresh profile / shader cache): for the peers it ' +
    `includes their pipeline compilation. \`eff. GFLOP/s\`: 2 x ${(networkMacs(r.data.size, r.data.size, arch) / 1e9).toFixed(2)} G multiply-adds per image / median. ` +
    `\`vs float64 ref\`: max |logit error| / max |logit| of the first run against a float64 CPU forward; tolerance ${LOGIT_TOLERANCE}; ` +
    'an engine over it is not timed. `*`: fewer runs than planned (see notes).');
  lines.push('');
  if (matmulOk(r.matmul)) {
    const mm = r.matmul;
    lines.push(`**Ceiling, our best matmul** (bench/kernels/${mm.kernel ?? 'matmul-4x4'}.wgsl, ${mm.size}^3, workgroup ${mm.workgroup.join('x')}, ${mm.repeatsPerSample} per sample): ` +
      `median ${fmt(mm.gflops.median, 2)} GFLOP/s, best ${fmt(mm.gflops.best, 2)} (${ms(mm.timing.median)} ms per matmul, n=${mm.timing.n}; ` +
      `check vs float64 ${mm.checkRelError.toExponential(1)}). Probes (GFLOP/s, best of 2): ${mm.probes.map((p) => `${(p.kernel ?? 'matmul-4x4').replace('matmul-', '')} ${p.workgroup.join('x')} ${fmt(p.gflops, 2)}`).join(', ')}.`);
  } else if (r.matmul) {
    lines.push(`**Ceiling, our matmul:** failed: ${(r.matmul as { error: string }).error.split('\n')[0]}`);
  }
  lines.push('');
  if (r.agreement?.length) {
    lines.push('**Engines against each other** (first-run logits, batch 1): ' + r.agreement.map((g) =>
      `${g.a} vs ${g.b} ${g.relError.toExponential(1)}${g.top1Agree ? '' : ' (top-1 differs)'}${g.ok ? '' : ' FAIL'}`).join('; ') + '.');
    lines.push('');
  }
  const choices = r.models.find((m) => m.engine === 'ours')?.kernelChoices;
  if (choices?.layers.length) {
    lines.push('## Per-layer kernels (ours, chosen by measurement, batch 1)');
    lines.push('');
    lines.push(`Every candidate timed on this adapter for each convolution shape (median ms per convolution, random data; ` +
      `src/model/tune.ts), the fastest kept; measuring took ${ms(choices.tuningMs)} ms. GFLOP/s: the chosen kernel's, 2 x multiply-adds / time.`);
    lines.push('');
    const variants = [...new Set(choices.layers.flatMap((l) => Object.keys(l.ms)))];
    lines.push(`| convolution | shape | chosen | ${variants.map((v) => `${v} ms`).join(' | ')} | GFLOP/s |`);
    lines.push(`|---|---|---|${variants.map(() => '---:').join('|')}|---:|`);
    for (const l of choices.layers) {
      // Three significant digits: a GPU's convolutions take tens of microseconds.
      const cell = (v: string) => { const t = (l.ms as Record<string, number | undefined>)[v]; return t === undefined ? '–' : t < 10 ? t.toPrecision(3) : ms(t); };
      lines.push(`| ${l.conv} | ${l.key} | ${l.variant} | ${variants.map(cell).join(' | ')} | ${fmt(l.gflops, 1)} |`);
    }
    lines.push('');
  }
  const prof = r.models.find((m) => m.engine === 'ours')?.kernelProfile;
  if (prof && 'kernels' in prof) {
    const wall = b1(r.models.find((m) => m.engine === 'ours'))?.timing?.median;
    lines.push(`## Per-kernel GPU time (ours, batch 1, logits only)`);
    lines.push('');
    lines.push(`Timestamp queries, each kernel in its own compute pass (a profiling run; timed runs use one pass), median of ${prof.runs}: ` +
      `${prof.kernels.length} kernels, ${ms(prof.totalMs)} ms of GPU time${wall ? ` against a ${ms(wall)} ms wall-clock forward (the rest: upload, readback, submission, gaps)` : ''}.`);
    lines.push('');
    const kinds = new Map<string, { ms: number; count: number }>();
    for (const k of prof.kernels) {
      const kind = k.shader ?? k.label;
      const e = kinds.get(kind) ?? { ms: 0, count: 0 };
      e.ms += k.ms;
      e.count += 1;
      kinds.set(kind, e);
    }
    lines.push('| kernel (pipeline) | dispatches | GPU ms | share |');
    lines.push('|---|---:|---:|---:|');
    for (const [kind, e] of [...kinds].sort((a, b) => b[1].ms - a[1].ms)) {
      lines.push(`| ${kind} | ${e.count} | ${ms(e.ms)} | ${((100 * e.ms) / Math.max(prof.totalMs, 1e-9)).toFixed(1)}% |`);
    }
    lines.push('');
    lines.push('Slowest dispatches: ' + [...prof.kernels].sort((a, b) => b.ms - a.ms).slice(0, 8)
      .map((k) => `${k.label} ${ms(k.ms)}`).join('; ') + '. Every dispatch: the JSON\'s `kernelProfile`.');
    lines.push('');
  } else if (prof && 'unavailable' in prof) {
    lines.push(`Per-kernel GPU time: not measured: ${prof.unavailable}.`);
    lines.push('');
  }
  if (r.targets?.length) {
    lines.push('## Targets (issue 6)');
    lines.push('');
    lines.push('| target | goal | measured | met |');
    lines.push('|---|---|---|---|');
    for (const t of r.targets) lines.push(`| ${t.name} | ${t.goal} | ${t.measured}${t.note ? ` (${t.note})` : ''} | ${t.met == null ? '-' : t.met ? 'yes' : '**no**'} |`);
    lines.push('');
  }
  if (notes.length) {
    lines.push('## Notes');
    lines.push('');
    for (const n of notes) lines.push(`- ${n}`);
    lines.push('');
  }
  if (r.consoleErrors?.length) {
    lines.push(`Console errors in the page: ${r.consoleErrors.length} (first: ${r.consoleErrors[0].slice(0, 200)})`);
    lines.push('');
  }
  lines.push(`Raw samples and adapter limits: \`${r.date}-${r.config.id}.json\`. Run took ${Math.round(r.durationSeconds / 60)} min.`);
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// SVG: horizontal bars of the batch-1 median per engine, whiskers from min to max.

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

interface Bar {
  label: string;
  median: number;
  min: number;
  max: number;
  color: string;
}

// The report's style (src/report/html.ts): Tableau 10 colours, its text and rule colours, system-ui.
const COLORS: Record<string, string> = { ours: '#e15759', 'tfjs-webgpu': '#4e79a7', 'ort-webgpu': '#59a14f', 'ort-wasm': '#bab0ac' };
const FG = '#1d2330';
const MUTED = '#5b6475';
const LINE = '#dde2ea';

const SHORT_LABEL: Record<EngineName, string> = {
  ours: 'resnet-stream (ours)',
  'tfjs-webgpu': 'tfjs webgpu',
  'ort-webgpu': 'ORT Web WebGPU',
  'ort-wasm': 'ORT Web wasm (CPU)',
};

/** A step of 1, 2 or 5 x 10^k giving about `target` ticks up to `max`. */
function niceStep(max: number, target = 5): number {
  const raw = max / target;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

export interface Panel {
  title: string;
  bars: Bar[];
}

/** Small multiples: one panel per configuration, each on its own linear axis (0 .. max). */
export function svgPanels(title: string, subtitle: string, panels: Panel[]): string {
  const width = 760;
  const left = 200;
  const right = 80;
  const rowH = 26;
  const out: string[] = [];
  let y = 70;
  const body: string[] = [];
  for (const panel of panels) {
    body.push(`<text x="16" y="${y}" font-size="13" font-weight="600" fill="${FG}">${esc(panel.title)}</text>`);
    y += 10;
    const maxV = Math.max(1e-9, ...panel.bars.map((b) => b.max));
    const step = niceStep(maxV);
    const axisMax = Math.ceil(maxV / step) * step;
    const x = (v: number) => left + ((width - left - right) * v) / axisMax;
    const top = y;
    const bottom = top + panel.bars.length * rowH;
    for (let v = 0; v <= axisMax + step / 2; v += step) {
      body.push(`<line x1="${x(v)}" y1="${top}" x2="${x(v)}" y2="${bottom}" stroke="${LINE}"/>`);
      body.push(`<text x="${x(v)}" y="${bottom + 14}" text-anchor="middle" fill="${MUTED}" font-size="11">${fmt(v, step < 1 ? 1 : 0)}</text>`);
    }
    panel.bars.forEach((b, i) => {
      const by = top + i * rowH;
      const mid = by + rowH / 2;
      body.push(`<text x="${left - 8}" y="${mid + 4}" text-anchor="end" fill="${FG}">${esc(b.label)}</text>`);
      body.push(`<rect x="${left}" y="${by + 5}" width="${Math.max(1, x(b.median) - left)}" height="${rowH - 10}" fill="${b.color}" rx="2"/>`);
      body.push(`<line x1="${x(b.min)}" y1="${mid}" x2="${x(b.max)}" y2="${mid}" stroke="${FG}"/>`);
      body.push(`<line x1="${x(b.min)}" y1="${by + 9}" x2="${x(b.min)}" y2="${by + rowH - 9}" stroke="${FG}"/>`);
      body.push(`<line x1="${x(b.max)}" y1="${by + 9}" x2="${x(b.max)}" y2="${by + rowH - 9}" stroke="${FG}"/>`);
      body.push(`<text x="${x(b.max) + 6}" y="${mid + 4}" fill="${FG}">${ms(b.median)}</text>`);
    });
    y = bottom + 40;
  }
  const height = y - 10;
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="16" y="22" font-size="15" font-weight="600" fill="${FG}">${esc(title)}</text>`);
  out.push(`<text x="16" y="40" fill="${MUTED}">${esc(subtitle)}</text>`);
  out.push(...body);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function barsOf(r: ConfigResult): Bar[] {
  const bars: Bar[] = [];
  for (const m of r.models) {
    for (const v of m.variants) {
      if (!v.timing || v.batch !== 1) continue;
      bars.push({
        label: `${SHORT_LABEL[m.engine] ?? m.engine}${v.id === 'b1-all-taps' ? ', all taps' : v.id === 'b1-all-taps-reused' ? ', all taps reused' : ''}`,
        median: v.timing.median, min: v.timing.min, max: v.timing.max, color: COLORS[m.engine] ?? '#8c8c8c',
      });
    }
  }
  return bars;
}

export function writeReports(r: ConfigResult, outDir: string): string[] {
  evaluate(r);
  const base = join(outDir, `${r.date}-${r.config.id}`);
  writeFileSync(`${base}.json`, JSON.stringify(r, null, 1) + '\n');
  writeFileSync(`${base}.md`, markdown(r));
  const files = [`${base}.json`, `${base}.md`];
  const bars = barsOf(r);
  if (bars.length) {
    writeFileSync(`${base}.svg`, svgPanels(`${displayName(archOf(r))} ${r.data.size}x${r.data.size}, batch 1: ${r.config.label}`,
      `${shortAdapter(r)}; ${r.browserVersion ?? `Node ${r.machine.node}`}; ${r.machine.cores} cores; ${r.date}; mode ${r.mode.name}; ms per forward, median, whisker min-max`,
      [{ title: r.config.label, bars }]));
    files.push(`${base}.svg`);
  }
  return files;
}

/**
 * The summary covers every configuration with results of that date in outDir (earlier runs too) of
 * the architecture of `fresh`: <date>-summary.md for ResNet18, <date>-summary-<arch>.md for another.
 */
export function writeSummary(fresh: ConfigResult[], outDir: string, date: string): string {
  const arch = fresh.length ? archOf(fresh[0]) : RESNET18.name;
  const title = displayName(arch);
  const suffix = arch === RESNET18.name ? '' : `-${arch}`;
  const byId = new Map<string, ConfigResult>();
  for (const f of readdirSync(outDir).filter((n) => n.startsWith(`${date}-`) && n.endsWith('.json')).sort()) {
    try {
      const r = JSON.parse(readFileSync(join(outDir, f), 'utf8')) as ConfigResult;
      if (r.schema === 1 && r.config?.id && archOf(r) === arch) byId.set(r.config.id, r);
    } catch {
      /* not a result file */
    }
  }
  for (const r of fresh) byId.set(r.config.id, r);
  const results = [...byId.values()];
  const lines: string[] = [];
  lines.push(`# ${title} benchmark summary, ${date}`);
  lines.push('');
  // A day's results may come from more than one machine (a result file records its own): say so
  // rather than name the first one's, since times from different machines do not compare.
  const machineOf = (r: ConfigResult) => `${r.machine.cores} cores, ${r.machine.cpuModel}`;
  const machines = [...new Set(results.map(machineOf))];
  lines.push(`Batch 1, ${results[0]?.data.size ?? 224} x ${results[0]?.data.size ?? 224}, median ms of a forward with readback (n runs after warm-up); ` +
    `same weights and input everywhere. ${machines.length > 1
      ? `Machines: ${machines.join('; ')}: each row's is in its machine column, and times compare only between rows of the same machine (best: within a row, measured in one run).`
      : `Machine: ${machines[0] ?? '-'}.`} Load: the 1-minute load average before and after the run.`);
  lines.push('');
  lines.push('| configuration | adapter | mode | machine | load | ours | ours, all taps | ours, all taps into reused arrays | tfjs webgpu | ORT WebGPU | ORT wasm (CPU) | matmul GFLOP/s | ours / faster peer |');
  lines.push('|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const get = (e: EngineName, id = 'b1') => {
      const m = r.models.find((x) => x.engine === e);
      const v = b1(m, id);
      if (v?.timing) return `${ms(v.timing.median)} (n=${v.timing.n})`;
      if (!m || !m.available) return 'n/a';
      return v?.skipped ? 'not timed' : v?.error || m.error ? 'error' : '-';
    };
    const mm = matmulOk(r.matmul) ? fmt(r.matmul.gflops.median, 2) : '-';
    const lat = r.targets?.find((t) => t.name === 'batch-1 latency');
    const ratio = lat?.measured.match(/([0-9.]+)x$/)?.[1];
    // With the interleaved rounds, the ratio to the plain forward measured in them.
    const paired = r.models.find((x) => x.engine === 'ours')?.interleavedTaps;
    const withRatio = (id: string, ratio?: number) => `${get('ours', id)}${ratio != null ? `, ${ratio.toFixed(2)}x interleaved` : ''}`;
    const load = `${r.machine.loadAverage1mBefore ?? '-'} / ${r.machine.loadAverage1mAfter ?? '-'}`;
    lines.push(`| ${r.config.label} | ${shortAdapter(r)} | ${r.mode.name} | ${r.machine.cpuModel} | ${load} | ${get('ours')} | ${withRatio('b1-all-taps', paired?.allTapsRatio)} | ${withRatio('b1-all-taps-reused', paired?.reusedRatio)} | ${get('tfjs-webgpu')} | ${get('ort-webgpu')} | ${get('ort-wasm')} | ${mm} | ${ratio ? `${ratio}x` : '-'} |`);
  }
  lines.push('');
  lines.push('Per configuration: `<date>-<configuration>.md` (all measures, targets, notes), `.json` (raw samples), `.svg` (plot).');
  // Feature visualisation (bench/fv.mjs) keeps its own small summary; point to it when it exists.
  if (!suffix && readdirSync(outDir).includes(`${date}-fv-summary.md`)) {
    lines.push('', `Feature visualisation (optimisation steps/s, the paper's fv protocol projected, dataset-probe images/s): [${date}-fv-summary.md](${date}-fv-summary.md).`);
  }
  const path = join(outDir, `${date}-summary${suffix}.md`);
  writeFileSync(path, lines.join('\n') + '\n');
  const panels = results.map((r) => ({ title: `${r.config.label} (${shortAdapter(r)}, mode ${r.mode.name})`, bars: barsOf(r) }))
    .filter((p) => p.bars.length);
  if (panels.length) {
    writeFileSync(join(outDir, `${date}-summary${suffix}.svg`), svgPanels(`${title} ${results[0]?.data.size ?? 224}x${results[0]?.data.size ?? 224}, batch 1, ${date}`,
      `ms per forward with readback: median, whisker min-max; each panel on its own axis; ${results[0]?.machine.cores} cores`, panels));
  }
  return path;
}
