// The channel site beside index.html: a page per (block, channel) and an index per block, plain HTML
// that opens from disk (file://) and from any static server, with permalinks that depend only on the
// block and channel (site/block-<b>/channel-<c>.html). Shared assets are written once (site.css,
// site.js, thumbnails in site/img/); the channel pages need no script at all: the tuning curve is an
// inline SVG. The block indexes sort and filter (by category and scale invariance) with site.js, and
// keep their state in the URL's hash. Browser-safe: it returns the files as text; report-node.ts
// writes them.

import type { AnalysisJson, BlockResult, ChannelResult } from '../analysis/analyze';
import type { BlockDetails, ChannelDetail, TuningCurve } from '../analysis/details';
import { displayName } from '../model/family';
import { SORTABLE_JS } from './client';
import { COLOURS, SORTABLE_CSS, analysedArchitecture, documentHead, escapeHtml, fmt, fmtP, sortableHead, textCell } from './html';
import { blockPagePath, channelPagePath } from './site-paths';

export { SITE_DIR, blockPagePath, channelPagePath } from './site-paths';

/** Channels of the same block shown as nearest in M. */
export const NEAREST_IN_M = 6;

export interface SiteOptions {
  /** Per block (short name), what the channel pages show beyond analysis.json; absent blocks show their analysis.json numbers only. */
  details?: ReadonlyMap<string, BlockDetails>;
  /** A probe image's file, relative to the site's folder ('img/x.png', '../probes/2.1/I/3.png'), or undefined to show its name. */
  imagePath?: (name: string) => string | undefined;
}

export interface SiteFile {
  /** Relative to the site's folder, '/'-separated. */
  path: string;
  text: string;
}

const CATEGORY_TEXT: Record<string, string> = { skip: 'skip', mixture: 'mixture', overwrite: 'overwrite' };

function categoryBadge(c: ChannelResult): string {
  const cat = c.category ?? 'undefined';
  return `<span class="cat ${cat}">${escapeHtml(CATEGORY_TEXT[cat] ?? 'M undefined')}</span>`;
}

function page(title: string, depth: number, body: string, script = false): string {
  const up = '../'.repeat(depth);
  return `${documentHead(title)}
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${up}site.css">
</head>
<body>
${body}
${script ? `<script src="${up}site.js"></script>\n` : ''}</body>
</html>
`;
}

/** A probe's thumbnail (its name on hover), with its readout value under it where given. */
function thumb(name: string, imagePath: SiteOptions['imagePath'], up: string, value?: number | null, lazy = false): string {
  const src = imagePath?.(name);
  const img = src === undefined
    ? `<span class="missing">${escapeHtml(name)}</span>`
    : `<img src="${escapeHtml(up + src)}" alt=""${lazy ? ' loading="lazy"' : ''}>`;
  return `<figure title="${escapeHtml(name)}">${img}${value === undefined ? '' : `<figcaption>${fmt(value)}</figcaption>`}</figure>`;
}

function probeRow(label: string, what: string, names: string[], values: number[] | undefined, imagePath: SiteOptions['imagePath']): string {
  const cells = names.map((n, i) => thumb(n, imagePath, '../', values ? values[i] ?? null : undefined)).join('');
  return `<div class="probes"><h3>${label} <span class="hint">${escapeHtml(what)}</span></h3><div class="row">${cells || '<em>none</em>'}</div></div>`;
}

/** An inline SVG of a binned tuning curve: mean I and mean B per bin of images ranked by I. */
export function tuningSvg(t: TuningCurve): string {
  const W = 520;
  const H = 220;
  const L = 48;
  const R = 12;
  const T = 12;
  const B = 34;
  const all = [...t.input, ...t.branch, 0];
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const span = hi - lo || 1;
  const n = t.input.length;
  const x = (i: number) => L + (n === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (n - 1));
  const y = (v: number) => T + ((hi - v) * (H - T - B)) / span;
  const line = (vs: number[]) => vs.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const ticks = [lo, 0, hi].filter((v, i, a) => a.indexOf(v) === i)
    .map((v) => `<text x="${L - 4}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v, 2)}</text>`).join('');
  return `<svg class="tuning" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="Tuning curve: mean I and B per bin of images ranked by I">
<line x1="${L}" x2="${W - R}" y1="${y(0).toFixed(1)}" y2="${y(0).toFixed(1)}" class="zero"/>${ticks}
<polyline points="${line(t.input)}" class="i"/>
<polyline points="${line(t.branch)}" class="b"/>
<text x="${L}" y="${H - 8}">highest I</text><text x="${W - R}" y="${H - 8}" text-anchor="end">lowest I &gt; 0 (${t.images} images, ${n} bins)</text>
</svg>`;
}

/** Channels of the block nearest to c in M (defined M only), nearest first, ties by channel. */
export function nearestInM(block: BlockResult, c: ChannelResult, count = NEAREST_IN_M): ChannelResult[] {
  if (c.mix === null) return [];
  const m = c.mix;
  return block.channels
    .filter((o) => o.channel !== c.channel && o.mix !== null)
    .sort((a, b) => Math.abs((a.mix as number) - m) - Math.abs((b.mix as number) - m) || a.channel - b.channel)
    .slice(0, count);
}

const MIX_CASE_TEXT: Record<string, string> = {
  ratio: 'O(I*) / O(B*)', 'pure-skip': 'O(B*) ≤ 0: pure skip', 'pure-overwrite': 'O(I*) ≤ 0: pure overwrite', undefined: 'O(I*) ≤ 0 and O(B*) ≤ 0',
};

/** Per probe (by rank, as shown above; its name on hover): a readout on it and on its zoomed version. */
function zoomTable(rows: { name: string; plain: number | null; zoomed: number | null }[], set: string, plain: string, zoomed: string): string {
  if (!rows.length) return '<p class="hint">Not measured.</p>';
  const body = rows.map((r, i) => `<tr><td title="${escapeHtml(r.name)}">${i + 1}</td><td>${fmt(r.plain)}</td><td>${fmt(r.zoomed)}</td><td>${fmt(r.plain === null || r.zoomed === null ? null : Math.max(0, r.zoomed) - Math.max(0, r.plain))}</td></tr>`).join('\n');
  return `<table class="zoom"><thead><tr><th>${set}</th><th>${plain}</th><th>${zoomed}</th><th>relu difference</th></tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function channelPage(a: AnalysisJson, b: BlockResult, c: ChannelResult, d: ChannelDetail | undefined, options: SiteOptions, networkName: string): string {
  const r = c.readouts;
  const resp = d?.responses;
  const prev = c.channel > 0 ? `<a rel="prev" href="channel-${c.channel - 1}.html">← ${c.channel - 1}</a>` : '';
  const next = c.channel < b.channels.length - 1 ? `<a rel="next" href="channel-${c.channel + 1}.html">${c.channel + 1} →</a>` : '';
  const metrics: [string, string][] = [
    ['M', `${fmt(c.mix)} <span class="hint">(${escapeHtml(MIX_CASE_TEXT[c.mixCase] ?? c.mixCase)}; the paper's split: ${c.side === null ? '—' : c.side === 'skip' ? 'M ≥ 1' : 'M &lt; 1'})</span>`],
    ['category', categoryBadge(c)],
    ['SM<sub>B</sub>', `${fmt(c.scaleBranch)} <span class="hint">= [relu(B(S(I*))) − relu(B(I*))] / B(B*) = (${fmt(r.reluBranchOnZoomedInput)} − ${fmt(r.reluBranchOnInput)}) / ${fmt(r.branchOnBranch)}</span>`],
    ['SM<sub>I</sub>', `${fmt(c.scaleInput)} <span class="hint">= [relu(I(S⁻¹(B*))) − relu(I(B*))] / I(I*) = (${fmt(r.reluInputOnZoomedOutBranch)} − ${fmt(r.reluInputOnBranch)}) / ${fmt(r.inputOnInput)}</span>`],
    ['scale invariant', c.scaleInvariant ? '<strong class="yes">yes</strong> (SM<sub>B</sub> &gt; 0, SM<sub>I</sub> &gt; 0, 2/3 &lt; M &lt; 1.5)' : 'no'],
    ['no mix criterion', c.noMix ? '<span class="yes">yes</span> (SM<sub>B</sub> &gt; 0, SM<sub>I</sub> &gt; 0)' : 'no'],
    ['tuning ρ', c.tuningRho === null ? '—' : `${fmt(c.tuningRho)} <span class="hint">(Spearman of I and B over ${c.tuningImages} images with I &gt; 0, p = ${fmtP(c.tuningP)})</span>`],
  ];
  if (c.bn2GammaAbs !== null) metrics.push(['|γ|, mean |W|', `${fmt(c.bn2GammaAbs)}, ${fmt(c.conv2MeanAbsWeight, 4)}`]);
  const readoutRows: [string, number | null][] = [
    ['O(I*)', r.outputOnInput], ['O(B*)', r.outputOnBranch], ['B(I*)', r.branchOnInput], ['B(B*)', r.branchOnBranch],
    ['I(I*)', r.inputOnInput], ['I(B*)', r.inputOnBranch],
  ];
  const pair = (names: string[], plain: number[] | undefined, zoomed: number[] | undefined) =>
    names.map((name, i) => ({ name, plain: plain?.[i] ?? null, zoomed: zoomed?.[i] ?? null }));
  const nearest = nearestInM(b, c);
  const sweep = c.sweep?.length
    ? `<section id="sweep"><h2>Zoom sweep</h2><table><thead><tr><th>zoom s</th>${c.sweep.map((p) => `<th>${p.factor.toFixed(2)}</th>`).join('')}</tr></thead><tbody><tr><td>SM<sub>B</sub></td>${c.sweep.map((p) => `<td>${fmt(p.scaleBranch)}</td>`).join('')}</tr></tbody></table></section>`
    : '';
  const tuning = d?.tuningCurve
    ? `${tuningSvg(d.tuningCurve)}<p class="hint"><span class="key i"></span>mean I and <span class="key b"></span>mean B per bin of images ranked by I (images with I &gt; 0).</p>`
    : `<p class="hint">No tuning curve: ${a.meta.tuningCurves ? 'no image of the set has I &gt; 0 for this channel' : 'this run kept none (feature-visualisation probes, or tuning curves not kept)'}.</p>`;
  const body = `<header>
<nav class="crumbs"><a href="../../index.html">Report</a> › <a href="../index.html">All blocks</a> › <a href="index.html">Block ${escapeHtml(b.block)}</a> › channel ${c.channel}<span class="pager">${prev} ${next}</span></nav>
<h1>Block ${escapeHtml(b.block)} · channel ${c.channel} ${categoryBadge(c)}${c.scaleInvariant ? ' <span class="badge">scale invariant</span>' : ''}</h1>
<p class="lede">${escapeHtml(networkName)}: I = <code>${escapeHtml(b.input)}</code>, B = <code>${escapeHtml(b.branch)}</code>, O = <code>${escapeHtml(b.output)}</code> (${escapeHtml(b.variant)} readouts); ${escapeHtml(a.meta.probes)} probes, k = ${escapeHtml(a.meta.topK)}.</p>
</header>
<main data-block="${escapeHtml(b.block)}" data-channel="${c.channel}" data-category="${escapeHtml(c.category ?? '')}" data-mix="${c.mix ?? ''}">
<section id="metrics"><h2>Metrics</h2><table class="kv"><tbody>
${metrics.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('\n')}
</tbody></table>
<table class="kv readouts"><caption>Readouts on the probe sets (${a.meta.probes === 'dataset' ? 'means over the k images' : 'the one visualisation'})</caption><tbody><tr>${readoutRows.map(([k]) => `<th>${k}</th>`).join('')}</tr><tr>${readoutRows.map(([, v]) => `<td>${fmt(v)}</td>`).join('')}</tr></tbody></table></section>
<section id="probes"><h2>Probes</h2>
${probeRow('I*', 'drives the input I (value: I on it)', c.probes.input, resp?.inputOnInput, options.imagePath)}
${probeRow('B*', 'drives the branch B (value: B on it)', c.probes.branch, resp?.branchOnBranch, options.imagePath)}
${probeRow('O*', 'drives the output O', c.probes.output, undefined, options.imagePath)}
</section>
<section id="zoom"><h2>Under zoom</h2>
<div class="zooms"><div><h3>B on I* and on S(I*) <span class="hint">(zoom in 2x)</span></h3>${zoomTable(pair(c.probes.input, resp?.branchOnInput, resp?.branchOnZoomedInput), 'I* rank', 'B(I*)', 'B(S(I*))')}
<p>relu means: ${fmt(r.reluBranchOnInput)} → ${fmt(r.reluBranchOnZoomedInput)}</p></div>
<div><h3>I on B* and on S⁻¹(B*) <span class="hint">(zoom out 2x)</span></h3>${zoomTable(pair(c.probes.branch, resp?.inputOnBranch, resp?.inputOnZoomedOutBranch), 'B* rank', 'I(B*)', 'I(S⁻¹(B*))')}
<p>relu means: ${fmt(r.reluInputOnBranch)} → ${fmt(r.reluInputOnZoomedOutBranch)}</p></div></div>
</section>
${sweep}
<section id="tuning"><h2>Tuning curve</h2>
${tuning}
</section>
<section id="nearest"><h2>Nearest in M</h2>
${nearest.length ? `<ul class="nearest">${nearest.map((o) => `<li><a href="channel-${o.channel}.html">channel ${o.channel}</a> M = ${fmt(o.mix)} ${categoryBadge(o)}${o.scaleInvariant ? ' <span class="badge">SI</span>' : ''}</li>`).join('')}</ul>` : '<p class="hint">M is undefined for this channel.</p>'}
</section>
</main>`;
  return page(`Block ${b.block} · channel ${c.channel} · ${networkName}`, 1, body);
}

const BLOCK_COLUMNS: { head: string; title: string; type: 'number' | 'text'; get: (c: ChannelResult) => number | string | null }[] = [
  { head: 'ch', title: 'channel', type: 'number', get: (c) => c.channel },
  { head: 'category', title: 'skip M ≥ 1.5, overwrite M ≤ 2/3, mixture between', type: 'text', get: (c) => c.category },
  { head: 'M', title: 'mix ratio O(I*) / O(B*)', type: 'number', get: (c) => c.mix },
  { head: 'SM_B', title: 'scale metric of the branch', type: 'number', get: (c) => c.scaleBranch },
  { head: 'SM_I', title: 'scale metric of the input', type: 'number', get: (c) => c.scaleInput },
  { head: 'SI', title: 'scale invariant: SM_B > 0, SM_I > 0, 2/3 < M < 1.5', type: 'text', get: (c) => (c.scaleInvariant ? 'yes' : 'no') },
  { head: 'no mix', title: 'SM_B > 0 and SM_I > 0', type: 'text', get: (c) => (c.noMix ? 'yes' : 'no') },
  { head: 'O(I*)', title: 'output on the input probe', type: 'number', get: (c) => c.readouts.outputOnInput },
  { head: 'O(B*)', title: 'output on the branch probe', type: 'number', get: (c) => c.readouts.outputOnBranch },
  { head: 'tuning ρ', title: 'Spearman of I vs B over images with I > 0', type: 'number', get: (c) => c.tuningRho },
];

function channelMap(b: BlockResult, href: (c: number) => string): string {
  const cells = b.channels.map((c) => `<a class="cell ${c.category ?? 'undefined'}${c.scaleInvariant ? ' si' : ''}" href="${href(c.channel)}" title="channel ${c.channel}: ${c.category ?? 'M undefined'}, M = ${fmt(c.mix)}${c.scaleInvariant ? ', scale invariant' : ''}"></a>`).join('');
  return `<div class="map" aria-label="channels of block ${escapeHtml(b.block)} by category">${cells}</div>`;
}

function blockPage(a: AnalysisJson, b: BlockResult, options: SiteOptions, networkName: string): string {
  const head = sortableHead(BLOCK_COLUMNS);
  const rows = b.channels.map((c) => {
    const cells = BLOCK_COLUMNS.map((col, i) => {
      const v = col.get(c);
      if (i === 0) return `<td data-v="${c.channel}"><a href="channel-${c.channel}.html">${c.channel}</a></td>`;
      if (col.type === 'number') return `<td data-v="${v === null ? '' : v}">${fmt(v as number | null)}</td>`;
      return textCell(v);
    });
    const probes = [c.probes.input[0], c.probes.branch[0]].map((n) => `<td class="img">${n === undefined ? '' : thumb(n, options.imagePath, '../', undefined, true)}</td>`);
    return `<tr data-category="${escapeHtml(c.category ?? 'undefined')}" data-si="${c.scaleInvariant ? 'yes' : 'no'}">${cells.join('')}${probes.join('')}</tr>`;
  });
  const f = b.summary.fractions;
  const body = `<header>
<nav class="crumbs"><a href="../../index.html">Report</a> › <a href="../index.html">All blocks</a> › block ${escapeHtml(b.block)}</nav>
<h1>Block ${escapeHtml(b.block)} <span class="hint">${escapeHtml(networkName)}, ${b.channels.length} channels</span></h1>
<p class="lede">I = <code>${escapeHtml(b.input)}</code>, B = <code>${escapeHtml(b.branch)}</code>, O = <code>${escapeHtml(b.output)}</code> (${escapeHtml(b.variant)}). ${f.categories.skip} skip, ${f.categories.mixture} mixture, ${f.categories.overwrite} overwrite, ${f.categories.undefined} with M undefined; ${f.scaleInvariant} scale invariant.</p>
</header>
<main data-block="${escapeHtml(b.block)}">
<section><h2>Channels by category</h2>${channelMap(b, (c) => `channel-${c}.html`)}
<p class="hint"><span class="key skip"></span>skip <span class="key mixture"></span>mixture <span class="key overwrite"></span>overwrite <span class="key undefined"></span>M undefined; outlined: scale invariant. Click a channel for its page.</p></section>
<section><h2>Channels</h2>
<p class="filters"><label>Category <select id="filter-category"><option value="">all</option><option value="skip">skip</option><option value="mixture">mixture</option><option value="overwrite">overwrite</option><option value="undefined">M undefined</option></select></label>
<label>Scale invariant <select id="filter-si"><option value="">all</option><option value="yes">yes</option><option value="no">no</option></select></label>
<span id="shown" class="hint"></span> <span class="hint">Click a column header to sort; the view is kept in the address (a link restores it).</span></p>
<div class="table-wrap"><table id="channels" class="sortable"><thead><tr>${head}<th>I*</th><th>B*</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></div></section>
</main>`;
  return page(`Block ${b.block} · ${networkName}`, 1, body, true);
}

function rootPage(a: AnalysisJson, networkName: string): string {
  const rows = a.blocks.map((b) => {
    const f = b.summary.fractions;
    return `<tr><td><a href="${blockPagePath(b.block)}">${escapeHtml(b.block)}</a></td><td><code>${escapeHtml(b.input)}</code></td><td><code>${escapeHtml(b.branch)}</code></td><td><code>${escapeHtml(b.output)}</code></td><td>${f.channels}</td><td>${f.categories.skip}</td><td>${f.categories.mixture}</td><td>${f.categories.overwrite}</td><td>${f.categories.undefined}</td><td>${f.scaleInvariant}</td></tr>`;
  });
  const maps = a.blocks.map((b) => `<h3><a href="${blockPagePath(b.block)}">Block ${escapeHtml(b.block)}</a></h3>${channelMap(b, (c) => channelPagePath(b.block, c))}`).join('\n');
  const skipped = a.skipped.length ? `<p class="note">Not analysed: ${a.skipped.map((s) => `${escapeHtml(s.block)} (${escapeHtml(s.reason)})`).join('; ')}.</p>` : '';
  const body = `<header>
<nav class="crumbs"><a href="../index.html">Report</a> › all blocks</nav>
<h1>The channels of ${escapeHtml(networkName)}'s residual stream</h1>
<p class="lede">A page per block and channel: its category, M, SM<sub>B</sub>, SM<sub>I</sub>, probes, readouts under zoom, tuning curve and the channels nearest in M. ${escapeHtml(a.meta.probes)} probes, k = ${escapeHtml(a.meta.topK)}, ${escapeHtml(a.meta.images)} images, ${escapeHtml(a.meta.variant)} readouts.</p>
</header>
<main>
<section><h2>Blocks</h2><div class="table-wrap"><table class="blocks"><thead><tr><th>block</th><th>I</th><th>B</th><th>O</th><th>channels</th><th>skip</th><th>mixture</th><th>overwrite</th><th>M undefined</th><th>scale invariant</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></div>${skipped}</section>
<section><h2>Channels by category</h2>
<p class="hint"><span class="key skip"></span>skip <span class="key mixture"></span>mixture <span class="key overwrite"></span>overwrite <span class="key undefined"></span>M undefined; outlined: scale invariant.</p>
${maps}
</section>
</main>`;
  return page(`Channels · ${networkName}`, 0, body);
}

const SITE_CSS = `:root { --fg: #1d2330; --muted: #5b6475; --line: #dde2ea; --panel: #f7f9fc; --accent: #3b73b9; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: var(--fg); }
header, main { max-width: 1200px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 16px; }
h1 { font-size: 24px; margin: 6px 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 12px 0 6px; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
.lede, .hint, .note { color: var(--muted); }
.hint { font-size: 13px; font-weight: normal; }
.crumbs { font-size: 14px; color: var(--muted); }
.pager { float: right; display: flex; gap: 12px; }
.cat { display: inline-block; padding: 0 8px; border-radius: 8px; color: #fff; font-size: 13px; vertical-align: 3px; }
.cat.skip, .cell.skip, .key.skip { background: ${COLOURS.skip}; }
.cat.mixture, .cell.mixture, .key.mixture { background: ${COLOURS.mixture}; }
.cat.overwrite, .cell.overwrite, .key.overwrite { background: ${COLOURS.overwrite}; }
.cat.undefined, .cell.undefined, .key.undefined { background: ${COLOURS.neutral}; }
.key { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin: 0 4px 0 10px; vertical-align: -1px; }
.key.i { background: ${COLOURS.skip}; } .key.b { background: ${COLOURS.overwrite}; }
.badge { display: inline-block; padding: 0 6px; border-radius: 8px; background: #2e7d4a; color: #fff; font-size: 12px; vertical-align: 3px; }
.yes { color: #2e7d4a; font-weight: 600; }
table { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 8px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
table.blocks td:nth-child(-n+4), table.blocks th:nth-child(-n+4) { text-align: left; }
table.kv th { text-align: left; color: var(--muted); font-weight: normal; }
table.kv td { text-align: left; white-space: normal; }
table.readouts { margin-top: 10px; } table.readouts th, table.readouts td { text-align: right; }
caption { text-align: left; color: var(--muted); font-size: 13px; padding-bottom: 4px; }
thead th { position: sticky; top: 0; background: #eef2f8; }
${SORTABLE_CSS}
.table-wrap { overflow-x: auto; }
figure { margin: 0; font-size: 11px; color: var(--muted); text-align: center; }
figure img { width: 64px; height: 64px; object-fit: cover; border-radius: 3px; background: #ddd; display: block; }
td.img figure img { width: 40px; height: 40px; }
.row { display: flex; flex-wrap: wrap; gap: 6px; }
.missing { display: block; width: 64px; height: 64px; background: #eee; font-size: 8px; word-break: break-all; overflow: hidden; }
.zooms { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
table.zoom td:first-child { cursor: help; }
svg.tuning { max-width: 100%; height: auto; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; font-size: 11px; fill: var(--muted); }
svg.tuning .zero { stroke: #999; stroke-dasharray: 3 3; }
svg.tuning polyline { fill: none; stroke-width: 2; } svg.tuning .i { stroke: ${COLOURS.skip}; } svg.tuning .b { stroke: ${COLOURS.overwrite}; }
.map { display: flex; flex-wrap: wrap; gap: 2px; max-width: 100%; }
.map .cell { display: block; width: 14px; height: 14px; border-radius: 2px; }
.map .cell.si { outline: 2px solid #111; outline-offset: -2px; }
.filters { display: flex; gap: 16px; flex-wrap: wrap; align-items: center; }
ul.nearest { padding-left: 20px; }
select { font: inherit; }
`;

/** The block index's script: sortable table (the report's), filters by category and scale invariance, state in the hash. */
const SITE_JS = `(function () {
  'use strict';
${SORTABLE_JS}
  var table = document.getElementById('channels');
  if (!table) return;
  setupSorting(table);
  var category = document.getElementById('filter-category');
  var si = document.getElementById('filter-si');
  var shown = document.getElementById('shown');
  var headers = Array.prototype.slice.call(table.querySelectorAll('thead th'));
  function apply() {
    var n = 0;
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      var hide = (category.value !== '' && row.getAttribute('data-category') !== category.value) || (si.value !== '' && row.getAttribute('data-si') !== si.value);
      row.hidden = hide;
      if (!hide) n++;
    });
    shown.textContent = n + ' of ' + table.tBodies[0].rows.length + ' channels shown.';
  }
  function save() {
    var parts = [];
    if (category.value) parts.push('category=' + encodeURIComponent(category.value));
    if (si.value) parts.push('si=' + encodeURIComponent(si.value));
    headers.forEach(function (th, i) {
      var s = th.getAttribute('aria-sort');
      if (s) parts.push('sort=' + i + (s === 'ascending' ? '' : '-'));
    });
    history.replaceState(null, '', parts.length ? '#' + parts.join('&') : location.pathname + location.search);
  }
  function restore() {
    var state = {};
    location.hash.replace(/^#/, '').split('&').forEach(function (kv) {
      var i = kv.indexOf('=');
      if (i > 0) state[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1));
    });
    category.value = state.category || '';
    si.value = state.si || '';
    var m = /^(\\d+)(-?)$/.exec(state.sort || '');
    if (m && headers[Number(m[1])]) {
      var th = headers[Number(m[1])];
      th.removeAttribute('aria-sort');
      th.click();
      if (m[2] === '-') th.click();
    }
    apply();
  }
  category.addEventListener('change', function () { apply(); save(); });
  si.addEventListener('change', function () { apply(); save(); });
  headers.forEach(function (th) { th.addEventListener('click', save); });
  window.addEventListener('hashchange', restore);
  restore();
  document.body.setAttribute('data-ready', 'yes');
})();
`;

/** Every file of the site (pages, site.css, site.js; not the images), paths relative to the site's folder. */
export function renderSite(analysis: AnalysisJson, options: SiteOptions = {}): SiteFile[] {
  const networkName = displayName(analysedArchitecture(analysis).name);
  const files: SiteFile[] = [
    { path: 'site.css', text: SITE_CSS },
    { path: 'site.js', text: SITE_JS },
    { path: 'index.html', text: rootPage(analysis, networkName) },
  ];
  for (const b of analysis.blocks) {
    files.push({ path: blockPagePath(b.block), text: blockPage(analysis, b, options, networkName) });
    const details = options.details?.get(b.block);
    for (const c of b.channels) {
      files.push({ path: channelPagePath(b.block, c.channel), text: channelPage(analysis, b, c, details?.channels[c.channel], options, networkName) });
    }
  }
  return files;
}

/** Every probe image the site shows, in first-appearance order. */
export function siteImages(analysis: AnalysisJson): string[] {
  const seen = new Set<string>();
  for (const b of analysis.blocks) {
    for (const c of b.channels) for (const n of [...c.probes.input, ...c.probes.branch, ...c.probes.output]) seen.add(n);
  }
  return [...seen];
}

/** File names for thumbnails: 'img/<name, unsafe characters as _>.png', unique (a -2, -3, ... suffix on a clash). */
export function thumbnailFileNames(names: readonly string[]): Map<string, string> {
  const used = new Set<string>();
  const out = new Map<string, string>();
  for (const name of names) {
    const base = name.replace(/\.[A-Za-z]+$/, '').replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80) || 'image';
    let file = `img/${base}.png`;
    for (let i = 2; used.has(file.toLowerCase()); i++) file = `img/${base}-${i}.png`;
    used.add(file.toLowerCase());
    out.set(name, file);
  }
  return out;
}
