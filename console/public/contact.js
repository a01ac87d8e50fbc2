import { badge, content, dateTime, facts, h, live, page, phone, showProblem } from './common.js';

const DAY_MS = 24 * 60 * 60 * 1000;

live(`/api/contacts/${page.dataset.ref}/live`, (timeline) => {
  if (timeline.error) return showProblem(timeline.error);
  const messages = [...(timeline.items ?? [])].reverse();
  const lastInbound = [...messages].reverse().find((m) => m.direction === 'inbound' || m.direction === 'in');
  const windowEnds = lastInbound ? new Date(Date.parse(lastInbound.createdAt) + DAY_MS) : null;
  const contact = timeline.contact ?? {};
  content.replaceChildren(
    facts([
      ['Contact', phone(messages[0]?.waId, messages[0]?.waIdRef)],
      [
        '24-hour window',
        windowEnds
          ? windowEnds > new Date()
            ? `open until ${windowEnds.toLocaleString()}`
            : 'closed'
          : 'closed (no inbound message)',
      ],
      ['Opt-out', contact.optedOut === undefined ? undefined : contact.optedOut ? 'opted out' : 'subscribed'],
      [
        'Agent handoff',
        contact.handoff === undefined
          ? undefined
          : contact.handoff
            ? 'with a human agent'
            : 'with the AI agent',
      ],
    ]),
    h(
      'section',
      { 'aria-labelledby': 'timeline' },
      h('h2', { id: 'timeline' }, 'Messages'),
      messages.length === 0
        ? h('p', { class: 'empty' }, 'No message yet.')
        : h(
            'ol',
            { class: 'timeline' },
            messages.map((m) =>
              h(
                'li',
                { class: `bubble bubble-${m.direction}` },
                h('p', {}, m.text ?? `(${m.type})`),
                h(
                  'p',
                  { class: 'meta' },
                  `${m.direction} · ${dateTime(m.createdAt)} · `,
                  badge(m.status),
                  m.error ? ` · ${m.error.title ?? m.error.message ?? m.error.code}` : '',
                ),
              ),
            ),
          ),
    ),
  );
});
