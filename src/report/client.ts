// The report page's own script, as text inlined into index.html (kept ES2017 and dependency-free apart
// from Chart.js, which the page inlines before it). It reads the JSON in #report-data, draws the
// charts, and makes tables with class "sortable" sortable by clicking their headers.
// Written as plain string text (no template literals inside) so no bundler rewrites it.

/** setupSorting(table): click a header of a table to sort its body by that column (data-v values; data-type="number"). */
export const SORTABLE_JS = String.raw`  // ---- sortable tables: click a header to sort, again to reverse; empty cells always last
  function setupSorting(table) {
    var headers = Array.prototype.slice.call(table.querySelectorAll('thead th'));
    headers.forEach(function (th, col) {
      th.tabIndex = 0;
      function sort() {
        var asc = th.getAttribute('aria-sort') !== 'ascending';
        headers.forEach(function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
        var numeric = th.getAttribute('data-type') === 'number';
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col].getAttribute('data-v');
          var y = b.cells[col].getAttribute('data-v');
          var xe = x === null || x === '';
          var ye = y === null || y === '';
          if (xe || ye) return xe === ye ? 0 : xe ? 1 : -1;
          var r = numeric ? Number(x) - Number(y) : (x < y ? -1 : x > y ? 1 : 0);
          return asc ? r : -r;
        });
        var frag = document.createDocumentFragment();
        rows.forEach(function (r) { frag.appendChild(r); });
        body.appendChild(frag);
      }
      th.addEventListener('click', sort);
      th.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sort(); } });
    });
  }
`;

export const CLIENT_JS = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);

${SORTABLE_JS}  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), setupSorting);

  var filter = document.getElementById('block-filter');
  if (filter) {
    filter.addEventListener('change', function () {
      var v = filter.value;
      Array.prototype.forEach.call(document.querySelectorAll('#channel-table tbody tr'), function (row) {
        row.hidden = v !== '' && row.getAttribute('data-block') !== v;
      });
    });
  }

  // ---- charts
  if (typeof Chart === 'undefined') {
    Array.prototype.forEach.call(document.querySelectorAll('.chart'), function (el) {
      el.classList.add('missing');
      el.textContent = 'Plot not drawn: Chart.js was not inlined into this report.';
    });
    return;
  }
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = '#333';

  var C = data.colours;
  var MIX_LOW = 2 / 3, MIX_HIGH = 1.5, MAX_M = 5;

  function rgba(hex, a) {
    var n = parseInt(hex.slice(1), 16);
    return 'rgba(' + (n >> 16 & 255) + ',' + (n >> 8 & 255) + ',' + (n & 255) + ',' + a + ')';
  }
  function fmt(v, d) { return v === null || v === undefined ? '—' : Number(v).toFixed(d === undefined ? 3 : d); }

  // Category bands (overwrite <= 2/3 < mixture < 1.5 <= skip) behind the data, and the paper's M = 1 split.
  function mixBands(showBands) {
    return {
      id: 'mixBands',
      beforeDatasetsDraw: function (chart) {
        if (!showBands) return;
        var a = chart.chartArea, x = chart.scales.x, ctx = chart.ctx;
        function px(m) { return Math.max(a.left, Math.min(a.right, x.getPixelForValue(m))); }
        var bands = [[0, MIX_LOW, C.overwrite, 'overwrite'], [MIX_LOW, MIX_HIGH, C.mixture, 'mixture'], [MIX_HIGH, MAX_M, C.skip, 'skip']];
        ctx.save();
        bands.forEach(function (b) {
          ctx.fillStyle = rgba(b[2], 0.12);
          ctx.fillRect(px(b[0]), a.top, px(b[1]) - px(b[0]), a.bottom - a.top);
          // Label the band only where its name fits.
          ctx.font = '10px ' + Chart.defaults.font.family;
          if (ctx.measureText(b[3]).width + 4 <= px(b[1]) - px(b[0])) {
            ctx.fillStyle = rgba(b[2], 0.9);
            ctx.textAlign = 'center';
            ctx.fillText(b[3], (px(b[0]) + px(b[1])) / 2, a.top + 10);
          }
        });
        ctx.restore();
      },
      afterDatasetsDraw: function (chart) {
        var a = chart.chartArea, x = chart.scales.x, ctx = chart.ctx;
        var p = x.getPixelForValue(1);
        ctx.save();
        ctx.strokeStyle = '#222';
        ctx.setLineDash([4, 3]);
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(p, a.top);
        ctx.lineTo(p, a.bottom);
        ctx.stroke();
        ctx.restore();
      }
    };
  }

  data.histograms.forEach(function (h) {
    if (h.status !== 'analysed') return;
    var points = h.counts.map(function (n, i) { return { x: (i + 0.5) * 0.25, y: n }; });
    new Chart(document.getElementById(h.id), {
      type: 'bar',
      data: { datasets: [{
        label: 'channels',
        data: points,
        backgroundColor: points.map(function (p) { return p.x < 1 ? C.belowOne : C.atLeastOne; }),
        barPercentage: 1, categoryPercentage: 1, borderWidth: 0
      }] },
      options: {
        plugins: {
          legend: { display: false },
          title: { display: true, text: 'Block ' + h.block + ' (' + h.channels + ' channels)' },
          subtitle: { display: true, text: 'M < 1: ' + h.belowOne + '   M \u2265 1: ' + h.atLeastOne + (h.undefined ? '   undefined: ' + h.undefined : '') + (h.clamped ? '   M > 5: ' + h.clamped : '') },
          tooltip: { callbacks: {
            title: function (items) { var i = items[0].dataIndex; return 'M in [' + (i * 0.25).toFixed(2) + ', ' + ((i + 1) * 0.25).toFixed(2) + (i === 19 ? '], clamped' : ')'); },
            label: function (item) { return item.parsed.y + ' channels'; }
          } }
        },
        scales: {
          x: { type: 'linear', min: 0, max: MAX_M, offset: false, ticks: { stepSize: 1, maxRotation: 0 }, title: { display: true, text: 'mix ratio M (clamped at 5)' }, grid: { display: false } },
          y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'channels' } }
        }
      },
      plugins: [mixBands(true)]
    });
  });

  var fr = data.fractions;
  if (fr.blocks.length) {
    new Chart(document.getElementById('fractions-chart'), {
      type: 'bar',
      data: {
        labels: fr.blocks,
        datasets: [
          { label: 'all criteria: SM_B > 0, SM_I > 0, 2/3 < M < 1.5', data: fr.all, backgroundColor: C.mixture },
          { label: 'no mix criterion: SM_B > 0, SM_I > 0', data: fr.noMix, backgroundColor: C.neutral }
        ]
      },
      options: {
        plugins: {
          title: { display: true, text: 'Scale-invariant channels per block' },
          tooltip: { callbacks: { label: function (item) {
            var counts = item.datasetIndex === 0 ? fr.countAll : fr.countNoMix;
            return item.dataset.label + ': ' + fmt(item.parsed.y, 1) + '% (' + counts[item.dataIndex] + ' of ' + fr.channels[item.dataIndex] + ')';
          } } }
        },
        scales: {
          x: { title: { display: true, text: 'block' } },
          y: { beginAtZero: true, title: { display: true, text: '% of channels' }, ticks: { callback: function (v) { return v + '%'; } } }
        }
      }
    });
  }

  data.scatters.forEach(function (s) {
    var el = document.getElementById(s.id);
    if (!el) return;
    new Chart(el, {
      type: 'scatter',
      data: { datasets: s.datasets.map(function (d, i) {
        var colour = data.palette[d.paletteIndex % data.palette.length];
        return { label: d.label, data: d.points, backgroundColor: rgba(colour, 0.55), borderColor: colour, pointRadius: 2.5, pointHoverRadius: 4 };
      }) },
      options: {
        plugins: {
          title: { display: true, text: s.title },
          tooltip: { callbacks: { label: function (item) {
            var p = item.raw;
            return item.dataset.label + ', channel ' + p.c + ': M = ' + fmt(p.m) + ', ' + s.yLabel + ' = ' + fmt(p.y);
          } } }
        },
        scales: {
          x: { type: 'linear', min: 0, max: MAX_M, title: { display: true, text: 'mix ratio M (M > 5 drawn at 5)' } },
          y: { title: { display: true, text: s.yLabel } }
        }
      },
      plugins: [mixBands(false)]
    });
  });

  if (data.sweep) {
    new Chart(document.getElementById('sweep-chart'), {
      type: 'line',
      data: {
        labels: data.sweep.factors.map(function (f) { return f.toFixed(2); }),
        datasets: data.sweep.lines.map(function (l) {
          var colour = data.palette[l.paletteIndex % data.palette.length];
          return { label: l.label, data: l.values, borderColor: colour, backgroundColor: colour, pointRadius: 2 };
        })
      },
      options: {
        plugins: { title: { display: true, text: 'Channels with SM_B > 0 and 2/3 < M < 1.5, by zoom factor' } },
        scales: {
          x: { title: { display: true, text: 'zoom factor' } },
          y: { beginAtZero: true, title: { display: true, text: '% of channels' } }
        }
      }
    });
  }
  document.body.setAttribute('data-charts', 'drawn');
})();
`;
