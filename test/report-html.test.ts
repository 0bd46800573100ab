// The report renders from analysis.json's content into one self-contained page; CSV per block; PNG thumbnails.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AnalysisJson, type ImageRef, analysisToJson, runDatasetAnalysis } from '../src/analysis/analyze';
import { stimulusSpecs } from '../src/analysis/stimuli';
import { renderStimulus } from '../src/analysis/stimuli';
import { syntheticEngine } from './helpers/synthetic';
import { blockCsv } from '../src/report/csv';
import { escapeHtml, renderReport } from '../src/report/html';
import { encodePng } from '../src/image/png';
import { loadChartJs, thumbnailDataUri, writeAnalysisOutputs } from '../src/report/report-node';

let analysis: AnalysisJson;
const specs = stimulusSpecs().filter((_, i) => i % 6 === 0); // 53 stimuli
const images: ImageRef[] = specs.map((s, index) => ({ index, name: s.name }));

beforeAll(async () => {
  const engine = syntheticEngine(3);
  analysis = await runDatasetAnalysis({
    images, blocks: ['1.1', '2.0', '2.1'], topK: 4, batchSize: 16, forwardCentres: engine.forwardCentres,
    params: { '1.1': { bn2Gamma: new Float32Array(64).fill(1), conv2Weight: new Float32Array(64 * 64 * 9).map((_, i) => Math.sin(i)) } },
    skipped: [{ block: '4.0', reason: 'checkpoint lacks layer4.0.conv1.weight' }, { block: '4.1', reason: 'checkpoint lacks layer4.0.conv1.weight' }],
    meta: { weights: 'synthetic', adapter: 'none (synthetic engine)' }, now: () => new Date('2025-01-01T00:00:00Z'),
  });
});

describe('renderReport', () => {
  it('is one self-contained page with every section, canvas and the data', () => {
    const html = renderReport(analysis, { chartJs: '/* chart.js stand-in */ window.Chart = undefined;' });
    expect(html.startsWith('<!doctype html>')).toBe(true);
    for (const id of ['hist-1.1', 'hist-2.0', 'hist-2.1', 'fractions-chart', 'scatter-branch', 'scatter-tuning', 'scatter-weight', 'channel-table']) {
      expect(html).toContain(`id="${id}"`);
    }
    // 2 x 4 panels: three analysed, the others marked, the skipped ones as such, with a grouped notice.
    expect(html.match(/class="panel placeholder"><div class="chart">Block /g)?.length).toBe(5);
    expect(html).toContain('Block 4.0: skipped (see notices)');
    expect(html).toContain('Block 3.0: not analysed');
    expect(html).toContain('4.0, 4.1 skipped: checkpoint lacks layer4.0.conv1.weight');
    expect(html).toContain('meaningless: BatchNorm folded (gamma all 1)');
    // Metadata, the per-channel table (one row per channel), CSV links, no external resources.
    expect(html).toContain('<dt>weights</dt><dd>synthetic</dd>');
    expect(html.match(/<tr data-block=/g)?.length).toBe(64 + 128 + 128);
    expect(html).toContain('href="block-2.1.csv"');
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link[^>]+href=/);
    const data = JSON.parse(html.match(/<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/)?.[1] ?? 'null');
    expect(data.histograms.length).toBe(8);
    expect(data.histograms.find((h: { block: string }) => h.block === '2.1').counts.length).toBe(20);
    expect(data.fractions.blocks).toEqual(['1.1', '2.0', '2.1']);
  });

  it('embeds each thumbnail once, as CSS, and falls back to names', () => {
    const uri = 'data:image/png;base64,AAAA';
    const html = renderReport(analysis, { imageSrc: (name) => (name.startsWith('grating') ? uri : undefined) });
    const rules = html.match(/\.t\d+\{background-image:url\("data:image\/png;base64,AAAA"\)\}/g) ?? [];
    const used = new Set(html.match(/class="thumb (t\d+)"/g));
    expect(rules.length).toBe(used.size);
    expect(html).toContain('class="thumb missing"');
    expect(html).toContain('Chart.js was not inlined');
  });

  it('escapes text and keeps inline scripts closed', () => {
    expect(escapeHtml('<a href="x">&\'</a>')).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;');
    const evil: AnalysisJson = { ...analysis, meta: { ...analysis.meta, weights: '</script><script>alert(1)</script>' } };
    const html = renderReport(evil, { chartJs: 'var s = "</script>";' });
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain('var s = "<\\/script>";');
  });
});

describe('CSV', () => {
  it('has a header and one row per channel, empty cells for nulls, quoted fields', () => {
    const b = analysis.blocks[0];
    const csv = blockCsv(b);
    const lines = csv.trimEnd().split('\r\n');
    expect(lines.length).toBe(1 + b.channels.length);
    const header = lines[0].split(',');
    expect(header.slice(0, 4)).toEqual(['block', 'channel', 'mix', 'mix_case']);
    const row = lines[1].split(',');
    expect(row[0]).toBe('1.1');
    expect(row[1]).toBe('0');
    const tricky = blockCsv({ ...b, channels: [{ ...b.channels[0], mix: null, probes: { input: ['a,b.png', 'q"x.png'], branch: [], output: [] } }] });
    expect(tricky).toContain('"a,b.png;q""x.png"');
    expect(tricky.split('\r\n')[1].split(',')[2]).toBe('');
  });
});

describe('PNG thumbnails', () => {
  it('encodes RGB PNGs that a standard decoder reads back exactly', () => {
    const img = renderStimulus(stimulusSpecs()[200], 32);
    const decoded = PNG.sync.read(Buffer.from(encodePng(img)));
    expect([decoded.width, decoded.height]).toEqual([32, 32]);
    for (let i = 0; i < 32 * 32; i++) {
      for (let c = 0; c < 3; c++) expect(decoded.data[i * 4 + c]).toBe(img.data[i * 3 + c]);
    }
    expect(thumbnailDataUri(renderStimulus(stimulusSpecs()[0]), 48)).toMatch(/^data:image\/png;base64,/);
  });
});

describe('writeAnalysisOutputs', () => {
  it('writes analysis.json, a CSV per block and index.html with Chart.js inlined', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'resnet-stream-report-'));
    try {
      const out = await writeAnalysisOutputs(dir, analysis);
      expect(await readFile(out.analysisJson, 'utf8')).toBe(analysisToJson(analysis));
      expect(out.csv.map((p) => p.slice(dir.length + 1))).toEqual(['block-1.1.csv', 'block-2.0.csv', 'block-2.1.csv']);
      const html = await readFile(out.report, 'utf8');
      expect(html).toContain(loadChartJs().slice(0, 200));
      expect(html.length).toBeGreaterThan(200_000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
