// Shared by every page module: element builder, live feed (EventSource), masked numbers with reveal.
export const page = document.getElementById('page');
export const content = document.getElementById('content');
const liveStatus = document.querySelector('.live-status');

/** h('a', { href: '/x' }, 'text', child) → an element; attributes starting with "on" become listeners. */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Number.POSITIVE_INFINITY)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

function ended(source) {
  liveStatus.textContent = 'Final: nothing more will change';
  source.close();
}

/**
 * Follows a console feed: `snapshot` events carry the whole current state. `isFinal(state)` closes the
 * stream once nothing more will change (EventSource would otherwise reconnect to a finished stream).
 */
export function live(url, onSnapshot, events = ['snapshot'], isFinal = () => false) {
  const source = new EventSource(url);
  for (const event of events) {
    source.addEventListener(event, (message) => {
      liveStatus.textContent = `Live · updated ${new Date().toLocaleTimeString()}`;
      const state = JSON.parse(message.data);
      onSnapshot(state, event);
      if (isFinal(state)) ended(source);
    });
  }
  source.addEventListener('end', () => ended(source));
  source.onerror = () => {
    if (source.readyState !== EventSource.CLOSED) liveStatus.textContent = 'Reconnecting…';
  };
  return source;
}

/** A problem+json body as one line for the operator. */
export function problemText(problem) {
  if (!problem || typeof problem !== 'object') return String(problem);
  return [problem.title, problem.detail].filter(Boolean).join(': ') || `HTTP ${problem.status}`;
}

export function showProblem(problem) {
  content.replaceChildren(h('p', { class: 'error', role: 'alert' }, problemText(problem)));
}

const revealed = new Map();

/** A masked number with a Reveal button (the console logs who revealed it). */
export function phone(masked, ref) {
  if (!masked) return '—';
  if (!ref) return masked;
  if (revealed.has(ref)) return h('span', { class: 'phone' }, revealed.get(ref));
  const text = h('span', { class: 'phone' }, masked);
  const button = h(
    'button',
    {
      type: 'button',
      class: 'reveal',
      'aria-label': `Reveal number ${masked}`,
      onclick: async () => {
        const answer = await post('/api/reveal', { ref });
        if (answer.ok) {
          revealed.set(ref, answer.body.value);
          text.textContent = answer.body.value;
          button.remove();
        } else text.textContent = problemText(answer.body);
      },
    },
    'Reveal',
  );
  return h('span', {}, text, ' ', button);
}

export async function post(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { ok: response.ok, status: response.status, body: text ? JSON.parse(text) : null };
}

export function time(iso) {
  return iso ? new Date(iso).toLocaleTimeString() : '—';
}

export function dateTime(iso) {
  return iso ? new Date(iso).toLocaleString() : '—';
}

export function seconds(value) {
  return value === null || value === undefined ? '—' : `${value} s`;
}

export function badge(status) {
  return h('span', { class: `badge badge-${String(status).replace(/[^a-z-]/gi, '')}` }, status ?? '—');
}

/** A table with a caption, column headers and rows of cells. */
export function table(caption, headers, rows, empty = 'Nothing yet.') {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h(
    'table',
    {},
    h('caption', {}, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((header) => h('th', { scope: 'col' }, header)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.map((cells) =>
        h(
          'tr',
          {},
          cells.map((cell) => h('td', {}, cell)),
        ),
      ),
    ),
  );
}

/** A definition list from [term, value] pairs, skipping values the API did not provide. */
export function facts(pairs) {
  return h(
    'dl',
    { class: 'facts' },
    pairs
      .filter(([, value]) => value !== undefined)
      .map(([term, value]) => [h('dt', {}, term), h('dd', {}, value ?? '—')]),
  );
}
