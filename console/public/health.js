import { content, h, live } from './common.js';

// Chart.js is served by the console from node_modules (no CDN: the console runs offline).
await import('/assets/chart.umd.js');
const { Chart } = window;

const WINDOW_POINTS = 150; // ten minutes at one scrape every four seconds at most
const history = new Map(); // service → [{ at, p50, p95, rps }]
const previous = new Map();
const charts = new Map();

/** The q-quantile of the requests between two cumulative histogram scrapes (upper bucket bound). */
function quantile(buckets, q) {
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const bound = buckets.find((b) => b.count >= q * total);
  return bound && bound.le >= 0 ? bound.le * 1000 : null;
}

function record(service) {
  const before = previous.get(service.service);
  previous.set(service.service, service);
  if (!before) return;
  const deltas = service.requests.buckets.map((b, i) => ({
    le: b.le,
    count: b.count - (before.requests.buckets[i]?.count ?? 0),
  }));
  const seconds = (Date.parse(service.at) - Date.parse(before.at)) / 1000 || 1;
  const points = history.get(service.service) ?? [];
  points.push({
    at: new Date(service.at).toLocaleTimeString(),
    p50: quantile(deltas, 0.5),
    p95: quantile(deltas, 0.95),
    rps: (service.requests.count - before.requests.count) / seconds,
  });
  history.set(service.service, points.slice(-WINDOW_POINTS));
}

function chartFor(name) {
  let entry = charts.get(name);
  if (!entry) {
    const canvas = h('canvas', {
      role: 'img',
      'aria-label': `Request latency of ${name}: p50 and p95 in milliseconds over the last minutes`,
    });
    const chart = new Chart(canvas, {
      type: 'line',
      data: {
        labels: [],
        datasets: [
          { label: 'p50 ms', data: [], borderColor: '#1d4ed8', tension: 0.2 },
          { label: 'p95 ms', data: [], borderColor: '#b91c1c', tension: 0.2 },
        ],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, title: { display: true, text: 'ms (bucket bound)' } } },
      },
    });
    entry = { canvas, chart, box: h('div', { class: 'chart' }, canvas) };
    charts.set(name, entry);
  }
  const points = history.get(name) ?? [];
  entry.chart.data.labels = points.map((p) => p.at);
  entry.chart.data.datasets[0].data = points.map((p) => p.p50);
  entry.chart.data.datasets[1].data = points.map((p) => p.p95);
  entry.chart.update();
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

live('/api/health/live', (snapshot) => {
  for (const service of snapshot.services) if (service.up) record(service);
  content.replaceChildren(
    h(
      'div',
      { class: 'services' },
      snapshot.services.map((service) =>
        h(
          'section',
          { class: 'service', 'aria-labelledby': `svc-${service.service}` },
          h(
            'h2',
            { id: `svc-${service.service}` },
            service.service,
            ' ',
            h('span', { class: `badge badge-${service.up ? 'up' : 'down'}` }, service.up ? 'up' : 'down'),
          ),
          service.up
            ? [
                h('h3', {}, 'Breakers'),
                list(service.breakers, (b) => `${b.name}: ${b.state}`, 'No breaker yet.'),
                h('h3', {}, 'Rate-limit rejections'),
                list(service.rateLimitRejections, (r) => `${r.policy}: ${r.total}`, 'None.'),
                h('h3', {}, 'Queue depths'),
                list(service.queueDepths, (q) => `${q.queue}: ${q.depth}`, 'No queue.'),
                h('h3', {}, 'Request latency'),
                h(
                  'p',
                  { class: 'meta' },
                  `${(history.get(service.service)?.at(-1)?.rps ?? 0).toFixed(1)} requests/s`,
                ),
                chartFor(service.service),
              ]
            : h('p', { class: 'error' }, service.error),
        ),
      ),
    ),
  );
});
