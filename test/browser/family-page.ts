// Page script of the browser family test: a checkpoint of any of torchvision's ResNets fetched by URL
// and loaded with the public API (loadCheckpointInto), then one forward of a given input; the taps
// come back as base64 float32 bytes (a few MB, where JSON numbers would be tens).

import { FAMILY_NAMES, ResNetEngine, allTapNames, defaultBlocks, loadCheckpointInto } from '../../src/index';

interface FamilyRun {
  architecture: string;
  /** What the page's readout helpers see: the loaded network's blocks, default blocks and taps. */
  blocks: string[];
  defaults: string[];
  tapCount: number;
  known: boolean;
  missing: number;
  taps: Record<string, { shape: number[]; base64: string }>;
}

declare global {
  interface Window {
    runFamily(url: string, input: { shape: number[]; base64: string }, taps: string[]): Promise<FamilyRun>;
    loadError(url: string): Promise<string>;
  }
}

function toBase64(data: Float32Array): string {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

function fromBase64(base64: string): Float32Array {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

window.runFamily = async (url, input, taps) => {
  const engine = await ResNetEngine.create({ featureLevel: 'core' });
  try {
    const checkpoint = await loadCheckpointInto(engine, url);
    const arch = engine.architecture;
    const out = await engine.forward({ shape: input.shape, data: fromBase64(input.base64) }, { taps });
    const result: FamilyRun['taps'] = {};
    for (const [name, t] of out) result[name] = { shape: t.shape, base64: toBase64(t.data) };
    return {
      architecture: checkpoint.architecture === arch.name ? arch.name : `${checkpoint.architecture} != ${arch.name}`,
      blocks: arch.blocks.map((b) => b.short),
      defaults: defaultBlocks(arch),
      tapCount: allTapNames(arch).length,
      known: FAMILY_NAMES.includes(arch.name),
      missing: checkpoint.missing.length,
      taps: result,
    };
  } finally {
    engine.dispose();
  }
};

window.loadError = async (url) => {
  const engine = await ResNetEngine.create({ featureLevel: 'core' });
  try {
    await loadCheckpointInto(engine, url);
    return 'loaded';
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    engine.dispose();
  }
};
