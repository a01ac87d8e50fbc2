import { content, h, live } from './common.js';

// Chart.js is served by the console from node_modules (no CDN: the console runs offline).
await import('/assets/chart.umd.js');
const { Chart } = window;
const charts = new Map();

/** One latency chart per service, made once and updated in place (the console keeps the last minutes). */
function chartFor(service) {
  let entry = charts.get(service.service);
  if (!entry) {
    const canvas = h('canvas', {
      role: 'img',
      'aria-label': `Request latency of ${service.service}: p50 and p95 in milliseconds over the last minutes`,
    });
    const chart = new Chart(canvas, {
      type: 'line',
      data: {
        labels: [],
        datasets: [
          { label: 'p50 ms', data: [], borderColor: '#1d4ed8', backgroundColor: '#1d4ed8', tension: 0.2 },
          { label: 'p95 ms', data: [], borderColor: '#b91c1c', backgroundColor: '#b91c1c', tension: 0.2 },
        ],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, title: { display: true, text: 'ms' } } },
      },
    });
    entry = { chart, box: h('div', { class: 'chart' }, canvas) };
    charts.set(service.service, entry);
  }
  const points = service.latency;
  entry.chart.data.labels = points.map((p) => new Date(p.at).toLocaleTimeString());
  entry.chart.data.datasets[0].data = points.map((p) => p.p50Ms);
  entry.chart.data.datasets[1].data = points.map((p) => p.p95Ms);
  entry.chart.update();
  entry.box.dataset.measured = String(points.filter((p) => p.p95Ms !== null).length);
  return entry.box;
}

function list(items, text, empty) {
  return items.length === 0
    ? h('p', { class: 'empty' }, empty)
    : h(
        'ul',
        {},
        items.map((item) => h('li', {}, text(item))),
      );
}

function serviceCard(service) {
  const heading = h(
    'h2',
    { id: `svc-${service.service}` },
    service.service,
    ' ',
    h('span', { class: `badge badge-${service.up ? 'up' : 'down'}` }, service.up ? 'up' : 'down'),
  );
  const body = service.up
    ? [
        h('h3', {}, 'Breakers'),
        list(service.breakers, (b) => `${b.name}: ${b.state}`, 'No breaker yet.'),
        h('h3', {}, 'Rate-limit rejections'),
        list(service.rateLimitRejections, (r) => `${r.policy}: ${r.total}`, 'None.'),
        h('h3', {}, 'Queue depths'),
        list(service.queueDepths, (q) => `${q.queue}: ${q.depth}`, 'No queue.'),
        h('h3', {}, 'Request latency'),
        h('p', { class: 'meta' }, `${service.latency.at(-1)?.requestsPerSecond ?? 0} requests/s`),
        chartFor(service),
      ]
    : h('p', { class: 'error' }, service.error);
  return h('section', { class: 'service', 'aria-labelledby': `svc-${service.service}` }, heading, body);
}

live('/api/health/live', (snapshot) => {
  content.replaceChildren(h('div', { class: 'services' }, snapshot.services.map(serviceCard)));
});
