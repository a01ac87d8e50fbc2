import {
  badge,
  content,
  dateTime,
  facts,
  h,
  live,
  page,
  phone,
  post,
  problemText,
  showProblem,
} from './common.js';

const ref = page.dataset.ref;
const DAY_MS = 24 * 60 * 60 * 1000;
const message = h('p', { class: 'error', role: 'alert' });

/** The window as the service states it, else reckoned from the last inbound message (24 h). */
function windowText(conversation, messages) {
  if (conversation?.window) {
    const { open, closesAt } = conversation.window;
    return open ? `open until ${new Date(closesAt).toLocaleString()}` : 'closed';
  }
  const lastInbound = [...messages].reverse().find((m) => m.direction === 'in' || m.direction === 'inbound');
  const closes = lastInbound ? new Date(Date.parse(lastInbound.createdAt) + DAY_MS) : null;
  return closes && closes > new Date() ? `open until ${closes.toLocaleString()}` : 'closed';
}

function handoffSwitch(conversation) {
  if (typeof conversation?.handoff !== 'boolean') return undefined;
  return h(
    'span',
    {},
    conversation.handoff ? 'with a human agent ' : 'with the AI agent ',
    h(
      'button',
      {
        type: 'button',
        role: 'switch',
        'aria-checked': String(conversation.handoff),
        onclick: async () => {
          message.textContent = '';
          const answer = await post(`/api/contacts/${ref}/handoff`, { handoff: !conversation.handoff });
          if (!answer.ok) message.textContent = problemText(answer.body);
        },
      },
      'Hand to a human',
    ),
  );
}

live(`/api/contacts/${ref}/live`, (timeline) => {
  if (timeline.error) return showProblem(timeline.error);
  const messages = [...(timeline.items ?? [])].reverse();
  const conversation = timeline.conversation;
  content.replaceChildren(
    facts([
      [
        'Contact',
        phone(messages[0]?.waId ?? conversation?.waId, messages[0]?.waIdRef ?? conversation?.waIdRef),
      ],
      ['Name', conversation?.name ?? undefined],
      ['24-hour window', windowText(conversation, messages)],
      [
        'Opt-out',
        conversation
          ? conversation.optedOut
            ? `opted out ${dateTime(conversation.optedOutAt)}`
            : 'subscribed'
          : undefined,
      ],
      ['Agent handoff', handoffSwitch(conversation)],
    ]),
    message,
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
