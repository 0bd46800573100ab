// The demo page: weights (file, URL or random) and an image (dropped, chosen or generated) go through
// one of torchvision's ResNets on WebGPU in this page (the architecture recognised from the
// checkpoint; the block picker, taps and readouts follow it); it shows the top-5 classes, then the residual stream block by
// block: for one channel, the skip I, the branch B and the output O as heatmaps on a shared scale,
// the centre unit outlined; with an analysis.json loaded, the channel's M and category and the
// block's histogram of M (Chart.js, as in the report); clicking a map (or the feature-visualisation
// panel's tap and channel) optimises an image for that channel live (visualiseChannels, the library's
// FV API). State for tests is mirrored on <body data-*>.

import {
  type AnalysisJson, type Architecture, type BlockReadouts, type Checkpoint, type HostTensor, type ResNetEngine,
  type RgbImage, type TapName, type Variant, type VisualiseProgress,
  allTapNames, architectureOf, centreIndex, createEngine, describeCheckpoint, imageToRgb, jitterForTap, loadCheckpointFrom, readoutsFor,
  tapShape, topK, visualisable, visualiseChannels,
} from '../src/index';
import { renderStimulus, stimulusSpecs, type StimulusFamily } from '../src/analysis/stimuli';
import { normalize, toTensor, torchvisionEvalImage } from '../src/image/transforms';
import { checkpointFromTensors } from '../src/weights/load';
import { displayName } from '../src/model/family';
import { randomWeights } from '../src/weights/random';
import { COLOURS, clearHistogram, drawFractions, drawHistogram } from './charts';
import { drawFvImage, drawObjective } from './fv-draw';
import { channelPlane, diverging, drawColourBar, drawMap, drawRgb, sharedScale } from './heatmap';

// ---------------------------------------------------------------------------------------------
// Elements

function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`demo page: #${id} is missing`);
  return el as T;
}

const el = {
  gpuStatus: $('gpu-status'),
  archNames: Array.from(document.querySelectorAll<HTMLElement>('.arch-name')),
  weightsFile: $<HTMLInputElement>('weights-file'),
  weightsForm: $<HTMLFormElement>('weights-url-form'),
  weightsUrl: $<HTMLInputElement>('weights-url'),
  weightsList: $<HTMLDataListElement>('weights-list'),
  weightsLoad: $<HTMLButtonElement>('weights-load'),
  weightsRandom: $<HTMLButtonElement>('weights-random'),
  weightsProgress: $<HTMLProgressElement>('weights-progress'),
  weightsStatus: $('weights-status'),
  dropZone: $('drop-zone'),
  imagePreview: $<HTMLCanvasElement>('image-preview'),
  imageFile: $<HTMLInputElement>('image-file'),
  stimulus: $<HTMLSelectElement>('stimulus'),
  imageStatus: $('image-status'),
  top5: $<HTMLOListElement>('top5'),
  classifyNotice: $('classify-notice'),
  runStatus: $('run-status'),
  block: $<HTMLSelectElement>('block'),
  channel: $<HTMLInputElement>('channel'),
  channelRange: $<HTMLInputElement>('channel-range'),
  variant: $<HTMLSelectElement>('variant'),
  maps: { input: $<HTMLCanvasElement>('map-input'), branch: $<HTMLCanvasElement>('map-branch'), output: $<HTMLCanvasElement>('map-output') },
  tapNames: { input: $('tap-input'), branch: $('tap-branch'), output: $('tap-output') },
  scaleMin: $('scale-min'),
  scaleMax: $('scale-max'),
  colourBar: $<HTMLCanvasElement>('colour-bar'),
  centreValues: $('centre-values'),
  channelStrip: $<HTMLCanvasElement>('channel-strip'),
  analysisFile: $<HTMLInputElement>('analysis-file'),
  analysisStatus: $('analysis-status'),
  channelAnalysis: $('channel-analysis'),
  analysisCharts: $('analysis-charts'),
  histogram: $<HTMLCanvasElement>('mix-histogram'),
  fractions: $<HTMLCanvasElement>('fractions-chart'),
  timing: $('timing'),
  fvTap: $<HTMLSelectElement>('fv-tap'),
  fvChannel: $<HTMLInputElement>('fv-channel'),
  fvSize: $<HTMLSelectElement>('fv-size'),
  fvSteps: $<HTMLSelectElement>('fv-steps'),
  fvStart: $<HTMLButtonElement>('fv-start'),
  fvStop: $<HTMLButtonElement>('fv-stop'),
  fvNotice: $('fv-notice'),
  fvCanvas: $<HTMLCanvasElement>('fv-canvas'),
  fvCaption: $('fv-caption'),
  fvObjective: $<HTMLCanvasElement>('fv-objective'),
  fvStatus: $('fv-status'),
};

// ---------------------------------------------------------------------------------------------
// State

const state = {
  engine: null as ResNetEngine | null,
  checkpoint: null as Pick<Checkpoint, 'source' | 'missing' | 'sha256'> | null,
  input: null as HostTensor | null,
  imageLabel: '',
  taps: null as Map<TapName, HostTensor> | null,
  computableBlocks: [] as string[],
  block: '1.1',
  channel: 0,
  variant: 'post-relu' as Variant,
  analysis: null as AnalysisJson | null,
  runs: 0,
  /** The running feature visualisation: its stop switch and its end (settled either way). */
  fv: null as { controller: AbortController; done: Promise<void> } | null,
  fvRuns: 0,
};

function setStatus(target: HTMLElement, text: string, error = false): void {
  target.textContent = text;
  target.classList.toggle('error', error);
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const fmt = (v: number | null | undefined, digits = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits));

/** The network the loaded weights are (resnet18 before any are loaded). */
function arch(): Architecture {
  return state.engine?.architecture ?? architectureOf('resnet18');
}

/** The readouts of a block of the loaded network. */
function readouts(block: string, variant: Variant = 'post-relu'): BlockReadouts {
  return readoutsFor(block, variant, arch());
}

/** The five taps a block's readouts use in either variant (I and O differ between them). */
function blockTaps(block: string): TapName[] {
  const post = readouts(block, 'post-relu');
  const pre = readouts(block, 'pre-relu');
  return [...new Set([post.input, pre.input, post.branch, post.output, pre.output])];
}

/** After weights of another architecture: its name on the page, its blocks and taps in the pickers. */
function showArchitecture(): void {
  const a = arch();
  for (const e of el.archNames) e.textContent = displayName(a.name);
  document.body.dataset.architecture = a.name;
  if (!a.blocks.some((b) => b.short === state.block)) state.block = '1.1';
  state.computableBlocks = [];
  updateBlockOptions();
}

// ---------------------------------------------------------------------------------------------
// WebGPU

async function startEngine(): Promise<void> {
  try {
    const engine = await createEngine();
    state.engine = engine;
    const a = engine.adapter;
    const limit = engine.ctx.limits.maxStorageBufferBindingSize;
    setStatus(el.gpuStatus, `WebGPU: ${a.name}${a.description && a.description !== a.name ? ` (${a.description})` : ''}, ` +
      `${a.featureLevel === 'compatibility' ? 'compatibility mode' : 'core'}${a.isFallbackAdapter ? ', software fallback' : ''}; ` +
      `storage bindings up to ${mib(limit)}.`);
    document.body.dataset.engine = 'ready';
    void engine.ctx.lost.then((e) => {
      setStatus(el.gpuStatus, e.message, true);
      document.body.dataset.engine = 'lost';
    });
  } catch (e) {
    setStatus(el.gpuStatus, `No WebGPU engine: ${message(e)}`, true);
    document.body.dataset.engine = 'error';
    for (const b of [el.weightsLoad, el.weightsRandom]) b.disabled = true;
    el.weightsFile.disabled = true;
  }
}

// ---------------------------------------------------------------------------------------------
// Weights

let loadingWeights = false;

async function loadWeights(what: string, get: (onProgress: (loaded: number, total: number | undefined) => void) => Promise<Checkpoint>): Promise<void> {
  const engine = state.engine;
  if (!engine || loadingWeights) return;
  loadingWeights = true;
  document.body.dataset.weights = 'loading';
  el.weightsProgress.hidden = false;
  el.weightsProgress.removeAttribute('value');
  setStatus(el.weightsStatus, `Loading ${what}…`);
  try {
    const checkpoint = await get((loaded, total) => {
      if (total) el.weightsProgress.value = loaded / total;
      setStatus(el.weightsStatus, `Loading ${what}: ${mib(loaded)}${total ? ` of ${mib(total)}` : ''}`);
    });
    await stopVisualisation(); // it runs on the weights about to be replaced
    engine.loadWeights(checkpoint.tensors, { architecture: checkpoint.architecture });
    state.checkpoint = { source: checkpoint.source, missing: checkpoint.missing, sha256: checkpoint.sha256 };
    state.taps = null;
    showArchitecture();
    const known = describeCheckpoint(checkpoint);
    const reach = engine.computability();
    setStatus(el.weightsStatus, `${known ?? checkpoint.source}: ${displayName(checkpoint.architecture)}, ${checkpoint.tensors.size} tensors, ` +
      `${mib(engine.weightBytes)} on the GPU; ` +
      (checkpoint.missing.length ? `lacks ${checkpoint.missing.length} tensor(s), runs through ${reach.lastComputable}.` : 'complete.'));
    document.body.dataset.weights = 'loaded';
    el.weightsProgress.value = 1;
    updateFvTaps();
    await run();
  } catch (e) {
    console.warn(e);
    setStatus(el.weightsStatus, message(e), true);
    document.body.dataset.weights = 'error';
  } finally {
    loadingWeights = false;
    setTimeout(() => { el.weightsProgress.hidden = true; }, 600);
  }
}

el.weightsFile.addEventListener('change', () => {
  const file = el.weightsFile.files?.[0];
  if (file) void loadWeights(file.name, (onProgress) => loadCheckpointFrom(file, { onProgress }));
});

el.weightsForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const url = el.weightsUrl.value.trim();
  if (url) void loadWeights(url, (onProgress) => loadCheckpointFrom(url, { onProgress }));
});

el.weightsRandom.addEventListener('click', () => {
  const seed = 1 + Math.floor(Math.random() * 1e6);
  void loadWeights(`random weights (seed ${seed})`, async () => checkpointFromTensors(randomWeights(seed), `random weights (seed ${seed})`));
});

/** The weights URLs the server offers (meta tag, filled by demo/serve.mjs) and ?weights=URL. */
function offeredWeights(): string[] {
  const fromQuery = new URLSearchParams(location.search).get('weights');
  const meta = document.querySelector<HTMLMetaElement>('meta[name="resnet-stream:weights"]')?.content ?? '';
  return [...new Set([fromQuery, ...meta.split(/\s+/)].filter((u): u is string => !!u))];
}

// ---------------------------------------------------------------------------------------------
// Images

/** One stimulus of each family (and a colour grating), generated in the page. */
function stimulusChoices(): ReturnType<typeof stimulusSpecs> {
  const specs = stimulusSpecs();
  const families: StimulusFamily[] = ['grating', 'gabor', 'curve', 'line', 'edge', 'blob', 'checker', 'noise', 'dots', 'plaid', 'rings', 'radial'];
  const chosen = families.map((f) => specs.find((s) => s.family === f)).filter((s): s is (typeof specs)[number] => !!s);
  const colour = specs.find((s) => s.family === 'grating' && s.params.colours !== 'grey');
  if (colour) chosen.splice(1, 0, colour);
  return chosen;
}

const STIMULI = stimulusChoices();

function setImage(rgb: RgbImage, label: string): void {
  const crop = torchvisionEvalImage(rgb);
  drawRgb(el.imagePreview, crop);
  state.input = normalize(toTensor(crop));
  state.imageLabel = label;
  setStatus(el.imageStatus, `${label}: ${rgb.width}×${rgb.height}, seen as the central 224×224 after Resize(256).`);
  document.body.dataset.image = label;
  void run();
}

async function setImageFile(file: File): Promise<void> {
  try {
    setImage(await imageToRgb(file), file.name);
  } catch (e) {
    console.warn(e);
    setStatus(el.imageStatus, message(e), true);
  }
}

for (const s of STIMULI) el.stimulus.add(new Option(s.name.replace(/\.png$/, ''), s.name));
el.stimulus.addEventListener('change', () => {
  const spec = STIMULI.find((s) => s.name === el.stimulus.value);
  if (spec) setImage(renderStimulus(spec), spec.name);
});
el.imageFile.addEventListener('change', () => {
  const file = el.imageFile.files?.[0];
  if (file) void setImageFile(file);
});
el.dropZone.addEventListener('dragover', (e) => {
  e.preventDefault();
  el.dropZone.classList.add('over');
});
el.dropZone.addEventListener('dragleave', () => el.dropZone.classList.remove('over'));
el.dropZone.addEventListener('drop', (e) => {
  e.preventDefault();
  el.dropZone.classList.remove('over');
  const file = e.dataTransfer?.files[0];
  if (file) void setImageFile(file);
});

// ---------------------------------------------------------------------------------------------
// The forward pass

async function run(): Promise<void> {
  const engine = state.engine;
  if (!engine || !state.checkpoint || !state.input) return;
  const id = ++state.runs;
  document.body.dataset.run = 'running';
  setStatus(el.runStatus, `Running ${state.imageLabel}…`);
  try {
    const reach = engine.computability();
    const computable = new Set(reach.computable);
    state.computableBlocks = arch().blocks.map((b) => b.short).filter((b) => blockTaps(b).every((t) => computable.has(t)));
    const wanted = new Set(state.computableBlocks.flatMap(blockTaps));
    const classify = computable.has('fc');
    if (classify) wanted.add('fc');
    const taps = allTapNames(arch()).filter((t) => wanted.has(t));
    const t0 = performance.now();
    const out = await engine.forward(state.input, { taps });
    const ms = performance.now() - t0;
    if (id !== state.runs) return; // a newer run replaces this one
    state.taps = out;
    setStatus(el.runStatus, `${state.imageLabel}: forward and ${taps.length} taps read back in ${ms.toFixed(0)} ms.`);
    el.timing.textContent = `last forward: ${ms.toFixed(0)} ms on ${engine.adapter.name}`;
    showClasses(classify ? out.get('fc')! : null, reach.lastComputable, reach.missingTensors);
    updateBlockOptions();
    renderStream();
    document.body.dataset.run = 'done';
    document.body.dataset.runs = String(id);
  } catch (e) {
    if (id !== state.runs) return;
    console.error(e);
    setStatus(el.runStatus, `The forward failed: ${message(e)}`, true);
    document.body.dataset.run = 'error';
  }
}

function showClasses(fc: HostTensor | null, lastComputable: string, missing: string[]): void {
  el.top5.replaceChildren();
  el.classifyNotice.hidden = fc !== null;
  if (!fc) {
    el.classifyNotice.textContent = `This checkpoint stops at ${lastComputable}: classification needs the full file ` +
      `(it lacks ${missing.join(', ')}). The stream view below shows every block it reaches.`;
    return;
  }
  const top = topK(fc.data, 5);
  for (const c of top) {
    const li = document.createElement('li');
    li.dataset.index = String(c.index);
    li.dataset.logit = String(c.logit);
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = c.name;
    name.title = `class ${c.index}, logit ${c.logit.toFixed(4)}`;
    const prob = document.createElement('span');
    prob.className = 'prob';
    prob.textContent = `${(100 * c.probability).toFixed(1)} %`;
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.style.width = `${Math.max(1, 100 * c.probability / top[0].probability)}%`;
    li.append(name, prob, bar);
    el.top5.append(li);
  }
}

// ---------------------------------------------------------------------------------------------
// The stream view

function updateBlockOptions(): void {
  const computable = new Set(state.computableBlocks);
  const blocks = arch().blocks.map((b) => b.short);
  if (el.block.dataset.architecture !== arch().name) {
    el.block.replaceChildren(...blocks.map((b) => new Option(b, b)));
    el.block.dataset.architecture = arch().name;
  }
  for (const option of Array.from(el.block.options)) {
    const ok = computable.has(option.value);
    option.disabled = !ok;
    option.textContent = ok ? `${option.value} (layer${option.value})` : `${option.value}: no weights`;
  }
  if (!computable.has(state.block)) state.block = state.computableBlocks[state.computableBlocks.length - 1] ?? state.block;
  el.block.value = state.block;
}

function setChannel(c: number): void {
  const channels = readouts(state.block).channels;
  state.channel = Math.max(0, Math.min(channels - 1, Math.round(Number.isFinite(c) ? c : 0)));
  renderStream();
}

el.block.addEventListener('change', () => {
  state.block = el.block.value;
  setChannel(state.channel);
  renderAnalysis(true);
});
el.channel.addEventListener('input', () => setChannel(el.channel.valueAsNumber));
el.channelRange.addEventListener('input', () => setChannel(el.channelRange.valueAsNumber));
el.variant.addEventListener('change', () => {
  state.variant = el.variant.value as Variant;
  renderStream();
});
for (const k of ['input', 'branch', 'output'] as const) {
  el.maps[k].title = 'click: visualise this channel of this tap';
  el.maps[k].addEventListener('click', () => {
    if (!state.taps || !state.computableBlocks.includes(state.block)) return;
    void startVisualisation(readouts(state.block, state.variant)[k], state.channel);
  });
}
el.channelStrip.addEventListener('click', (e) => {
  const rect = el.channelStrip.getBoundingClientRect();
  const { cols, rows } = stripLayout(readouts(state.block).channels);
  const col = Math.floor(((e.clientX - rect.left) / rect.width) * cols);
  const row = Math.floor(((e.clientY - rect.top) / rect.height) * rows);
  setChannel(row * cols + col);
});

function stripLayout(channels: number): { cols: number; rows: number } {
  const cols = Math.min(channels, 64);
  return { cols, rows: Math.ceil(channels / cols) };
}

/** How O follows from I and B in a block, for the readouts shown (METHOD.md, the three readouts). */
function relation(r: BlockReadouts): string {
  if (r.variant === 'post-relu') return 'O = ReLU(I + B)';
  // I is the maxpool or the downsample projection: the skip itself, not a sum before its ReLU.
  const projection = r.input === 'maxpool' || r.input.endsWith('.downsample.1');
  return projection ? 'O = I + B, the sum before the ReLU' : 'O = ReLU(I) + B, I and O being sums before their ReLU';
}

function renderStream(): void {
  const taps = state.taps;
  if (!taps || !state.computableBlocks.includes(state.block)) return;
  const r = readouts(state.block, state.variant);
  const tensors = { input: taps.get(r.input)!, branch: taps.get(r.branch)!, output: taps.get(r.output)! };
  const [, channels, height, width] = tensors.output.shape;
  state.channel = Math.min(state.channel, channels - 1); // another block or network may be narrower
  el.channel.max = el.channelRange.max = String(channels - 1);
  el.channel.value = el.channelRange.value = String(state.channel);
  const planes = {
    input: channelPlane(tensors.input.data, tensors.input.shape, state.channel),
    branch: channelPlane(tensors.branch.data, tensors.branch.shape, state.channel),
    output: channelPlane(tensors.output.data, tensors.output.shape, state.channel),
  };
  const scale = sharedScale(planes.input, planes.branch, planes.output);
  const [cy, cx] = centreIndex(height, width);
  for (const k of ['input', 'branch', 'output'] as const) {
    drawMap(el.maps[k], planes[k], height, width, scale, [cy, cx]);
    el.tapNames[k].textContent = r[k];
  }
  el.scaleMin.textContent = `−${scale.toPrecision(3)}`;
  el.scaleMax.textContent = `+${scale.toPrecision(3)}`;
  const at = cy * width + cx;
  el.centreValues.textContent = `Block ${state.block}, channel ${state.channel} of ${channels}, ${height}×${width} maps; ` +
    `centre unit (row ${cy}, column ${cx}): I = ${fmt(planes.input[at])}, B = ${fmt(planes.branch[at])}, ` +
    `O = ${fmt(planes.output[at])}; here ${relation(r)}.`;
  Object.assign(el.centreValues.dataset, { i: String(planes.input[at]), b: String(planes.branch[at]), o: String(planes.output[at]) });
  drawStrip(tensors.output);
  document.body.dataset.view = `${state.block}:${state.channel}:${state.variant}`;
  renderAnalysis(false);
}

function drawStrip(output: HostTensor): void {
  const [, channels, height, width] = output.shape;
  const canvas = el.channelStrip;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const [cy, cx] = centreIndex(height, width);
  const values = Array.from({ length: channels }, (_, c) => output.data[c * height * width + cy * width + cx]);
  const scale = sharedScale(values);
  const { cols, rows } = stripLayout(channels);
  canvas.height = rows * 16;
  const cw = canvas.width / cols;
  const ch = canvas.height / rows;
  const block = state.analysis?.blocks.find((b) => b.block === state.block);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  values.forEach((v, c) => {
    const x = (c % cols) * cw;
    const y = Math.floor(c / cols) * ch;
    const [r, g, b] = diverging(v / scale);
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fillRect(x, y, cw, ch);
    const category = block?.channels[c]?.category;
    if (category) {
      ctx.fillStyle = COLOURS[category];
      ctx.fillRect(x, y + ch * 0.75, cw, ch * 0.25);
    }
  });
  const sx = (state.channel % cols) * cw;
  const sy = Math.floor(state.channel / cols) * ch;
  ctx.lineWidth = 2;
  ctx.strokeStyle = '#111';
  ctx.strokeRect(sx + 1, sy + 1, cw - 2, ch - 2);
}

// ---------------------------------------------------------------------------------------------
// Analysis results

function isAnalysis(x: unknown): x is AnalysisJson {
  const a = x as AnalysisJson;
  return typeof a === 'object' && a !== null && a.version === 1 && Array.isArray(a.blocks) &&
    a.blocks.every((b) => typeof b.block === 'string' && Array.isArray(b.channels) && typeof b.summary === 'object');
}

el.analysisFile.addEventListener('change', async () => {
  const file = el.analysisFile.files?.[0];
  if (!file) return;
  try {
    const parsed: unknown = JSON.parse(await file.text());
    if (!isAnalysis(parsed)) throw new Error(`${file.name} is not an analysis.json of resnet-stream (version 1, blocks with channels)`);
    state.analysis = parsed;
    const meta = parsed.meta;
    const skipped = parsed.skipped?.length ? `; skipped: ${parsed.skipped.map((s) => `${s.block} (${s.reason})`).join(', ')}` : '';
    setStatus(el.analysisStatus, `${file.name}: blocks ${parsed.blocks.map((b) => b.block).join(', ')}; ${meta.probes} probes, ` +
      `${meta.variant} readouts, ${meta.images} images${meta.weights ? `, weights ${String(meta.weights)}` : ''}${skipped}.`);
    if (meta.variant && meta.variant !== state.variant) {
      state.variant = meta.variant;
      el.variant.value = meta.variant;
    }
    drawFractions(el.fractions, parsed);
    document.body.dataset.analysis = 'loaded';
    renderStream();
    renderAnalysis(true);
  } catch (e) {
    console.warn(e);
    setStatus(el.analysisStatus, message(e), true);
    document.body.dataset.analysis = 'error';
  }
});

function renderAnalysis(blockChanged: boolean): void {
  const analysis = state.analysis;
  if (!analysis) return;
  el.analysisCharts.hidden = false;
  const result = analysis.blocks.find((b) => b.block === state.block);
  if (!result) {
    el.channelAnalysis.textContent = `Block ${state.block} is not in this analysis` +
      `${analysis.skipped?.find((s) => s.block === state.block) ? ` (skipped: ${analysis.skipped.find((s) => s.block === state.block)!.reason})` : ''}.`;
    clearHistogram();
    return;
  }
  const c = result.channels.find((ch) => ch.channel === state.channel);
  if (!c) {
    el.channelAnalysis.textContent = `Channel ${state.channel} is not in the analysis of block ${state.block}.`;
  } else {
    const category = c.category ?? 'none';
    el.channelAnalysis.innerHTML = '';
    const table = document.createElement('table');
    const rows: [string, string | HTMLElement][] = [
      ['mix ratio M', `${fmt(c.mix)}${c.mixCase !== 'ratio' ? ` (${c.mixCase})` : ''}`],
      ['category', Object.assign(document.createElement('span'), { className: `category ${category}`, textContent: c.category ?? 'undefined' })],
      ['scale metric SM_B (branch)', fmt(c.scaleBranch)],
      ['scale metric SM_I (input)', fmt(c.scaleInput)],
      ['scale invariant', c.scaleInvariant ? 'yes' : 'no'],
      ['O(I*), O(B*)', `${fmt(c.readouts.outputOnInput)}, ${fmt(c.readouts.outputOnBranch)}`],
    ];
    for (const [k, v] of rows) {
      const tr = table.insertRow();
      const th = document.createElement('th');
      th.textContent = k;
      tr.append(th);
      tr.insertCell().append(v);
    }
    const caption = table.createCaption();
    caption.textContent = `Block ${state.block}, channel ${state.channel} (${result.variant} readouts)`;
    el.channelAnalysis.append(table);
    el.channelAnalysis.dataset.mix = String(c.mix);
    el.channelAnalysis.dataset.category = String(c.category);
  }
  drawHistogram(el.histogram, result, c?.mix ?? null, state.channel, blockChanged);
}

// ---------------------------------------------------------------------------------------------
// Feature visualisation

/** Taps an image can be optimised for (every tap of the loaded network from conv1 to avgpool), in forward order. */
function fvTaps(): TapName[] {
  return allTapNames(arch()).filter((t) => t !== 'input' && t !== 'fc');
}

/** Tap options: enabled where the loaded weights reach the tap (and what it needs before it). */
function updateFvTaps(): void {
  const engine = state.engine;
  const loaded = !!engine && !!state.checkpoint;
  const taps = fvTaps();
  if (el.fvTap.dataset.architecture !== arch().name) {
    el.fvTap.replaceChildren(...taps.map((t) => new Option(t, t)));
    el.fvTap.dataset.architecture = arch().name;
  }
  const reach = loaded ? engine.computability() : null;
  const computable = new Set(reach?.computable ?? []);
  let blocked = 0;
  let otherWhy: string | null = null; // why a tap the weights do reach cannot be visualised
  for (const option of Array.from(el.fvTap.options)) {
    const why = loaded ? visualisable(engine, option.value) : 'no weights loaded';
    option.disabled = why !== null;
    option.textContent = why ? `${option.value}: ${computable.has(option.value) ? 'not available' : 'no weights'}` : `${option.value} (j = ${jitterForTap(option.value)})`;
    if (why) blocked++;
    if (why && computable.has(option.value)) otherWhy ??= why;
  }
  if (el.fvTap.selectedOptions[0]?.disabled || !el.fvTap.value) {
    const first = Array.from(el.fvTap.options).find((o) => !o.disabled && o.value === readouts(state.block).output)
      ?? Array.from(el.fvTap.options).find((o) => !o.disabled);
    if (first) el.fvTap.value = first.value;
  }
  el.fvStart.disabled = !loaded || blocked === taps.length;
  el.fvNotice.hidden = !reach || blocked === 0;
  if (reach && otherWhy) {
    el.fvNotice.textContent = `Feature visualisation is not available here: ${otherWhy}.`;
  } else if (reach && blocked) {
    el.fvNotice.textContent = `This checkpoint reaches ${reach.lastComputable}: only taps up to there can be visualised ` +
      `(it lacks ${reach.missingTensors.slice(0, 3).join(', ')}${reach.missingTensors.length > 3 ? ` and ${reach.missingTensors.length - 3} more` : ''}); ` +
      `the ${blocked} taps after it are disabled.`;
  }
  if (loaded && !state.fv) {
    setStatus(el.fvStatus, blocked === taps.length ? 'No tap of these weights can be visualised.' : 'Click I, B or O above, or choose a tap and a channel and press Visualise.');
  }
  updateFvChannelLimit();
}

function updateFvChannelLimit(): void {
  const channels = tapShape(el.fvTap.value || 'layer1.1', 1, 224, 224, arch())[1];
  el.fvChannel.max = String(channels - 1);
  if (el.fvChannel.valueAsNumber > channels - 1) el.fvChannel.value = String(channels - 1);
}

el.fvTap.addEventListener('change', updateFvChannelLimit);
el.fvStart.addEventListener('click', () => void startVisualisation(el.fvTap.value, el.fvChannel.valueAsNumber));
el.fvStop.addEventListener('click', () => void stopVisualisation());

/** Stop the running visualisation (if any) and wait until it has let go of its GPU buffers. */
async function stopVisualisation(): Promise<void> {
  const fv = state.fv;
  if (!fv) return;
  fv.controller.abort(new DOMException('stopped', 'AbortError'));
  await fv.done;
}

/** Optimise an image for `channel` of `tap` at the panel's size and steps, drawn live; Stop ends it. */
async function startVisualisation(tap: string, channel: number): Promise<void> {
  const engine = state.engine;
  if (!engine || !state.checkpoint) return;
  await stopVisualisation();
  const why = visualisable(engine, tap);
  const channels = fvTaps().includes(tap) ? tapShape(tap, 1, 224, 224, arch())[1] : 0;
  if (why || !Number.isInteger(channel) || channel < 0 || channel >= channels) {
    setStatus(el.fvStatus, why ?? `channel ${channel} is out of range for ${tap} (0..${channels - 1})`, true);
    document.body.dataset.fv = 'error';
    return;
  }
  el.fvTap.value = tap;
  updateFvChannelLimit();
  el.fvChannel.value = String(channel);
  const size = Number(el.fvSize.value);
  const steps = Number(el.fvSteps.value);
  const seed = 0;
  const id = ++state.fvRuns;
  const controller = new AbortController();
  const objective = new Float32Array(steps);
  const what = `${tap}, channel ${channel}, ${size} px, ${steps} steps, jitter ${jitterForTap(tap)}`;
  let last: VisualiseProgress | null = null;
  const show = (p: VisualiseProgress) => {
    last = p;
    objective[p.step - 1] = p.objective[0];
    if (p.images) {
      drawFvImage(el.fvCanvas, p.images[0]);
      drawObjective(el.fvObjective, objective, p.step, steps);
      el.fvCaption.textContent = `${tap} #${channel}, step ${p.step}`;
    }
    setStatus(el.fvStatus, `${what}: step ${p.step} of ${steps}, ${p.stepsPerSecond.toFixed(2)} steps/s, ` +
      `objective ${p.objective[0].toPrecision(5)} (from ${objective[0].toPrecision(5)} at step 1).`);
    Object.assign(document.body.dataset, { fvStep: String(p.step) });
    Object.assign(el.fvStatus.dataset, { first: String(objective[0]), last: String(p.objective[0]), stepsPerSecond: String(p.stepsPerSecond) });
  };
  el.fvStop.disabled = false;
  document.body.dataset.fv = 'running';
  document.body.dataset.fvRun = String(id);
  el.fvCanvas.dataset.draws = '0';
  el.fvCanvas.dataset.checksums = '';
  delete document.body.dataset.fvStep;
  setStatus(el.fvStatus, `${what}: building the backward pass…`);
  el.fvCaption.textContent = `${tap} #${channel}`;
  const done = (async () => {
    try {
      const result = await visualiseChannels(engine, { tap, channels: [channel], size, steps, seed, previewEvery: 4, onStep: show, signal: controller.signal });
      drawFvImage(el.fvCanvas, result.images[0]);
      drawObjective(el.fvObjective, result.objective[0], steps, steps);
      setStatus(el.fvStatus, `${what}: done in ${(result.elapsedMs / 1000).toFixed(1)} s, ${result.stepsPerSecond.toFixed(2)} steps/s; ` +
        `objective ${result.objective[0][0].toPrecision(5)} at step 1, ${result.objective[0][steps - 1].toPrecision(5)} at step ${steps}.`);
      document.body.dataset.fv = 'done';
    } catch (e) {
      if (controller.signal.aborted) {
        const p = last as VisualiseProgress | null;
        setStatus(el.fvStatus, `${what}: stopped at step ${p?.step ?? 0}${p ? ` (${p.stepsPerSecond.toFixed(2)} steps/s, objective ${p.objective[0].toPrecision(5)})` : ''}.`);
        document.body.dataset.fv = 'stopped';
      } else {
        console.warn(e);
        setStatus(el.fvStatus, `${what}: ${message(e)}`, true);
        document.body.dataset.fv = 'error';
      }
    } finally {
      if (state.fv?.controller === controller) state.fv = null;
      el.fvStop.disabled = state.fv === null;
    }
  })();
  state.fv = { controller, done };
  await done;
}

// ---------------------------------------------------------------------------------------------
// Start

drawColourBar(el.colourBar);
showArchitecture();
updateFvTaps();
drawObjective(el.fvObjective, [], 0, 1);
const offered = offeredWeights();
for (const url of offered) el.weightsList.append(new Option(url, url));
if (offered.length) el.weightsUrl.value = offered[0];
await startEngine();
// A generated image from the start, so the page runs with nothing but weights.
setImage(renderStimulus(STIMULI[0]), STIMULI[0].name);
