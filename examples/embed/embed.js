// A page that embeds resnet-stream with nothing but the bundle: create an engine (WebGPU core, else
// compatibility mode), load weights from a URL with progress, run a canvas through the network and
// print the top-5 classes. window.embedResult holds the outcome for tests.
import { createEngine, imageToTensor, loadWeightsFrom, topK } from '../../dist/resnet-stream.js';

const out = document.getElementById('out');
const say = (line) => { out.textContent += `\n${line}`; };
const weightsUrl = new URLSearchParams(location.search).get('weights') ?? 'resnet18-f37072fd.pth';

// A picture to classify: rings over a colour gradient, drawn pixel by pixel so it is the same everywhere.
const canvas = document.getElementById('picture');
const pixels = new ImageData(canvas.width, canvas.height);
for (let y = 0; y < canvas.height; y++) {
  for (let x = 0; x < canvas.width; x++) {
    const r = Math.hypot(x - 128, y - 128);
    const ring = 0.5 + 0.5 * Math.cos(r / 6);
    const i = (y * canvas.width + x) * 4;
    pixels.data.set([Math.round(255 * ring * x / 255), Math.round(255 * (1 - ring) * y / 255), Math.round(200 * ring), 255], i);
  }
}
canvas.getContext('2d').putImageData(pixels, 0, 0);

try {
  out.textContent = 'creating the engine…';
  const engine = await createEngine();
  say(`adapter: ${engine.adapter.name} (${engine.adapter.featureLevel})`);
  const weights = await loadWeightsFrom(weightsUrl, {
    onProgress: (loaded, total) => { out.dataset.progress = `${loaded}/${total ?? '?'}`; },
  });
  engine.loadWeights(weights);
  say(`weights: ${weightsUrl} (${(engine.weightBytes / 2 ** 20).toFixed(1)} MiB on the GPU)`);
  const t0 = performance.now();
  const taps = await engine.forward(await imageToTensor(canvas), { taps: ['fc'] });
  const top5 = topK(taps.get('fc').data, 5);
  say(`forward: ${(performance.now() - t0).toFixed(0)} ms`);
  top5.forEach((c, k) => say(`${k + 1}. ${c.name} (class ${c.index}): ${(100 * c.probability).toFixed(2)} %`));
  window.embedResult = { ok: true, adapter: engine.adapter, top5, progress: out.dataset.progress };
  engine.dispose();
} catch (e) {
  say(`error: ${e.message}`);
  window.embedResult = { ok: false, error: String(e.message ?? e) };
}
