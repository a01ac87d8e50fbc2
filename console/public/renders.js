import { badge, content, dateTime, h, live, showProblem, table } from './common.js';

live('/api/renders/live', (page) => {
  if (page.error) return showProblem(page.error);
  content.replaceChildren(
    table(
      'Renders, newest first',
      ['Created', 'Status', 'Progress', 'Attempts', 'Duration'],
      (page.items ?? []).map((r) => [
        h('a', { href: `/renders/${r.id}` }, dateTime(r.timings?.createdAt)),
        badge(r.status),
        h(
          'progress',
          { max: 100, value: r.progress, 'aria-label': `Render progress ${r.progress}%` },
          `${r.progress}%`,
        ),
        r.attempts,
        r.output ? `${r.output.durationS} s` : '—',
      ]),
      'No render yet.',
    ),
  );
});
