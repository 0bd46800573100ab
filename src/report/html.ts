// The report: one self-contained index.html that opens from disk. Chart.js is inlined (its text passed
// in by the caller: `report-node.ts` reads it from node_modules), probe thumbnails come from a callback
// (data: URIs or relative paths), everything else is generated here from analysis.json's content.
// Browser-safe: no Node imports.

import type { AnalysisJson, BlockResult, ChannelResult } from '../analysis/analyze';
import { GAMMA_FOLDED_NOTE } from '../analysis/analyze';
import { MIX_BAND_HIGH } from '../analysis/metrics';
import { blockNames } from '../analysis/readouts';
import type { Architecture } from '../model/architecture';
import { FAMILY_NAMES, architectureOf, displayName } from '../model/family';
import type { AnovaResult, SpearmanResult } from '../analysis/stats';
import { CLIENT_JS } from './client';
import { blockCsvName } from './csv';
import { SITE_DIR, channelPagePath } from './site-paths';

export interface ReportOptions {
  /** Chart.js's UMD build as text (chart.js/dist/chart.umd.js); without it the page has tables but no plots. */
  chartJs?: string;
  /** Where a probe image's thumbnail comes from: a data: URI or a path relative to index.html; undefined shows its name. */
  imageSrc?: (name: string) => string | undefined;
  title?: string;
  /** Channels shown in the exemplar grids per block (default: the exemplar mixtures and the top scale-invariant channels). */
  exemplarChannels?: Record<string, number[]>;
  /** Link the per-block CSV files written next to index.html (default true). */
  csvLinks?: boolean;
  /** Link the channel site written next to index.html (site/, a page per block and channel; default false). */
  siteLinks?: boolean;
}

export const COLOURS = {
  overwrite: '#d9822b',
  mixture: '#3f9b5b',
  skip: '#3b73b9',
  belowOne: '#d9822b',
  atLeastOne: '#3b73b9',
  neutral: '#8c8c8c',
};
/** Tableau 10, one colour per block in scatter and line plots. */
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#ff9da7', '#bab0ac'];

export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** An HTML document's start, up to and including its <title> (the report's and the site's pages). */
export function documentHead(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>`;
}

/** JSON safe inside a <script> element (no '</script', no '<!--'). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** Library text safe inside a <script> element. */
function scriptText(text: string): string {
  return text.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

export function fmt(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v !== 0 && Math.abs(v) < 10 ** -digits) return v.toExponential(1);
  return v.toFixed(digits);
}

export function fmtP(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return '—';
  return p < 1e-4 ? p.toExponential(1) : p.toFixed(4);
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function anovaText(a: AnovaResult | null | undefined): string {
  if (!a) return '—';
  const groups = a.groups.map((g) => `n=${g.n}, mean ${fmt(g.mean)}`).join(' vs ');
  return a.F === null ? `undefined (${groups})` : `F(${a.dfBetween}, ${a.dfWithin}) = ${fmt(a.F, 2)}, p = ${fmtP(a.p)} (${groups})`;
}

function spearmanText(s: SpearmanResult | null | undefined): string {
  if (!s) return '—';
  return s.rho === null ? `undefined (n = ${s.n})` : `ρ = ${fmt(s.rho)}, p = ${fmtP(s.p)}, n = ${s.n}`;
}

/** Skipped blocks grouped by reason: '4.0, 4.1 skipped: checkpoint lacks ...'. */
function skippedNotices(a: AnalysisJson): string[] {
  const byReason = new Map<string, string[]>();
  for (const s of a.skipped) byReason.set(s.reason, [...(byReason.get(s.reason) ?? []), s.block]);
  return [...byReason].map(([reason, blocks]) => `${blocks.join(', ')} skipped: ${reason}`);
}

// ---------------------------------------------------------------------------------------------

interface Thumbs {
  classOf(name: string): string | undefined;
  css(): string;
}

function thumbnails(imageSrc: ReportOptions['imageSrc']): Thumbs {
  const classes = new Map<string, string | undefined>();
  const rules: string[] = [];
  return {
    classOf(name) {
      if (!classes.has(name)) {
        const src = imageSrc?.(name);
        if (src === undefined) classes.set(name, undefined);
        else {
          const cls = `t${rules.length}`;
          const url = src.replace(/["\\]/g, '\\$&').replace(/[\r\n]/g, '').replace(/</g, '\\3c ');
          rules.push(`.${cls}{background-image:url("${url}")}`);
          classes.set(name, cls);
        }
      }
      return classes.get(name);
    },
    css: () => rules.join('\n'),
  };
}

function probeRow(label: string, names: string[], thumbs: Thumbs): string {
  const cells = names.map((n) => {
    const cls = thumbs.classOf(n);
    return cls
      ? `<span class="thumb ${cls}" role="img" aria-label="${escapeHtml(n)}" title="${escapeHtml(n)}"></span>`
      : `<span class="thumb missing" title="${escapeHtml(n)}">${escapeHtml(n)}</span>`;
  }).join('');
  return `<div class="probe-row"><span class="role">${label}</span><div class="thumbs">${cells || '<em>none</em>'}</div></div>`;
}

function channelCard(block: BlockResult, ch: ChannelResult, thumbs: Thumbs, why: string): string {
  return `<figure class="card">
<figcaption><strong>${escapeHtml(block.block)} · channel ${ch.channel}</strong> <span class="why">${escapeHtml(why)}</span><br>
M = ${fmt(ch.mix)} (${escapeHtml(ch.category ?? 'undefined')}), SM<sub>B</sub> = ${fmt(ch.scaleBranch)}, SM<sub>I</sub> = ${fmt(ch.scaleInput)}${ch.scaleInvariant ? ' <span class="badge">scale invariant</span>' : ''}</figcaption>
${probeRow('I*', ch.probes.input, thumbs)}
${probeRow('B*', ch.probes.branch, thumbs)}
${probeRow('O*', ch.probes.output, thumbs)}
</figure>`;
}

function exemplarSection(a: AnalysisJson, thumbs: Thumbs, chosen?: Record<string, number[]>): string {
  const parts = a.blocks.map((b) => {
    const cards: string[] = [];
    const byChannel = new Map(b.channels.map((c) => [c.channel, c]));
    const add = (list: number[], why: string) => {
      for (const c of list) {
        const ch = byChannel.get(c);
        if (ch) cards.push(channelCard(b, ch, thumbs, why));
      }
    };
    if (chosen?.[b.block]) add(chosen[b.block], 'chosen');
    else {
      add(b.summary.exemplarMixtures, 'exemplar mixture (|M − 1| smallest)');
      add(b.summary.topScaleInvariant, 'top scale invariant (SM_B + SM_I largest)');
    }
    const none = b.summary.topScaleInvariant.length === 0 && !chosen?.[b.block] ? '<p class="note">No channel of this block meets all scale-invariance criteria.</p>' : '';
    return `<h3>Block ${escapeHtml(b.block)}</h3>${none}<div class="cards">${cards.join('\n')}</div>`;
  });
  return parts.join('\n');
}

const TABLE_COLUMNS: { head: string; title: string; type: 'number' | 'text'; get: (b: BlockResult, c: ChannelResult) => number | string | boolean | null; digits?: number }[] = [
  { head: 'block', title: 'block', type: 'text', get: (b) => b.block },
  { head: 'ch', title: 'channel', type: 'number', get: (_b, c) => c.channel, digits: 0 },
  { head: 'M', title: 'mix ratio O(I*) / O(B*)', type: 'number', get: (_b, c) => c.mix },
  { head: 'category', title: 'skip M ≥ 1.5, overwrite M ≤ 2/3, mixture between', type: 'text', get: (_b, c) => c.category },
  { head: 'SM_B', title: 'scale metric of the branch', type: 'number', get: (_b, c) => c.scaleBranch },
  { head: 'SM_I', title: 'scale metric of the input', type: 'number', get: (_b, c) => c.scaleInput },
  { head: 'SI', title: 'scale invariant: SM_B > 0, SM_I > 0, 2/3 < M < 1.5', type: 'text', get: (_b, c) => (c.scaleInvariant ? 'yes' : 'no') },
  { head: 'no mix', title: 'SM_B > 0 and SM_I > 0', type: 'text', get: (_b, c) => (c.noMix ? 'yes' : 'no') },
  { head: 'O(I*)', title: 'output on the input probe', type: 'number', get: (_b, c) => c.readouts.outputOnInput },
  { head: 'O(B*)', title: 'output on the branch probe', type: 'number', get: (_b, c) => c.readouts.outputOnBranch },
  { head: 'B(I*)', title: 'branch on the input probe', type: 'number', get: (_b, c) => c.readouts.branchOnInput },
  { head: 'tuning ρ', title: 'Spearman of I vs B over images with I > 0', type: 'number', get: (_b, c) => c.tuningRho },
  { head: '|γ|', title: '|gamma| of bn2', type: 'number', get: (_b, c) => c.bn2GammaAbs },
  { head: 'mean |W|', title: 'mean |W| of conv2 filter', type: 'number', get: (_b, c) => c.conv2MeanAbsWeight },
];

/** The header cells of a sortable table (SORTABLE_JS sorts a column by its data-type). */
export function sortableHead(columns: readonly { head: string; title: string; type: string }[]): string {
  return columns.map((col) => `<th scope="col" data-type="${col.type}" title="${escapeHtml(col.title)}">${escapeHtml(col.head)}</th>`).join('');
}

/** A text cell of a sortable table: the value in data-v (what sorting reads), 'yes' marked, empty as a dash. */
export function textCell(v: unknown): string {
  const s = v === null ? '' : String(v);
  return `<td data-v="${escapeHtml(s)}"${s === 'yes' ? ' class="yes"' : ''}>${s === '' ? '—' : escapeHtml(s)}</td>`;
}

/** The sortable tables' header styles (the report's and the site's pages). */
export const SORTABLE_CSS = `table.sortable thead th { cursor: pointer; user-select: none; }
table.sortable thead th[aria-sort="ascending"]::after { content: " ▲"; font-size: 10px; }
table.sortable thead th[aria-sort="descending"]::after { content: " ▼"; font-size: 10px; }`;

function channelTable(a: AnalysisJson, siteLinks: boolean): string {
  const head = sortableHead(TABLE_COLUMNS);
  const rows: string[] = [];
  for (const b of a.blocks) {
    for (const c of b.channels) {
      const cells = TABLE_COLUMNS.map((col) => {
        const v = col.get(b, c);
        if (col.type === 'number') {
          const n = v as number | null;
          const text = col.digits === 0 ? String(n) : fmt(n);
          const linked = siteLinks && col.head === 'ch' ? `<a href="${escapeHtml(`${SITE_DIR}/${channelPagePath(b.block, c.channel)}`)}">${text}</a>` : text;
          return `<td data-v="${n === null ? '' : n}">${linked}</td>`;
        }
        return textCell(v);
      });
      rows.push(`<tr data-block="${escapeHtml(b.block)}">${cells.join('')}</tr>`);
    }
  }
  const options = a.blocks.map((b) => `<option value="${escapeHtml(b.block)}">${escapeHtml(b.block)}</option>`).join('');
  return `<p><label>Block <select id="block-filter"><option value="">all</option>${options}</select></label> <span class="hint">Click a column header to sort; undefined values sort last.</span></p>
<div class="table-wrap"><table id="channel-table" class="sortable"><thead><tr>${head}</tr></thead><tbody>
${rows.join('\n')}
</tbody></table></div>`;
}

function summaryTable(a: AnalysisJson, csvLinks: boolean): string {
  const rows = a.blocks.map((b) => {
    const f = b.summary.fractions;
    return `<tr><td>${escapeHtml(b.block)}</td><td><code>${escapeHtml(b.input)}</code></td><td><code>${escapeHtml(b.branch)}</code></td><td><code>${escapeHtml(b.output)}</code></td>
<td>${f.channels}</td><td>${f.categories.skip}</td><td>${f.categories.mixture}</td><td>${f.categories.overwrite}</td><td>${f.categories.undefined}</td>
<td>${f.split.atLeastOne}</td><td>${f.split.belowOne}</td>
<td>${f.scaleInvariant} (${pct(f.scaleInvariantFraction)})</td><td>${f.noMix} (${pct(f.noMixFraction)})</td>
${csvLinks ? `<td><a href="${escapeHtml(blockCsvName(b.block))}">CSV</a></td>` : ''}</tr>`;
  });
  return `<div class="table-wrap"><table class="summary"><thead><tr><th>block</th><th>I</th><th>B</th><th>O</th><th>channels</th><th>skip</th><th>mixture</th><th>overwrite</th><th>M undefined</th><th>M ≥ 1</th><th>M &lt; 1</th><th>scale invariant</th><th>no mix criterion</th>${csvLinks ? '<th>data</th>' : ''}</tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>`;
}

/** The network an analysis was run on (files from before the family: ResNet18). */
export function analysedArchitecture(a: AnalysisJson): Architecture {
  const name = a.meta.architecture;
  return architectureOf(typeof name === 'string' && FAMILY_NAMES.includes(name) ? name : 'resnet18');
}

/** The branch's last BN and conv, whose parameters the secondary analyses read: 'bn2'/'conv2', or 'bn3'/'conv3' in a Bottleneck. */
function branchModules(arch: Architecture): { bn: string; conv: string } {
  const branch = arch.blocks[0].branch;
  const last = branch[branch.length - 1];
  const local = (module: string) => module.slice(module.lastIndexOf('.') + 1);
  return { bn: local(last.bn), conv: local(last.conv) };
}

/** Histogram panels: one per block up to 16 blocks; beyond, only blocks analysed or skipped. */
const HISTOGRAM_ALL_BLOCKS_UP_TO = 16;

/** Columns of the histogram grid: 4 (ResNet18's 2 x 4) up to 16 panels, then about square. */
export function histogramColumns(panels: number): number {
  return Math.max(4, Math.ceil(Math.sqrt(panels)));
}

function secondaryTable(a: AnalysisJson): string {
  const { bn, conv } = branchModules(analysedArchitecture(a));
  const rows = a.blocks.map((b) => {
    const s = b.summary.secondary;
    const gamma = s.gammaVsMix ? `${spearmanText(s.gammaVsMix.spearman)}${s.gammaVsMix.note ? ` <em>${escapeHtml(s.gammaVsMix.note)}</em>` : ''}` : '—';
    return `<tr><td>${escapeHtml(b.block)}</td><td>${anovaText(s.branchOnInputVsMix)}</td>
<td>${s.tuningVsMix ? `${anovaText(s.tuningVsMix.anova)}<br>${spearmanText(s.tuningVsMix.spearman)}` : '—'}</td>
<td>${gamma}</td><td>${s.weightVsMix ? spearmanText(s.weightVsMix.spearman) : '—'}</td></tr>`;
  });
  return `<div class="table-wrap"><table class="stats"><thead><tr><th>block</th><th>B(I*): ANOVA M ≥ 1 vs M &lt; 1</th><th>tuning ρ: ANOVA M ≥ 1 vs M &lt; 1; Spearman vs M</th><th>|γ| of ${bn} vs M (Spearman)</th><th>mean |W| of ${conv} vs M (Spearman)</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>`;
}

/** The data the page's script plots. */
function clientData(a: AnalysisJson) {
  const arch = analysedArchitecture(a);
  const { bn, conv } = branchModules(arch);
  const allBlocks = blockNames(arch);
  const analysed = new Map(a.blocks.map((b) => [b.block, b]));
  const skipped = new Set(a.skipped.map((s) => s.block));
  const shown = allBlocks.length <= HISTOGRAM_ALL_BLOCKS_UP_TO ? allBlocks : allBlocks.filter((b) => analysed.has(b) || skipped.has(b));
  const notShown = allBlocks.filter((b) => !shown.includes(b));
  const histograms = shown.map((block) => {
    const b = analysed.get(block);
    const h = b?.summary.histogram;
    return {
      id: `hist-${block}`,
      block,
      status: b ? 'analysed' : skipped.has(block) ? 'skipped' : 'absent',
      channels: b?.channels.length ?? 0,
      counts: h?.counts ?? [],
      clamped: h?.clamped ?? 0,
      undefined: h?.undefined ?? 0,
      atLeastOne: b?.summary.fractions.split.atLeastOne ?? 0,
      belowOne: b?.summary.fractions.split.belowOne ?? 0,
    };
  });
  const fractions = {
    blocks: a.blocks.map((b) => b.block),
    all: a.blocks.map((b) => 100 * b.summary.fractions.scaleInvariantFraction),
    noMix: a.blocks.map((b) => 100 * b.summary.fractions.noMixFraction),
    countAll: a.blocks.map((b) => b.summary.fractions.scaleInvariant),
    countNoMix: a.blocks.map((b) => b.summary.fractions.noMix),
    channels: a.blocks.map((b) => b.summary.fractions.channels),
  };
  const paletteIndex = (block: string) => Math.max(0, allBlocks.indexOf(block));
  const scatter = (id: string, title: string, yLabel: string, get: (c: ChannelResult) => number | null) => ({
    id, title, yLabel,
    datasets: a.blocks.map((b) => ({
      label: `block ${b.block}`,
      paletteIndex: paletteIndex(b.block),
      points: b.channels
        .filter((c) => c.mix !== null && get(c) !== null)
        .map((c) => ({ x: Math.min(c.mix as number, 5), y: get(c) as number, m: c.mix, c: c.channel })),
    })).filter((d) => d.points.length > 0),
  });
  const scatters = [
    scatter('scatter-branch', 'Branch on the input probe, B(I*), against M', 'B(I*)', (c) => c.readouts.branchOnInput),
    scatter('scatter-tuning', 'Tuning-curve correlation of I and B (images with I > 0) against M', 'tuning ρ', (c) => c.tuningRho),
    scatter('scatter-gamma', `|γ| of ${bn} against M`, '|γ|', (c) => c.bn2GammaAbs),
    scatter('scatter-weight', `Mean |W| of the ${conv} filter against M`, 'mean |W|', (c) => c.conv2MeanAbsWeight),
  ];
  const withSweep = a.blocks.filter((b) => b.summary.sweep?.length);
  const sweep = withSweep.length
    ? {
      factors: (withSweep[0].summary.sweep ?? []).map((p) => p.factor),
      lines: withSweep.map((b) => ({ label: `block ${b.block}`, paletteIndex: paletteIndex(b.block), values: (b.summary.sweep ?? []).map((p) => 100 * p.scaleBranchPositiveInBand) })),
    }
    : null;
  return { colours: COLOURS, palette: PALETTE, histograms, notShown, fractions, scatters, sweep };
}

const STYLE = `
:root { --fg: #1d2330; --muted: #5b6475; --line: #dde2ea; --bg: #fff; --panel: #f7f9fc; --accent: #3b73b9; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: var(--bg); }
header, main, footer { max-width: 1280px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 28px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 20px 0 8px; }
p.lede, .hint, .note, .why { color: var(--muted); }
nav { margin: 12px 0; display: flex; gap: 14px; flex-wrap: wrap; font-size: 14px; }
nav a, a { color: var(--accent); text-decoration: none; }
nav a:hover, a:hover { text-decoration: underline; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 12px 0; padding: 12px 16px; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; font-size: 14px; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; word-break: break-all; }
.notices { padding: 10px 16px; border-left: 4px solid #d9822b; background: #fdf6ee; border-radius: 4px; }
.notices ul { margin: 4px 0; padding-left: 20px; }
.grid-hist { display: grid; grid-template-columns: repeat(var(--hist-columns, 4), minmax(0, 1fr)); gap: 12px; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
.chart { position: relative; height: 240px; }
.chart.tall { height: 360px; }
.chart.missing, .panel.placeholder .chart { display: flex; align-items: center; justify-content: center; color: var(--muted); font-size: 14px; text-align: center; }
.grid-scatter { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 12px; }
.legend-swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px; margin: 0 4px 0 10px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
table.summary td:nth-child(-n+4), table.summary th:nth-child(-n+4) { text-align: left; }
table.stats td, table.stats th { white-space: normal; text-align: left; vertical-align: top; }
thead th { position: sticky; top: 0; background: #eef2f8; }
${SORTABLE_CSS}
#channel-table { min-width: 100%; }
.table-wrap.channels { max-height: 640px; }
td.yes { color: #2e7d4a; font-weight: 600; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 12px; }
figure.card { margin: 0; padding: 10px 12px; border: 1px solid var(--line); border-radius: 6px; background: var(--panel); }
figure.card figcaption { font-size: 13px; margin-bottom: 6px; }
.badge { display: inline-block; padding: 0 6px; border-radius: 8px; background: #3f9b5b; color: #fff; font-size: 11px; }
.probe-row { display: flex; align-items: center; gap: 8px; margin: 4px 0; }
.probe-row .role { width: 26px; font-weight: 600; font-size: 13px; }
.thumbs { display: flex; gap: 3px; flex-wrap: wrap; }
.thumb { display: inline-block; width: 56px; height: 56px; background: #ddd center / cover no-repeat; border-radius: 3px; }
.thumb.missing { font-size: 8px; line-height: 1.1; overflow: hidden; padding: 2px; color: var(--muted); word-break: break-all; }
code { font-size: 12px; }
footer { margin: 40px auto 24px; color: var(--muted); font-size: 13px; }
@media (max-width: 900px) { .grid-hist { grid-template-columns: repeat(2, minmax(0, 1fr)); } .grid-scatter { grid-template-columns: 1fr; } }
`;

/** The report page for an analysis: a complete HTML document. */
export function renderReport(analysis: AnalysisJson, options: ReportOptions = {}): string {
  const a = analysis;
  const title = options.title ?? `The residual stream of ${displayName(analysedArchitecture(a).name)}`;
  const thumbs = thumbnails(options.imageSrc);
  const data = clientData(a);
  const csvLinks = options.csvLinks ?? true;

  const metaRows = Object.entries(a.meta)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(Array.isArray(v) ? (v.length ? v.join(', ') : 'none') : v === null ? '—' : typeof v === 'object' ? JSON.stringify(v) : v)}</dd>`)
    .join('\n');

  const notices = [...skippedNotices(a), ...a.blocks.flatMap((b) => b.summary.notes.map((n) => `${b.block}: ${n}`))];
  if (!options.chartJs) notices.push('Chart.js was not inlined: plots are not drawn.');
  const noticeHtml = notices.length
    ? `<div class="notices"><ul>${notices.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul></div>`
    : '<p class="note">No notices: every requested block was analysed and every value is defined.</p>';

  const histPanels = data.histograms.map((h) => h.status === 'analysed'
    ? `<div class="panel"><div class="chart"><canvas id="${escapeHtml(h.id)}" aria-label="Histogram of M for block ${escapeHtml(h.block)}" role="img"></canvas></div></div>`
    : `<div class="panel placeholder"><div class="chart">Block ${escapeHtml(h.block)}: ${h.status === 'skipped' ? 'skipped (see notices)' : 'not analysed'}</div></div>`).join('\n');

  const scatterPanels = data.scatters.map((s) => s.datasets.length
    ? `<div class="panel"><div class="chart tall"><canvas id="${s.id}" role="img" aria-label="${escapeHtml(s.title)}"></canvas></div></div>`
    : `<div class="panel placeholder"><div class="chart tall">${escapeHtml(s.title)}: no data${s.id === 'scatter-gamma' || s.id === 'scatter-weight' ? ' (no checkpoint parameters given)' : s.id === 'scatter-tuning' ? ' (tuning curves not kept)' : ''}</div></div>`).join('\n');
  const folded = a.blocks.some((b) => b.summary.secondary.gammaVsMix?.note === GAMMA_FOLDED_NOTE);

  const sweepHtml = data.sweep
    ? `<section id="sweep"><h2>Zoom sweep</h2><p class="lede">Per zoom factor s (CenterCrop(224 (2 − s)), resize to 224), the share of channels with SM<sub>B</sub> &gt; 0 within the mix band.</p><div class="panel"><div class="chart tall"><canvas id="sweep-chart" role="img" aria-label="Zoom sweep"></canvas></div></div></section>`
    : '';

  // The exemplar grids first: they decide which thumbnails the stylesheet carries.
  const exemplarsHtml = exemplarSection(a, thumbs, options.exemplarChannels);
  const thumbStyle = thumbs.css();

  return `${documentHead(title)}
<style>${STYLE}</style>
<style>${thumbStyle}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<p class="lede">Skip, overwrite and mixture channels and scale invariance in the residual stream, after Longon (2024), “Interpreting the Residual Stream of ResNet18”. Probes: ${escapeHtml(a.meta.probes)}, k = ${escapeHtml(a.meta.topK)}; readouts: ${escapeHtml(a.meta.variant)}.</p>
<nav><a href="#notices">Notices</a><a href="#summary">Summary</a><a href="#histograms">Mix ratio</a><a href="#fractions">Scale invariance</a>${data.sweep ? '<a href="#sweep">Zoom sweep</a>' : ''}<a href="#secondary">Secondary analyses</a><a href="#exemplars">Exemplars</a><a href="#channels">Channels</a>${options.siteLinks ? `<a href="${SITE_DIR}/index.html">Channel pages</a>` : ''}</nav>
<dl class="meta">
${metaRows}
</dl>
</header>
<main>
<section id="notices"><h2>Notices</h2>${noticeHtml}</section>
<section id="summary"><h2>Summary</h2>
<p class="lede">M = O(I*) / O(B*): O(B*) ≤ 0 gives M = 10 (pure skip), O(I*) ≤ 0 gives M = 0 (pure overwrite), both ≤ 0 leaves M undefined. Categories: skip M ≥ 1.5, overwrite M ≤ 2/3, mixture in between. Scale invariant: SM<sub>B</sub> &gt; 0, SM<sub>I</sub> &gt; 0 and 2/3 &lt; M &lt; ${MIX_BAND_HIGH} (strict).</p>
${summaryTable(a, csvLinks)}
</section>
<section id="histograms"><h2>Mix ratio per block</h2>
<p class="lede">Histograms of M, clamped at 5, bins 0.25 wide. Bars
<span class="legend-swatch" style="background:${COLOURS.belowOne}"></span>M &lt; 1 and <span class="legend-swatch" style="background:${COLOURS.atLeastOne}"></span>M ≥ 1 (the paper's split, dashed line); shaded bands: <span class="legend-swatch" style="background:${COLOURS.overwrite}33"></span>overwrite (M ≤ 2/3), <span class="legend-swatch" style="background:${COLOURS.mixture}33"></span>mixture, <span class="legend-swatch" style="background:${COLOURS.skip}33"></span>skip (M ≥ 1.5).</p>
<div class="grid-hist"${histogramColumns(data.histograms.length) !== 4 ? ` style="--hist-columns: ${histogramColumns(data.histograms.length)}"` : ''}>
${histPanels}
</div>${data.notShown.length ? `\n<p class="note">Not analysed: block${data.notShown.length > 1 ? 's' : ''} ${escapeHtml(data.notShown.join(', '))}.</p>` : ''}
</section>
<section id="fractions"><h2>Scale-invariant channels</h2>
<p class="lede">Share of each block's channels meeting all criteria (SM<sub>B</sub> &gt; 0, SM<sub>I</sub> &gt; 0, 2/3 &lt; M &lt; 1.5) and the no mix criterion (SM<sub>B</sub> &gt; 0, SM<sub>I</sub> &gt; 0).</p>
<div class="panel"><div class="chart tall"><canvas id="fractions-chart" role="img" aria-label="Scale-invariant fractions per block"></canvas></div></div>
</section>
${sweepHtml}
<section id="secondary"><h2>Secondary analyses</h2>
<p class="lede">Per channel against M (M &gt; 5 drawn at 5); statistics per block below.${folded ? ` |γ|: ${escapeHtml(GAMMA_FOLDED_NOTE)}.` : ''}</p>
<div class="grid-scatter">
${scatterPanels}
</div>
${secondaryTable(a)}
</section>
<section id="exemplars"><h2>Exemplars</h2>
<p class="lede">Probe images of chosen channels: I* drives the input, B* the branch, O* the output (best first).</p>
${exemplarsHtml}
</section>
<section id="channels"><h2>Channels</h2>
${channelTable(a, options.siteLinks ?? false).replace('<div class="table-wrap">', '<div class="table-wrap channels">')}
</section>
</main>
<footer>Generated by resnet-stream${a.meta.date ? ` · run started ${escapeHtml(a.meta.date)}` : ''}.</footer>
<script type="application/json" id="report-data">${scriptJson(data)}</script>
${options.chartJs ? `<script>${scriptText(options.chartJs)}</script>` : ''}
<script>${scriptText(CLIENT_JS)}</script>
</body>
</html>
`;
}
