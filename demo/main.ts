// The demo page: weights (file, URL or random) and an image (dropped, chosen or generated) go through
// one of torchvision's ResNets on WebGPU in this page (the architecture recognised from the
// checkpoint; the block picker, taps and readouts follow it); it shows the top-5 classes, then the residual stream block by
// block: for one channel, the skip I, the branch B and the output O as heatmaps on a shared scale,
// the centre unit outlined; with an analysis.json loaded, the channel's M and category and the
// block's histogram of M (Chart.js, as in the report); clicking a map (or the feature-visualisation
// panel's tap and channel) optimises an image for that channel live (visualiseChannels, the library's
// FV API). A zoom slider (the analysis' S_s and S^-1) re-runs the forward; channels of a readout can be
// ablated (zero or mean; the top-5 is then the ablated forward's); an analysis folder loaded by URL or
// from disk links each channel to its page in the site `analyze` writes. The whole view lives in the
// URL's hash (demo/hash.ts), so it can be linked and restored. State for tests is mirrored on <body data-*>.

import {
  type AnalysisJson, type Architecture, type BlockReadouts, type Checkpoint, type HostTensor, type ResNetEngine,
  type RgbImage, type TapName, type Variant, type VisualiseProgress,
  allTapNames, architectureOf, centreIndex, createEngine, describeCheckpoint, imageToRgb, jitterForTap, loadCheckpointFrom, readoutsFor,
  tapShape, topK, visualisable, visualiseChannels,
} from '../src/index';
import { renderStimulus, stimulusSpecs, type StimulusFamily } from '../src/analysis/stimuli';
import { normalize, toTensor, torchvisionEvalImage } from '../src/image/transforms';
import { zoom, zoomOut } from '../src/image/zoom';
import type { Ablation } from '../src/model/planner';
import { SITE_DIR, channelPagePath } from '../src/report/site-paths';
import { checkpointFromTensors } from '../src/weights/load';
import { displayName } from '../src/model/family';
import { randomWeights } from '../src/weights/random';
import { COLOURS, clearHistogram, drawFractions, drawHistogram } from './charts';
import { drawFvImage, drawObjective } from './fv-draw';
import { type AblationMode, type Readout, type ViewState, type Zoom, formatHash, parseHash, zoomFactor } from './hash';
import { channelMean, channelPlane, diverging, drawColourBar, drawMap, drawRgb, sharedScale } from './heatmap';
import { folderFiles, rewritePage } from './folder';

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
  analysisFolder: $<HTMLInputElement>('analysis-folder'),
  analysisForm: $<HTMLFormElement>('analysis-url-form'),
  analysisUrl: $<HTMLInputElement>('analysis-url'),
  zoom: $<HTMLInputElement>('zoom'),
  zoomValue: $('zoom-value'),
  zoomOut: $<HTMLInputElement>('zoom-out'),
  zoomTrace: $<HTMLTableElement>('zoom-trace'),
  ablateReadout: $<HTMLSelectElement>('ablate-readout'),
  ablateMode: $<HTMLSelectElement>('ablate-mode'),
  ablateToggle: $<HTMLButtonElement>('ablate-toggle'),
  ablateSi: $<HTMLButtonElement>('ablate-si'),
  ablateClear: $<HTMLButtonElement>('ablate-clear'),
  ablationStatus: $('ablation-status'),
  top5Clean: $('top5-clean'),
  channelPageLine: $('channel-page-line'),
  channelPage: $<HTMLAnchorElement>('channel-page'),
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
  /** Where the analysis came from: a served folder's URL (ending in '/'), or a folder's files by relative path. */
  analysisUrl: null as string | null,
  analysisFiles: null as Map<string, File> | null,
  /** How the weights and the image can be named in a link (null: a file of the user's, not linkable). */
  weightsRef: null as string | null,
  imageRef: null as string | null,
  readout: 'output' as Readout,
  zoom: 1 as Zoom,
  ablate: new Set<number>(),
  ablateMode: 'zero' as AblationMode,
  /** The centre unit of the shown channel per zoom visited: 'out' or the factor's text -> [I, B, O]. */
  trace: new Map<string, [number, number, number]>(),
  traceKey: '',
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

async function loadWeights(what: string, get: (onProgress: (loaded: number, total: number | undefined) => void) => Promise<Checkpoint>,
  ref: string | null = null): Promise<void> {
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
    state.weightsRef = ref;
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
  if (url) void loadWeightsRef(url);
});

el.weightsRandom.addEventListener('click', () => void loadWeightsRef(`random:${1 + Math.floor(Math.random() * 1e6)}`));

/** Weights named as a link names them: a URL, or 'random:SEED' (the page's seeded random ResNet18). */
function loadWeightsRef(ref: string): Promise<void> {
  const seed = /^random:(\d+)$/.exec(ref);
  if (seed) {
    const what = `random weights (seed ${seed[1]})`;
    return loadWeights(what, async () => checkpointFromTensors(randomWeights(Number(seed[1])), what), ref);
  }
  return loadWeights(ref, (onProgress) => loadCheckpointFrom(ref, { onProgress }), ref);
}

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

function setImage(rgb: RgbImage, label: string, ref: string | null = null): void {
  state.imageRef = ref;
  const crop = torchvisionEvalImage(rgb);
  drawRgb(el.imagePreview, crop);
  state.input = normalize(toTensor(crop));
  state.imageLabel = label;
  setStatus(el.imageStatus, `${label}: ${rgb.width}×${rgb.height}, seen as the central 224×224 after Resize(256).`);
  document.body.dataset.image = label;
  void run();
}

/** An image named as a link names it: a generated stimulus's name, or a URL. */
async function setImageRef(ref: string): Promise<void> {
  const spec = STIMULI.find((s) => s.name === ref) ?? stimulusSpecs().find((s) => s.name === ref);
  if (spec) {
    el.stimulus.value = spec.name;
    setImage(renderStimulus(spec), spec.name, spec.name);
    return;
  }
  try {
    const response = await fetch(ref);
    if (!response.ok) throw new Error(`${ref}: HTTP ${response.status}`);
    setImage(await imageToRgb(await response.blob()), ref.split('/').pop() || ref, ref);
  } catch (e) {
    console.warn(e);
    setStatus(el.imageStatus, message(e), true);
  }
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
  if (spec) setImage(renderStimulus(spec), spec.name, spec.name);
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
    const input = zoomed(state.input, state.zoom);
    const t0 = performance.now();
    const clean = await engine.forward(input, { taps });
    // The ablated forward: the chosen channels of the readout replaced (zero, or their mean on this image).
    const ablation = ablationOf(clean);
    const out = ablation
      ? new Map([...clean, ...await engine.forward(input, { taps: [...(classify ? ['fc'] : []), ...blockTaps(state.block)], ablations: [ablation] })])
      : clean;
    const ms = performance.now() - t0;
    if (id !== state.runs) return; // a newer run replaces this one
    state.taps = out;
    setStatus(el.runStatus, `${state.imageLabel}${zoomText(state.zoom, true)}: ${ablation ? 'two forwards (clean and ablated)' : 'forward'} and ${taps.length} taps read back in ${ms.toFixed(0)} ms.`);
    el.timing.textContent = `last forward: ${ms.toFixed(0)} ms on ${engine.adapter.name}`;
    showClasses(classify ? out.get('fc')! : null, reach.lastComputable, reach.missingTensors);
    showCleanClasses(ablation && classify ? clean.get('fc')! : null, classify ? out.get('fc')! : null);
    showAblation(ablation);
    updateBlockOptions();
    renderStream();
    document.body.dataset.run = 'done';
    document.body.dataset.runs = String(id);
    document.body.dataset.shown = formatHash(currentView());
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

/** Without ablation: the clean forward's top-5, beside the ablated one's. */
function showCleanClasses(clean: HostTensor | null, ablated: HostTensor | null): void {
  el.top5Clean.hidden = clean === null;
  if (!clean || !ablated) return;
  const before = topK(clean.data, 5);
  const after = new Set(topK(ablated.data, 5).map((c) => c.index));
  el.top5Clean.textContent = `Without the ablation: ${before.map((c) => `${c.name} ${(100 * c.probability).toFixed(1)} %`).join(', ')}.`;
  el.top5Clean.dataset.top = before.map((c) => c.index).join(',');
  for (const li of Array.from(el.top5.children) as HTMLElement[]) li.classList.toggle('changed', !before.some((c) => String(c.index) === li.dataset.index));
  el.top5.dataset.dropped = before.filter((c) => !after.has(c.index)).map((c) => c.index).join(',');
}

// ---------------------------------------------------------------------------------------------
// Zoom and ablation

/** The normalised image under the zoom: S_s (s in 1.0 .. 1.5; 1 is the image itself) or S^-1. */
function zoomed(x: HostTensor, z: Zoom): HostTensor {
  if (z === 'out') return zoomOut(x);
  return z === 1 ? x : zoom(x, z);
}

function zoomText(z: Zoom, lead = false): string {
  if (z === 'out') return `${lead ? ', ' : ''}S⁻¹ (zoomed out 2×)`;
  if (z === 1) return lead ? '' : 's = 1.00 (none)';
  return `${lead ? ', ' : ''}s = ${z.toFixed(2)}${z === 1.5 ? ' (S)' : ''}`;
}

/** The ablation the view asks for, given the clean forward's taps (for the means), or null. */
function ablationOf(clean: Map<TapName, HostTensor>): Ablation | null {
  if (!state.ablate.size || !state.computableBlocks.includes(state.block)) return null;
  const tap = readouts(state.block, state.variant)[state.readout];
  const t = clean.get(tap);
  if (!t) return null;
  const channels = [...state.ablate].filter((c) => c < t.shape[1]).sort((a, b) => a - b);
  if (!channels.length) return null;
  return state.ablateMode === 'mean' ? { tap, channels, values: channels.map((c) => channelMean(t, c)) } : { tap, channels };
}

function showAblation(a: Ablation | null): void {
  el.ablateClear.disabled = state.ablate.size === 0;
  el.ablateToggle.textContent = `${state.ablate.has(state.channel) ? 'Restore' : 'Ablate'} channel ${state.channel}`;
  if (!a) {
    setStatus(el.ablationStatus, state.ablate.size ? 'The ablation waits for a forward of this block.' : 'No channel ablated.');
    for (const k of ['tap', 'channels', 'values']) delete el.ablationStatus.dataset[k];
    return;
  }
  setStatus(el.ablationStatus, `Ablated in ${a.tap}: channel${a.channels.length > 1 ? 's' : ''} ${a.channels.join(', ')} set to ` +
    `${a.values ? `their means on this image (${a.values.map((v) => v.toPrecision(3)).join(', ')})` : 'zero'}; the top-5 and the maps are of the ablated forward.`);
  Object.assign(el.ablationStatus.dataset, { tap: a.tap, channels: a.channels.join(','), values: (a.values ?? []).join(',') });
}

function setZoom(z: Zoom): void {
  state.zoom = z;
  el.zoomOut.checked = z === 'out';
  el.zoom.disabled = z === 'out';
  if (z !== 'out') el.zoom.value = String(z);
  el.zoomValue.textContent = zoomText(z);
  void run();
}

el.zoom.addEventListener('input', () => setZoom(zoomFactor(el.zoom.value) ?? 1));
el.zoomOut.addEventListener('change', () => setZoom(el.zoomOut.checked ? 'out' : zoomFactor(el.zoom.value) ?? 1));

function setAblation(channels: Iterable<number>): void {
  state.ablate = new Set(channels);
  void run();
}

el.ablateToggle.addEventListener('click', () => {
  const next = new Set(state.ablate);
  if (next.has(state.channel)) next.delete(state.channel);
  else next.add(state.channel);
  setAblation(next);
});
el.ablateClear.addEventListener('click', () => setAblation([]));
el.ablateSi.addEventListener('click', () => {
  const block = state.analysis?.blocks.find((b) => b.block === state.block);
  if (!block) return;
  el.ablateReadout.value = state.readout = 'output'; // the follow-up ablates the scale-invariant channels in O
  setAblation(block.channels.filter((c) => c.scaleInvariant).map((c) => c.channel));
});
el.ablateReadout.addEventListener('change', () => {
  state.readout = el.ablateReadout.value as Readout;
  void run();
});
el.ablateMode.addEventListener('change', () => {
  state.ablateMode = el.ablateMode.value as AblationMode;
  void run();
});

/** The centre unit at each zoom visited, for the shown image, block, channel and ablation. */
function traceZoom(i: number, b: number, o: number): void {
  const key = [state.imageLabel, state.block, state.channel, state.variant, state.readout, [...state.ablate].join(','), state.ablateMode, state.checkpoint?.source].join('|');
  if (key !== state.traceKey) {
    state.trace.clear();
    state.traceKey = key;
  }
  const here = state.zoom === 'out' ? 'out' : state.zoom.toFixed(2);
  state.trace.set(here, [i, b, o]);
  const rows = [...state.trace].sort(([a], [b2]) => (a === 'out' ? -1 : b2 === 'out' ? 1 : Number(a) - Number(b2)));
  const body = el.zoomTrace.tBodies[0];
  body.replaceChildren(...rows.map(([z, v]) => {
    const tr = document.createElement('tr');
    tr.className = z === here ? 'current' : '';
    tr.dataset.zoom = z;
    for (const text of [z === 'out' ? 'S⁻¹' : `s = ${z}`, ...v.map((x) => fmt(x))]) tr.insertCell().textContent = text;
    return tr;
  }));
  el.zoomTrace.hidden = false;
}

// ---------------------------------------------------------------------------------------------
// The view in the URL's hash

function currentView(): ViewState {
  return {
    weights: state.weightsRef ?? undefined,
    image: state.imageRef ?? undefined,
    block: state.block,
    channel: state.channel,
    readout: state.readout,
    variant: state.variant,
    zoom: state.zoom,
    ablate: [...state.ablate].sort((a, b) => a - b),
    mode: state.ablateMode,
    analysis: state.analysisUrl ?? undefined,
  };
}

function writeHash(): void {
  const hash = formatHash(currentView());
  if (hash !== location.hash && !(hash === '' && location.hash === '')) history.replaceState(null, '', hash || location.pathname + location.search);
}

/** Restore a view: the controls first, then the analysis, the image and the weights (each only if it changed), then one forward. */
async function applyView(v: ViewState): Promise<void> {
  state.variant = v.variant;
  el.variant.value = v.variant;
  if (v.block) state.block = v.block;
  if (v.channel !== undefined) state.channel = v.channel;
  state.readout = v.readout;
  el.ablateReadout.value = v.readout;
  state.ablateMode = v.mode;
  el.ablateMode.value = v.mode;
  state.ablate = new Set(v.ablate);
  state.zoom = v.zoom;
  el.zoomOut.checked = v.zoom === 'out';
  el.zoom.disabled = v.zoom === 'out';
  if (v.zoom !== 'out') el.zoom.value = String(v.zoom);
  el.zoomValue.textContent = zoomText(v.zoom);
  if (v.analysis && v.analysis !== state.analysisUrl) await loadAnalysisUrl(v.analysis);
  if (v.image && v.image !== state.imageRef) await setImageRef(v.image);
  if (v.weights && v.weights !== state.weightsRef) await loadWeightsRef(v.weights);
  else await run();
}

window.addEventListener('hashchange', () => void applyView(parseHash(location.hash)));

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
  const ablated = state.ablate.size > 0;
  state.ablate = new Set(); // the channels were the other block's
  setChannel(state.channel);
  renderAnalysis(true);
  if (ablated) void run();
});
el.channel.addEventListener('input', () => setChannel(el.channel.valueAsNumber));
el.channelRange.addEventListener('input', () => setChannel(el.channelRange.valueAsNumber));
el.variant.addEventListener('change', () => {
  state.variant = el.variant.value as Variant;
  if (state.ablate.size) void run(); // the ablated readouts are the variant's taps
  else renderStream();
});
for (const k of ['input', 'branch', 'output'] as const) {
  el.maps[k].title = 'click: visualise this channel of this tap';
  el.maps[k].addEventListener('click', () => {
    if (!state.taps || !state.computableBlocks.includes(state.block)) return;
    void startVisualisation(readouts(state.block, state.variant)[k], state.channel);
  });
}
function stripChannel(e: MouseEvent): number {
  const rect = el.channelStrip.getBoundingClientRect();
  const { cols, rows } = stripLayout(readouts(state.block).channels);
  const col = Math.floor(((e.clientX - rect.left) / rect.width) * cols);
  const row = Math.floor(((e.clientY - rect.top) / rect.height) * rows);
  return row * cols + col;
}
el.channelStrip.addEventListener('click', (e) => {
  const c = stripChannel(e);
  if (!e.shiftKey) return setChannel(c);
  const next = new Set(state.ablate);
  if (next.has(c)) next.delete(c);
  else next.add(c);
  setAblation(next);
});
el.channelStrip.addEventListener('dblclick', (e) => {
  setChannel(stripChannel(e));
  if (!el.channelPageLine.hidden) el.channelPage.click();
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
  traceZoom(planes.input[at], planes.branch[at], planes.output[at]);
  drawStrip(tensors.output);
  el.ablateToggle.textContent = `${state.ablate.has(state.channel) ? 'Restore' : 'Ablate'} channel ${state.channel}`;
  document.body.dataset.view = `${state.block}:${state.channel}:${state.variant}`;
  renderAnalysis(false);
  writeHash();
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
    if (state.ablate.has(c)) {
      ctx.fillStyle = '#111';
      ctx.fillRect(x + cw * 0.25, y + ch * 0.3, cw * 0.5, ch * 0.2);
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

/** Show an analysis.json's text (named `label`), from a file, a folder or a URL; throws if it is not one. */
function setAnalysis(text: string, label: string): void {
  const parsed: unknown = JSON.parse(text);
  if (!isAnalysis(parsed)) throw new Error(`${label} is not an analysis.json of resnet-stream (version 1, blocks with channels)`);
  state.analysis = parsed;
  const meta = parsed.meta;
  const skipped = parsed.skipped?.length ? `; skipped: ${parsed.skipped.map((s) => `${s.block} (${s.reason})`).join(', ')}` : '';
  setStatus(el.analysisStatus, `${label}: blocks ${parsed.blocks.map((b) => b.block).join(', ')}; ${meta.probes} probes, ` +
    `${meta.variant} readouts, ${meta.images} images${meta.weights ? `, weights ${String(meta.weights)}` : ''}${skipped}.`);
  if (meta.variant && meta.variant !== state.variant) {
    state.variant = meta.variant;
    el.variant.value = meta.variant;
  }
  drawFractions(el.fractions, parsed);
  document.body.dataset.analysis = 'loaded';
  renderStream();
  renderAnalysis(true);
}

async function loadAnalysis(what: () => Promise<void>): Promise<void> {
  try {
    await what();
  } catch (e) {
    console.warn(e);
    setStatus(el.analysisStatus, message(e), true);
    document.body.dataset.analysis = 'error';
  }
}

el.analysisFile.addEventListener('change', () => void loadAnalysis(async () => {
  const file = el.analysisFile.files?.[0];
  if (!file) return;
  state.analysisUrl = null;
  state.analysisFiles = null;
  setAnalysis(await file.text(), file.name);
}));

el.analysisFolder.addEventListener('change', () => void loadAnalysis(async () => {
  const files = folderFiles(Array.from(el.analysisFolder.files ?? []));
  const json = files.get('analysis.json');
  if (!json) throw new Error('the folder has no analysis.json (choose the folder `resnet-stream analyze --out` wrote)');
  state.analysisUrl = null;
  state.analysisFiles = files;
  setAnalysis(await json.text(), `${json.webkitRelativePath || json.name}${files.has(`${SITE_DIR}/index.html`) ? ' (with its site)' : ' (no site/ in it)'}`);
}));

/** An analysis folder served over HTTP: its analysis.json, and links into its site/. */
async function loadAnalysisUrl(url: string): Promise<void> {
  await loadAnalysis(async () => {
    const base = url.endsWith('/') ? url : `${url}/`;
    const response = await fetch(new URL('analysis.json', new URL(base, location.href)));
    if (!response.ok) throw new Error(`${base}analysis.json: HTTP ${response.status}`);
    state.analysisUrl = base;
    state.analysisFiles = null;
    el.analysisUrl.value = base;
    setAnalysis(await response.text(), `${base}analysis.json`);
  });
}

el.analysisForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const url = el.analysisUrl.value.trim();
  if (url) void loadAnalysisUrl(url);
});

/** The shown channel's page in the loaded analysis' site (a link into a served folder, or the page made from a chosen folder's files). */
function updateChannelPage(inAnalysis: boolean): void {
  const path = `${SITE_DIR}/${channelPagePath(state.block, state.channel)}`;
  const available = inAnalysis && (state.analysisUrl !== null || !!state.analysisFiles?.has(path));
  el.channelPageLine.hidden = !available;
  if (!available) return;
  el.channelPage.textContent = `Block ${state.block}, channel ${state.channel}: its page`;
  el.channelPage.href = state.analysisUrl !== null ? `${state.analysisUrl}${path}` : '#';
  el.channelPage.dataset.path = path;
}

el.channelPage.addEventListener('click', (e) => {
  const files = state.analysisFiles;
  if (state.analysisUrl !== null || !files) return; // a plain link
  e.preventDefault();
  void (async () => {
    const page = await rewritePage(files, el.channelPage.dataset.path ?? '');
    if (page) window.open(page, '_blank', 'noopener');
  })();
});

function renderAnalysis(blockChanged: boolean): void {
  const analysis = state.analysis;
  if (!analysis) return;
  el.analysisCharts.hidden = false;
  const result = analysis.blocks.find((b) => b.block === state.block);
  updateChannelPage(!!result?.channels.some((c) => c.channel === state.channel));
  el.ablateSi.disabled = !result?.channels.some((c) => c.scaleInvariant);
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
const offeredAnalysis = document.querySelector<HTMLMetaElement>('meta[name="resnet-stream:analysis"]')?.content ?? '';
if (offeredAnalysis) el.analysisUrl.value = offeredAnalysis;
await startEngine();
// The view in the link, if any; else a generated image from the start, so the page runs with nothing but weights.
const linked = parseHash(location.hash);
if (!linked.image) setImage(renderStimulus(STIMULI[0]), STIMULI[0].name, STIMULI[0].name);
await applyView(linked);
document.body.dataset.restored = 'yes';
