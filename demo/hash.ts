// The demo's whole view in the URL's hash, so that a view can be linked and restored:
//   #weights=URL|random:SEED&image=STIMULUS|URL&block=3.1&channel=7&readout=output&variant=post-relu
//    &zoom=1.25|out&ablate=1,7,9&mode=zero|mean&analysis=URL
// Keys at their defaults are left out; unknown keys and malformed values are ignored (the default
// stands). Pure: parseHash(formatHash(v)) gives v back for every view the page can be in.

export type Readout = 'input' | 'branch' | 'output';
export type AblationMode = 'zero' | 'mean';
/** A zoom factor s of S_s (1 = none, 1.5 = S) or 'out' for S^-1. */
export type Zoom = number | 'out';

export interface ViewState {
  /** A weights URL, or 'random:SEED' for the page's seeded random ResNet18. */
  weights?: string;
  /** A generated stimulus's name, or an image URL. */
  image?: string;
  block?: string;
  channel?: number;
  readout: Readout;
  variant: 'post-relu' | 'pre-relu';
  zoom: Zoom;
  /** Channels of the readout replaced in the forward (sorted, distinct). */
  ablate: number[];
  mode: AblationMode;
  /** The URL of an analysis folder (its analysis.json and site/). */
  analysis?: string;
}

export const ZOOM_FACTORS = [1, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3, 1.35, 1.4, 1.45, 1.5];

export const DEFAULT_VIEW: ViewState = { readout: 'output', variant: 'post-relu', zoom: 1, ablate: [], mode: 'zero' };

/** The nearest factor of the sweep's grid (1.0 to 1.5 in steps of 0.05), or null outside it. */
export function zoomFactor(text: string): number | null {
  const v = Number(text);
  if (!Number.isFinite(v) || v < 1 - 1e-9 || v > 1.5 + 1e-9) return null;
  return ZOOM_FACTORS.reduce((best, f) => (Math.abs(f - v) < Math.abs(best - v) ? f : best), 1);
}

export function parseHash(hash: string): ViewState {
  const v: ViewState = { ...DEFAULT_VIEW, ablate: [] };
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const text = (k: string) => params.get(k) ?? undefined;
  const weights = text('weights');
  if (weights) v.weights = weights;
  const image = text('image');
  if (image) v.image = image;
  const block = text('block');
  if (block && /^\d+\.\d+$/.test(block)) v.block = block;
  const channel = Number(text('channel'));
  if (text('channel') !== undefined && Number.isInteger(channel) && channel >= 0) v.channel = channel;
  const readout = text('readout');
  if (readout === 'input' || readout === 'branch' || readout === 'output') v.readout = readout;
  const variant = text('variant');
  if (variant === 'post-relu' || variant === 'pre-relu') v.variant = variant;
  const zoom = text('zoom');
  if (zoom === 'out') v.zoom = 'out';
  else if (zoom !== undefined) v.zoom = zoomFactor(zoom) ?? 1;
  const ablate = text('ablate');
  if (ablate) {
    const channels = ablate.split(',').map(Number).filter((c) => Number.isInteger(c) && c >= 0);
    v.ablate = [...new Set(channels)].sort((a, b) => a - b);
  }
  const mode = text('mode');
  if (mode === 'zero' || mode === 'mean') v.mode = mode;
  const analysis = text('analysis');
  if (analysis) v.analysis = analysis;
  return v;
}

export function formatHash(v: ViewState): string {
  const params = new URLSearchParams();
  if (v.weights) params.set('weights', v.weights);
  if (v.image) params.set('image', v.image);
  if (v.block !== undefined) params.set('block', v.block);
  if (v.channel !== undefined) params.set('channel', String(v.channel));
  if (v.readout !== DEFAULT_VIEW.readout) params.set('readout', v.readout);
  if (v.variant !== DEFAULT_VIEW.variant) params.set('variant', v.variant);
  if (v.zoom !== DEFAULT_VIEW.zoom) params.set('zoom', v.zoom === 'out' ? 'out' : v.zoom.toFixed(2));
  if (v.ablate.length) params.set('ablate', v.ablate.join(','));
  if (v.mode !== DEFAULT_VIEW.mode) params.set('mode', v.mode);
  if (v.analysis) params.set('analysis', v.analysis);
  const s = params.toString().replace(/%2C/g, ',').replace(/%3A/g, ':').replace(/%2F/g, '/');
  return s ? `#${s}` : '';
}
