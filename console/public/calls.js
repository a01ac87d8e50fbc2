import { badge, content, dateTime, h, live, phone, seconds, showProblem, table } from './common.js';

const ENDED = new Set(['completed', 'failed', 'busy', 'no-answer', 'canceled']);

live('/api/calls/live', (page) => {
  if (page.error) return showProblem(page.error);
  const calls = page.items ?? [];
  const row = (call) => [
    h('a', { href: `/calls/${call.id}` }, dateTime(call.createdAt)),
    call.direction,
    phone(call.to, call.toRef),
    badge(call.status),
    call.outcome ?? '—',
    seconds(call.durationSeconds),
    call.turnLatency?.p50Ms != null ? `${call.turnLatency.p50Ms} ms` : '—',
  ];
  const headers = ['Started', 'Direction', 'To', 'State', 'Outcome', 'Duration', 'Turn latency p50'];
  content.replaceChildren(
    h(
      'section',
      { 'aria-labelledby': 'live-calls' },
      h('h2', { id: 'live-calls' }, 'Live'),
      table(
        'Calls in progress',
        headers,
        calls.filter((c) => !ENDED.has(c.status)).map(row),
        'No call in progress.',
      ),
    ),
    h(
      'section',
      { 'aria-labelledby': 'recent-calls' },
      h('h2', { id: 'recent-calls' }, 'Recent'),
      table(
        'Recent calls, newest first',
        headers,
        calls.filter((c) => ENDED.has(c.status)).map(row),
        'No finished call yet.',
      ),
    ),
  );
});
