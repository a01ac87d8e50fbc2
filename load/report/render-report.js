// Plain ECMAScript shared by the Node runner and k6's handleSummary: turns a summary (the
// `easymo` section of summary.json) into one self-contained HTML page. Chart.js's UMD build and the
// data are inlined, so the page draws its charts offline, from a file:// URL or a CI artifact.

/** @param {string} text */
function escapeHtml(text) {
  return String(text).replace(
    /[&<>"']/g,
    (c) =>
      /** @type {Record<string, string>} */ ({
        '&': '&amp;',
        '<': '&lt;',
        '>': '&gt;',
        '"': '&quot;',
        "'": '&#39;',
      })[c],
  );
}

/** Inline <script> content must not close the tag early. @param {string} text */
function scriptSafe(text) {
  return text.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/** @param {number | null | undefined} v @param {string} unit */
function fmt(v, unit) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (unit === '%') return `${(v * 100).toFixed(2)} %`;
  if (unit === 'ms') return `${v.toFixed(1)} ms`;
  if (unit === 'renders/s') return `${v.toFixed(3)}/s`;
  return `${v.toFixed(1)} ${unit}`;
}

/** @param {any} easymo */
function thresholdRows(easymo) {
  return (easymo.thresholds ?? [])
    .map(
      (/** @type {any} */ t) =>
        `<tr><td><code>${escapeHtml(t.metric)}</code></td><td><code>${escapeHtml(t.expression)}</code></td>` +
        `<td class="${t.ok ? 'ok' : 'bad'}">${t.ok ? 'passed' : 'FAILED'}</td></tr>`,
    )
    .join('\n');
}

/** @param {any} easymo */
function comparisonRows(easymo) {
  return (easymo.comparison ?? [])
    .map(
      (/** @type {any} */ r) =>
        `<tr><td>${escapeHtml(r.service)}</td><td>${escapeHtml(r.measure)}</td><td>${fmt(r.ours, r.unit)}</td>` +
        `<td>${fmt(r.seed, r.unit)}</td><td class="${r.better === null ? '' : r.better ? 'ok' : 'bad'}">` +
        `${r.better === null ? '' : r.better ? 'as good or better' : 'worse'}</td></tr>`,
    )
    .join('\n');
}

/** @param {any} easymo */
function stageRows(easymo) {
  return (easymo.stages ?? [])
    .map(
      (/** @type {any} */ s) =>
        `<tr><td>${escapeHtml(s.label)}</td><td>${s.requests}</td><td>${fmt(s.throughputRps, 'req/s')}</td>` +
        `<td>${fmt(s.p50Ms, 'ms')}</td><td>${fmt(s.p95Ms, 'ms')}</td><td>${fmt(s.p99Ms, 'ms')}</td>` +
        `<td>${fmt(s.errorRate, '%')}</td><td>${fmt(s.failedRate, '%')}</td></tr>`,
    )
    .join('\n');
}

/** @param {any} easymo */
function openModelRows(easymo) {
  if (!easymo.openModel) return '';
  return Object.values(easymo.openModel)
    .map(
      (/** @type {any} */ o) =>
        `<tr><td>${escapeHtml(o.service)}</td><td>${o.maxSustainableRate === null ? '—' : `${o.maxSustainableRate}/s`} (${o.brokeAtRate === null && o.maxSustainableRps !== null ? '≥ ' : ''}${fmt(o.maxSustainableRps, 'req/s')})</td>` +
        `<td>${o.brokeAtRate === null ? 'none: bound reached' : `${o.brokeAtRate}/s`}</td><td>${escapeHtml(o.ceiling ?? '')}</td><td>${escapeHtml(o.reason)}</td></tr>`,
    )
    .join('\n');
}

// Runs in the page: builds every chart from the inlined summary, then marks the body so a headless
// browser (and a person) can tell drawing finished.
const PAGE_SCRIPT = `
(function () {
  var s = JSON.parse(document.getElementById('summary-data').textContent);
  var seed = s.seed || {};
  var voiceSeed = seed['voice-bridge'] || {};
  var colors = { 'voice-bridge': '#1f77b4', 'whatsapp-webhook': '#2ca02c', 'video-orchestrator': '#ff7f0e' };
  var labels = s.stages.map(function (st) { return st.label; });
  var flat = function (v) { return labels.map(function () { return v; }); };
  var dashed = function (label, value, color) {
    return { type: 'line', label: label, data: flat(value), borderColor: color, borderDash: [6, 4],
      borderWidth: 2, pointRadius: 0, fill: false };
  };
  var base = { animation: false, responsive: true, maintainAspectRatio: false,
    plugins: { legend: { position: 'bottom' } } };
  // Threshold lines come from the run's own thresholds (the profile), not from constants here.
  var limit = function (metric, aggregation) {
    var found = (s.thresholds || []).filter(function (t) {
      return t.metric === metric && t.expression.replace(/s/g, '').indexOf(aggregation + '<') === 0;
    })[0];
    return found ? { value: Number(found.expression.split('<').pop().replace('=', '')), text: metric + ' ' + found.expression } : null;
  };
  var p95Limit = limit('http_req_duration', 'p(95)');
  var errorsLimit = limit('errors', 'rate');
  var failedLimit = limit('http_req_failed', 'rate');
  var charts = [];
  var make = function (id, config) {
    var el = document.getElementById(id);
    if (el) charts.push(new Chart(el, config));
  };

  make('chart-throughput', {
    type: 'bar',
    data: { labels: labels, datasets: s.services.map(function (svc) {
      return { label: svc + ' req/s', data: s.stages.map(function (st) { return st.services[svc] ? st.services[svc].throughputRps : null; }),
        backgroundColor: colors[svc] || '#888' };
    }).concat([
      { type: 'line', label: 'VU target (right axis)', data: s.stages.map(function (st) { return st.target; }),
        borderColor: '#7f7f7f', yAxisID: 'vus', pointRadius: 3, fill: false },
      voiceSeed.throughputRps ? dashed('EasyMO seed: voice-bridge ' + voiceSeed.throughputRps + ' req/s at ' + (voiceSeed.atVus || 100) + ' VUs', voiceSeed.throughputRps, '#d62728') : null
    ]).filter(Boolean) },
    options: Object.assign({}, base, { scales: { y: { title: { display: true, text: 'requests/s' }, beginAtZero: true },
      vus: { position: 'right', title: { display: true, text: 'VUs' }, beginAtZero: true, grid: { drawOnChartArea: false } } } })
  });

  make('chart-latency', {
    type: 'line',
    data: { labels: labels, datasets: [
      { label: 'p50', data: s.stages.map(function (st) { return st.p50Ms; }), borderColor: '#2ca02c', fill: false },
      { label: 'p95', data: s.stages.map(function (st) { return st.p95Ms; }), borderColor: '#1f77b4', fill: false },
      { label: 'p99', data: s.stages.map(function (st) { return st.p99Ms; }), borderColor: '#9467bd', fill: false },
      voiceSeed.p95Ms ? dashed('EasyMO seed p95 ' + voiceSeed.p95Ms + ' ms', voiceSeed.p95Ms, '#17becf') : null,
      voiceSeed.p99Ms ? dashed('EasyMO seed p99 ' + voiceSeed.p99Ms + ' ms', voiceSeed.p99Ms, '#bcbd22') : null,
      p95Limit ? dashed('threshold ' + p95Limit.text, p95Limit.value, '#d62728') : null
    ].filter(Boolean) },
    options: Object.assign({}, base, { scales: { y: { title: { display: true, text: 'http_req_duration (ms)' }, beginAtZero: true } } })
  });

  make('chart-errors', {
    type: 'bar',
    data: { labels: labels, datasets: [
      { label: 'errors rate %', data: s.stages.map(function (st) { return st.errorRate === null ? null : st.errorRate * 100; }), backgroundColor: '#ff7f0e' },
      { label: 'http_req_failed %', data: s.stages.map(function (st) { return st.failedRate === null ? null : st.failedRate * 100; }), backgroundColor: '#8c564b' },
      voiceSeed.errorRate !== undefined ? dashed('EasyMO seed errors ' + (voiceSeed.errorRate * 100).toFixed(1) + ' %', voiceSeed.errorRate * 100, '#17becf') : null,
      errorsLimit ? dashed('threshold ' + errorsLimit.text, errorsLimit.value * 100, '#d62728') : null,
      failedLimit ? dashed('threshold ' + failedLimit.text, failedLimit.value * 100, '#e377c2') : null
    ].filter(Boolean) },
    options: Object.assign({}, base, { scales: { y: { title: { display: true, text: '% of requests' }, beginAtZero: true } } })
  });

  var svcLabels = s.services.concat(['health (all)']);
  make('chart-services', {
    type: 'bar',
    data: { labels: svcLabels, datasets: [
      { label: 'ours p95 (ms)', backgroundColor: '#1f77b4', data: s.services.map(function (svc) { return s.perService[svc].p95Ms; }).concat([s.health.p95Ms]) },
      { label: 'EasyMO seed p95 (ms)', backgroundColor: '#d62728', data: s.services.map(function (svc) {
        return svc === 'voice-bridge' && voiceSeed.p95Ms ? voiceSeed.p95Ms : null; }).concat([seed.health ? seed.health.p95Ms : null]) }
    ] },
    options: Object.assign({}, base, { scales: { y: { title: { display: true, text: 'p95 (ms)' }, beginAtZero: true } } })
  });

  if (s.openModel) {
    var open = Object.keys(s.openModel).map(function (svc) { return s.openModel[svc]; });
    var maxX = 0;
    open.forEach(function (o) { o.steps.forEach(function (st) { if (st.reached) maxX = Math.max(maxX, st.achievedRps, st.rate); }); });
    if (voiceSeed.throughputRps) maxX = Math.max(maxX, voiceSeed.throughputRps);
    make('chart-open-model', {
      type: 'scatter',
      data: { datasets: open.map(function (o) {
        return { label: o.service + ' p95 by achieved rate', showLine: true, borderColor: colors[o.service] || '#888',
          backgroundColor: colors[o.service] || '#888',
          data: o.steps.filter(function (st) { return st.reached; }).map(function (st) { return { x: st.achievedRps, y: st.p95Ms }; }) };
      }).concat([
        p95Limit ? { label: 'threshold ' + p95Limit.text, showLine: true, borderDash: [6, 4], borderColor: '#d62728', pointRadius: 0,
          data: [{ x: 0, y: p95Limit.value }, { x: maxX * 1.05, y: p95Limit.value }] } : null,
        voiceSeed.throughputRps ? { label: 'EasyMO seed ' + voiceSeed.throughputRps + ' req/s', showLine: true, borderDash: [2, 3],
          borderColor: '#17becf', pointRadius: 0, data: [{ x: voiceSeed.throughputRps, y: 0 }, { x: voiceSeed.throughputRps, y: 600 }] } : null
      ]).filter(Boolean) },
      options: Object.assign({}, base, { scales: {
        x: { type: 'linear', title: { display: true, text: 'achieved requests/s (open model)' }, beginAtZero: true },
        y: { title: { display: true, text: 'p95 (ms)' }, beginAtZero: true } } })
    });
  }
  document.body.setAttribute('data-charts-rendered', String(charts.length));
})();
`;

/** @param {{ turns: number, p50Ms: number | null, p95Ms: number | null } | null | undefined} t */
function turnLatencySection(t) {
  if (!t) return '';
  const ms = (v) => (v === null ? '—' : `${v} ms`);
  return `<section><h2>Voice turn latency</h2>
<p>End of the caller's speech to the first agent audio frame sent to Twilio, per turn, from voice-bridge's
<code>voice_turn_latency_seconds</code> over the run: <b>${t.turns}</b> turns, p50 <b>${ms(t.p50Ms)}</b>, p95 <b>${ms(t.p95Ms)}</b>.</p></section>`;
}

/**
 * @param {any} summary  a summary.json object (`{ easymo, ... }`) or its `easymo` section
 * @param {{ chartJs: string, generatedAt?: string }} opts  chartJs: the text of chart.js/dist/chart.umd.js
 * @returns {string}
 */
export function renderReportHtml(summary, opts) {
  const easymo = summary.easymo ?? summary;
  const verdict = easymo.passed ? 'PASSED' : 'FAILED';
  const generatedAt = opts.generatedAt ?? new Date().toISOString();
  const openSection = easymo.openModel
    ? `<section><h2>Open model: each service's ceiling</h2>
<p>Arrival rate climbed step by step until a step broke p(95)&lt;500 ms, 5 % failures or 5 % dropped arrivals (bounded by the profile's top rate); the ceiling lies between the last step that held and the step that broke, compared with the seed's ${escapeHtml(String(easymo.seed?.['voice-bridge']?.throughputRps ?? '—'))} req/s.</p>
<div class="chart"><canvas id="chart-open-model" aria-label="open model p95 by rate"></canvas></div>
<table><thead><tr><th>service</th><th>last step held (achieved)</th><th>step that broke</th><th>ceiling</th><th>why it broke</th></tr></thead><tbody>
${openModelRows(easymo)}
</tbody></table></section>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>EasyMO load report: ${escapeHtml(easymo.profile)} (${verdict})</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1180px; color: #1b1b1b; padding: 0 16px; }
  h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; }
  .verdict { display: inline-block; padding: 2px 10px; border-radius: 4px; color: #fff; font-weight: 600; }
  .verdict.PASSED { background: #2e7d32; } .verdict.FAILED { background: #c62828; }
  .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; }
  .chart { position: relative; height: 320px; border: 1px solid #ddd; border-radius: 6px; padding: 8px; background: #fff; }
  table { border-collapse: collapse; margin-top: 8px; width: 100%; }
  th, td { border-bottom: 1px solid #e3e3e3; padding: 4px 8px; text-align: left; white-space: nowrap; }
  td.ok { color: #2e7d32; } td.bad { color: #c62828; font-weight: 600; }
  .meta { color: #555; }
</style>
</head>
<body>
<h1>EasyMO edge load report <span class="verdict ${verdict}">${verdict}</span></h1>
<p class="meta">Profile <b>${escapeHtml(easymo.profile)}</b> · runner ${escapeHtml(easymo.tool)} · ${(easymo.testRunDurationMs / 1000).toFixed(0)} s ·
${easymo.overall.requests} requests · services ${escapeHtml(easymo.services.join(', '))} · generated ${escapeHtml(generatedAt)}</p>

${turnLatencySection(easymo.voiceTurnLatency)}
<section><h2>Per stage</h2>
<div class="grid">
  <div class="chart"><canvas id="chart-throughput" aria-label="throughput per stage"></canvas></div>
  <div class="chart"><canvas id="chart-latency" aria-label="latency per stage"></canvas></div>
  <div class="chart"><canvas id="chart-errors" aria-label="error rate per stage"></canvas></div>
  <div class="chart"><canvas id="chart-services" aria-label="p95 per service against the seed"></canvas></div>
</div>
<table><thead><tr><th>stage</th><th>requests</th><th>throughput</th><th>p50</th><th>p95</th><th>p99</th><th>errors</th><th>http_req_failed</th></tr></thead><tbody>
${stageRows(easymo)}
</tbody></table></section>

<section><h2>Against the EasyMO baseline</h2>
<table><thead><tr><th>service</th><th>measure</th><th>ours</th><th>EasyMO seed</th><th></th></tr></thead><tbody>
${comparisonRows(easymo)}
</tbody></table></section>

${openSection}

<section><h2>Thresholds</h2>
<table><thead><tr><th>metric</th><th>threshold</th><th>result</th></tr></thead><tbody>
${thresholdRows(easymo)}
</tbody></table></section>

<script type="application/json" id="summary-data">${scriptSafe(JSON.stringify(easymo))}</script>
<script>${scriptSafe(opts.chartJs)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
