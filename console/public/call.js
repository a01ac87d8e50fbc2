import { badge, content, facts, h, live, page, phone, problemText, seconds, table, time } from './common.js';

const id = page.dataset.id;
const clock = (ms) => (ms == null ? '—' : `${(ms / 1000).toFixed(1)} s`);

live(`/api/calls/${id}/live`, ({ call, transcript }) => {
  if (call.error) {
    content.replaceChildren(h('p', { class: 'error', role: 'alert' }, problemText(call.error)));
    return;
  }
  const latency = call.turnLatency;
  const segments = transcript.error ? [] : (transcript.segments ?? []);
  content.replaceChildren(
    facts([
      ['State', badge(call.status)],
      ['Outcome', call.outcome ?? '—'],
      ['Direction', call.direction],
      ['To', phone(call.to, call.toRef)],
      ['From', phone(call.from, call.fromRef)],
      ['Answered by', call.answeredBy ?? '—'],
      ['Consent', call.consent ? `${call.consent.decision} (${call.consent.via ?? '—'})` : '—'],
      ['Duration', seconds(call.durationSeconds)],
      [
        'Turn latency',
        latency?.turns
          ? `p50 ${latency.p50Ms} ms · p95 ${latency.p95Ms} ms over ${latency.turns} turns`
          : '—',
      ],
      ['Failure', call.failureReason ?? undefined],
    ]),
    h(
      'section',
      { 'aria-labelledby': 'transcript' },
      h('h2', { id: 'transcript' }, 'Transcript'),
      table(
        'What was said, in call time',
        ['At', 'Speaker', 'Language', 'Text'],
        segments.map((s) => [
          clock(s.startMs),
          s.speaker,
          s.language ?? '—',
          s.interrupted ? `${s.text} (interrupted)` : s.text,
        ]),
        transcript.error ? problemText(transcript.error) : 'Nothing said yet.',
      ),
    ),
    h(
      'section',
      { 'aria-labelledby': 'events' },
      h('h2', { id: 'events' }, 'Event timeline'),
      table(
        'Provider and bridge events in order',
        ['Time', 'Source', 'Event', 'Call time'],
        (call.events ?? []).map((e) => [time(e.occurredAt), e.source, e.type, seconds(e.callDuration)]),
        'No event yet.',
      ),
    ),
  );
});
