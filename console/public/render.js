import { badge, content, facts, h, live, page, post, problemText } from './common.js';

const id = page.dataset.id;
const FINAL = new Set(['completed', 'failed', 'canceled']);
const actions = h('p', { class: 'actions' });
const message = h('p', { class: 'error', role: 'alert' });
let player;

function show(render) {
  const details = facts([
    ['Status', badge(render.status)],
    [
      'Progress',
      h(
        'progress',
        { max: 100, value: render.progress, 'aria-label': `Render progress ${render.progress}%` },
        `${render.progress}%`,
      ),
    ],
    ['Attempts', render.attempts],
    ['Queued for', render.timings?.queuedMs != null ? `${render.timings.queuedMs} ms` : '—'],
    ['Processing', render.timings?.processingMs != null ? `${render.timings.processingMs} ms` : '—'],
    ['Error', render.error ? `${render.error.code}: ${render.error.message}` : undefined],
  ]);
  actions.replaceChildren(
    h(
      'button',
      { type: 'button', disabled: FINAL.has(render.status), onclick: () => act('cancel') },
      'Cancel render',
    ),
    ' ',
    h(
      'button',
      {
        type: 'button',
        disabled: !FINAL.has(render.status) || render.status === 'completed',
        onclick: () => act('retry'),
      },
      'Retry render',
    ),
  );
  // The player is built once: re-rendering it would restart playback on every event.
  if (render.output && !player) {
    player = h(
      'figure',
      {},
      h('video', {
        controls: true,
        preload: 'metadata',
        poster: `/api/renders/${id}/poster`,
        src: `/api/renders/${id}/output`,
        width: render.output.width,
        height: render.output.height,
      }),
      h('figcaption', {}, `${render.output.width}×${render.output.height}, ${render.output.durationS} s`),
      h('img', { src: `/api/renders/${id}/poster`, alt: 'Poster frame of the render', class: 'poster' }),
    );
  }
  content.replaceChildren(details, actions, message, player ?? '');
}

async function act(kind) {
  message.textContent = '';
  const answer = await post(`/api/renders/${id}/${kind}`);
  if (!answer.ok) message.textContent = problemText(answer.body);
  // A retry is a new render with its own id: follow it on its own page.
  else if (kind === 'retry') location.assign(`/renders/${answer.body.id}`);
  else show(answer.body);
}

function follow() {
  live(`/api/renders/${id}/events`, show, ['status', 'progress'], (render) => FINAL.has(render.status));
}

const first = await fetch(`/api/renders/${id}`);
const body = await first.json();
if (!first.ok) content.replaceChildren(h('p', { class: 'error', role: 'alert' }, problemText(body)));
else {
  show(body);
  follow();
}
