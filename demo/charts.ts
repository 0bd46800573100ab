// The demo page's Chart.js charts of an analysis.json: the histogram of the mix ratio M of a block's
// channels over the category bands, and the categories per block (drawn as the report draws them).

import Chart from 'chart.js/auto';
import type { AnalysisJson, BlockResult } from '../src/index';

export const COLOURS = { overwrite: '#d9822b', mixture: '#3f9b5b', skip: '#3b73b9', belowOne: '#d9822b', atLeastOne: '#3b73b9', neutral: '#8c8c8c' };
const MIX_LOW = 2 / 3;
const MIX_HIGH = 1.5;

Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
let histogramChart: Chart | null = null;
let histogramBlock = '';
let fractionsChart: Chart | null = null;

/** Remove the histogram (the chosen block is not in the analysis). */
export function clearHistogram(): void {
  histogramChart?.destroy();
  histogramChart = null;
  histogramBlock = '';
}

/** Category bands behind the histogram and the paper's M = 1 split (as the report draws them). */
const mixBands = {
  id: 'mixBands',
  beforeDatasetsDraw(chart: Chart) {
    const a = chart.chartArea;
    const x = chart.scales.x;
    const ctx = chart.ctx;
    const px = (m: number) => Math.max(a.left, Math.min(a.right, x.getPixelForValue(m)));
    const bands: [number, number, string][] = [[0, MIX_LOW, COLOURS.overwrite], [MIX_LOW, MIX_HIGH, COLOURS.mixture], [MIX_HIGH, 5, COLOURS.skip]];
    ctx.save();
    for (const [lo, hi, colour] of bands) {
      ctx.fillStyle = `${colour}1f`;
      ctx.fillRect(px(lo), a.top, px(hi) - px(lo), a.bottom - a.top);
    }
    ctx.strokeStyle = '#222';
    ctx.setLineDash([4, 3]);
    ctx.beginPath();
    ctx.moveTo(px(1), a.top);
    ctx.lineTo(px(1), a.bottom);
    ctx.stroke();
    ctx.restore();
  },
};

/**
 * The histogram of M of one block's channels, the bin of `mix` (the chosen channel's) in black. A
 * new block (or `rebuild`) redraws it; another channel of the same block only recolours it.
 */
export function drawHistogram(canvas: HTMLCanvasElement, result: BlockResult, mix: number | null, channel: number, rebuild: boolean): void {
  const h = result.summary.histogram;
  const selectedBin = mix === null ? -1 : Math.min(h.counts.length - 1, Math.floor(Math.min(mix, 5) / 0.25));
  const colours = h.counts.map((_, i) => (i === selectedBin ? '#111' : (i + 0.5) * 0.25 < 1 ? COLOURS.belowOne : COLOURS.atLeastOne));
  if (histogramChart && !rebuild && histogramBlock === result.block) {
    histogramChart.data.datasets[0].backgroundColor = colours;
    histogramChart.update('none');
    return;
  }
  histogramChart?.destroy();
  histogramBlock = result.block;
  const points = h.counts.map((n, i) => ({ x: (i + 0.5) * 0.25, y: n }));
  histogramChart = new Chart(canvas, {
    type: 'bar',
    data: { datasets: [{ label: 'channels', data: points, backgroundColor: colours, barPercentage: 1, categoryPercentage: 1, borderWidth: 0 }] },
    options: {
      plugins: {
        legend: { display: false },
        title: { display: true, text: `Block ${result.block}: mix ratio M of its ${result.channels.length} channels` },
        subtitle: { display: true, text: `black: the bin of channel ${channel}${h.clamped ? `; M > 5: ${h.clamped}` : ''}${h.undefined ? `; undefined: ${h.undefined}` : ''}` },
      },
      scales: {
        x: { type: 'linear', min: 0, max: 5, offset: false, ticks: { stepSize: 1 }, title: { display: true, text: 'M (clamped at 5); bands: overwrite, mixture, skip' }, grid: { display: false } },
        y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'channels' } },
      },
    },
    plugins: [mixBands],
  });
}

/** Per block, the percentage of channels in each category and the scale-invariant ones. */
export function drawFractions(canvas: HTMLCanvasElement, analysis: AnalysisJson): void {
  fractionsChart?.destroy();
  const blocks = analysis.blocks;
  fractionsChart = new Chart(canvas, {
    type: 'bar',
    data: {
      labels: blocks.map((b) => b.block),
      datasets: [
        { label: 'skip', data: blocks.map((b) => (100 * b.summary.fractions.categories.skip) / b.summary.fractions.channels), backgroundColor: COLOURS.skip },
        { label: 'mixture', data: blocks.map((b) => (100 * b.summary.fractions.categories.mixture) / b.summary.fractions.channels), backgroundColor: COLOURS.mixture },
        { label: 'overwrite', data: blocks.map((b) => (100 * b.summary.fractions.categories.overwrite) / b.summary.fractions.channels), backgroundColor: COLOURS.overwrite },
        { label: 'scale invariant', data: blocks.map((b) => 100 * b.summary.fractions.scaleInvariantFraction), backgroundColor: COLOURS.neutral },
      ],
    },
    options: {
      plugins: { title: { display: true, text: 'Channel categories per block' } },
      scales: {
        x: { title: { display: true, text: 'block' } },
        y: { beginAtZero: true, title: { display: true, text: '% of channels' } },
      },
    },
  });
}
