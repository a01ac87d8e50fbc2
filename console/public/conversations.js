import { badge, content, dateTime, h, live, phone, showProblem, table } from './common.js';

// The list endpoint gives messages newest first; contacts are the distinct numbers among them.
live('/api/messages/live', (page) => {
  if (page.error) return showProblem(page.error);
  const contacts = new Map();
  for (const message of page.items ?? []) {
    if (!message.waIdRef || contacts.has(message.waIdRef)) continue;
    contacts.set(message.waIdRef, message);
  }
  content.replaceChildren(
    h(
      'section',
      { 'aria-labelledby': 'contacts' },
      h('h2', { id: 'contacts' }, 'Contacts'),
      table(
        'Contacts by latest message',
        ['Contact', 'Latest', 'Direction', 'Status', 'Open'],
        [...contacts.values()].map((m) => [
          phone(m.waId, m.waIdRef),
          m.text ?? m.type,
          m.direction,
          badge(m.status),
          h('a', { href: `/conversations/${m.waIdRef}` }, 'Conversation'),
        ]),
        'No conversation yet.',
      ),
    ),
    h(
      'section',
      { 'aria-labelledby': 'messages' },
      h('h2', { id: 'messages' }, 'All messages'),
      table(
        'Messages in and out, newest first',
        ['Time', 'Contact', 'Direction', 'Type', 'Text', 'Status'],
        (page.items ?? []).map((m) => [
          dateTime(m.createdAt),
          phone(m.waId, m.waIdRef),
          m.direction,
          m.type,
          m.text ?? '—',
          badge(m.status),
        ]),
        'No message yet.',
      ),
    ),
  );
});
