import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CallerStep } from '../../../sandbox/twilio/media-stream-client.ts';
import { DEFAULT_BACKCHANNELS } from '../../../services/voice-bridge/conversation-language.ts';
import type { ConversationSettings } from '../../../services/voice-bridge/media-bridge.ts';
import { synthesizeMulawClip } from '../../../shared/audio/mulaw.ts';
import type { Database } from '../../../shared/db/index.ts';
import { createTestDatabase } from '../../support/database.ts';
import { startVoiceHarness as startHarness, type VoiceHarness, type VoiceHarnessOptions } from './harness.ts';

// Issue 11: barge-in, backchannels, transcripts, consent and DTMF, end to end over real WebSockets:
// Twilio sandbox stream client (plays agent audio in real time, echoes marks) ⇄ bridge ⇄ echo agent.

let db: Database;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.close());

let harness: VoiceHarness | undefined;
const conversation = (overrides: Partial<ConversationSettings> = {}): ConversationSettings => ({
  defaultLanguage: 'en',
  backchannels: DEFAULT_BACKCHANNELS,
  minInterruptionMs: 800,
  ...overrides,
});
const startVoiceHarness = (options: VoiceHarnessOptions = {}) =>
  startHarness({ ...options, db, sandbox: { listenMs: 5000, ...options.sandbox } });
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const utterance = (ms: number, hz = 440) =>
  synthesizeMulawClip([
    { frequencyHz: hz, durationMs: ms },
    { frequencyHz: 0, durationMs: 400 },
  ]);

interface Segment {
  speaker: 'caller' | 'agent';
  language: string;
  startMs: number;
  endMs: number;
  text: string;
  interrupted: boolean;
}

async function runCall(h: VoiceHarness, body: Record<string, unknown>) {
  const res = await h.placeCall(body);
  expect(res.status).toBe(201);
  const created = (await res.json()) as { id: string; providerCallSid: string };
  const call = await h.twilio.waitForCall(created.providerCallSid);
  expect(call.errors).toEqual([]);
  expect(await h.streamsClosed()).toBe(true);
  const transcript = (await (await h.request(`/calls/${created.id}/transcript`)).json()) as {
    segments: Segment[];
  };
  return { id: created.id, call, stream: call.stream!, segments: transcript.segments };
}

const metricValue = async (h: VoiceHarness, name: string, labels: string) => {
  const line = (await h.metrics.registry.metrics())
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : 0;
};

describe('a voice agent callers can interrupt', () => {
  it('barge-in: clears Twilio, truncates the reply at the last played mark, and stores only what was heard', async () => {
    const script: CallerStep[] = [
      { say: utterance(3000) }, // the agent's echo of this is ~3.3 s long
      { untilHeardMs: 500 },
      { say: utterance(1200, 660) }, // talks over it for longer than the interruption threshold
      { silenceMs: 1000 },
    ];
    harness = await startVoiceHarness({
      config: { conversation: conversation() },
      sandbox: { script },
      echo: {
        transcribe: ({ index }) => ({
          transcript: ['Where is my driver?', 'Stop, I need to change the address'][index] ?? '…',
        }),
      },
    });
    const { id, stream, segments } = await runCall(harness, { to: '+14155558001' });

    expect(stream.clears).toBe(1);
    expect(stream.pendingAtClear[0]).toBeGreaterThan(0); // there was unplayed agent audio to drop
    const truncates = harness.echo.clientEvents.filter((e) => e.type === 'conversation.item.truncate');
    expect(truncates).toHaveLength(1);
    const truncate = truncates[0].event as { item_id: string; content_index: number; audio_end_ms: number };
    expect(truncate).toMatchObject({ item_id: 'item_1_a1', content_index: 0 });
    // Exactly a mark the caller's side played, at or before the last one played before the clear.
    const playedMs = stream.marks
      .filter((m) => m.startsWith('item_1_a1@'))
      .map((m) => Number(m.split('@')[1]));
    expect(playedMs).toContain(truncate.audio_end_ms);
    expect(truncate.audio_end_ms).toBeGreaterThanOrEqual(500);
    expect(truncate.audio_end_ms).toBeLessThan(3300);
    expect(
      stream.clearedMarks.every(
        (m) => Number(m.split('@')[1]) > truncate.audio_end_ms || !m.startsWith('item_1_a1@'),
      ),
    ).toBe(true);

    expect(segments.map((s) => [s.speaker, s.interrupted])).toEqual([
      ['caller', false],
      ['agent', true],
      ['caller', false],
      ['agent', false],
    ]);
    const [question, cutReply, interruption, secondReply] = segments;
    expect(question).toMatchObject({ text: 'Where is my driver?', language: 'en' });
    expect(question.endMs).toBeGreaterThan(question.startMs);
    expect(cutReply.endMs - cutReply.startMs).toBe(truncate.audio_end_ms);
    expect('Echo: I heard 3.30 seconds of audio.'.startsWith(cutReply.text)).toBe(true);
    expect(cutReply.text.length).toBeLessThan('Echo: I heard 3.30 seconds of audio.'.length);
    expect(interruption.text).toBe('Stop, I need to change the address');
    expect(interruption.startMs).toBeGreaterThanOrEqual(cutReply.startMs);
    expect(secondReply.text).toMatch(/^Echo: I heard 1\.\d\d seconds/);
    expect(await metricValue(harness, 'voice_barge_ins_total', 'truncated="true"')).toBe(1);
    // Turn latency: both caller turns the agent answered were timed, in the call and in /metrics.
    const detail = (await (await harness.request(`/calls/${id}`)).json()) as {
      turnLatency: { turns: number; p50Ms: number; p95Ms: number };
    };
    expect(detail.turnLatency.turns).toBe(2);
    expect(detail.turnLatency.p50Ms).toBeGreaterThanOrEqual(0);
    expect(detail.turnLatency.p95Ms).toBeGreaterThanOrEqual(detail.turnLatency.p50Ms);
    expect(detail.turnLatency.p95Ms).toBeLessThan(2000);
    const metrics = await harness.metrics.registry.metrics();
    expect(metrics).toMatch(/voice_turn_latency_seconds_count\{[^}]*\} 2/);
  });

  it('a backchannel ("sawa") while the agent speaks does not interrupt it', async () => {
    harness = await startVoiceHarness({
      config: { conversation: conversation() },
      sandbox: {
        script: [
          { say: utterance(2000) },
          { untilHeardMs: 400 },
          { say: utterance(250, 660) },
          { silenceMs: 600 },
        ],
      },
      echo: {
        transcribe: ({ index }) =>
          [
            { transcript: 'Habari, gari langu liko wapi?', language: 'sw' },
            { transcript: 'Sawa.', language: 'sw' },
          ][index] ?? { transcript: '…' },
      },
    });
    const { stream, segments } = await runCall(harness, { to: '+14155558002', metadata: { language: 'sw' } });

    expect(stream.clears).toBe(0);
    expect(harness.echo.clientEvents.filter((e) => e.type === 'conversation.item.truncate')).toEqual([]);
    const deletes = harness.echo.clientEvents.filter((e) => e.type === 'conversation.item.delete');
    expect(deletes.map((e) => e.event.item_id)).toEqual(['item_1_u2']);
    // The whole first reply played and is in the transcript whole.
    const first = segments.find((s) => s.speaker === 'agent')!;
    expect(first).toMatchObject({
      text: 'Echo: I heard 2.30 seconds of audio.',
      interrupted: false,
      language: 'sw',
    });
    expect(first.endMs - first.startMs).toBe(2300);
    expect(segments.filter((s) => s.speaker === 'caller').map((s) => [s.text, s.language])).toEqual([
      ['Habari, gari langu liko wapi?', 'sw'],
      ['Sawa.', 'sw'],
    ]);
    expect(await metricValue(harness, 'voice_backchannels_total', 'language="sw"')).toBe(1);
  });

  it('serves the transcript as WebVTT', async () => {
    harness = await startVoiceHarness({
      config: { conversation: conversation({ defaultLanguage: 'fr' }) },
      echo: { transcribe: () => ({ transcript: 'Bonjour, je voudrais un taxi' }) },
    });
    const { id } = await runCall(harness, { to: '+14155558003' });
    const res = await harness.request(`/calls/${id}/transcript`, { headers: { accept: 'text/vtt' } });
    expect(res.headers.get('content-type')).toContain('text/vtt');
    const vtt = await res.text();
    expect(vtt).toMatch(
      /^WEBVTT\n\n1\n\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}\n<v Caller><lang fr>Bonjour, je voudrais un taxi<\/lang><\/v>\n\n2\n.*\n<v Agent><lang fr>Echo: /,
    );
    const bad = await harness.request(`/calls/${id}/transcript?format=srt`);
    expect(bad.status).toBe(400);
  });

  it('consent refused by DTMF 2: recorded with its time, the AI leg ends politely, the call is marked', async () => {
    harness = await startVoiceHarness({
      config: {
        conversation: conversation({ consentPrompt: 'Press 1 to continue or 2 to end.' }),
        consentRefusedMessage: 'No problem. Goodbye.',
      },
      sandbox: { script: [{ untilHeardMs: 1000 }, { dtmf: '2' }, { silenceMs: 2000 }] },
    });
    const { id, call, stream, segments } = await runCall(harness, { to: '+14155558004' });
    expect(stream.endedBy).toBe('server');
    expect(call.said).toEqual(['No problem. Goodbye.']);
    // The agent asked, heard the key as an event, and its question is in the transcript.
    const types = harness.echo.clientEvents.map((e) => e.type);
    expect(types).toContain('response.create');
    const dtmf = harness.echo.clientEvents.find((e) => e.type === 'conversation.item.create');
    expect(JSON.stringify(dtmf?.event)).toContain('[DTMF 2]');
    expect(segments[0]).toMatchObject({ speaker: 'agent', text: 'Press 1 to continue or 2 to end.' });

    const detail = (await (await harness.request(`/calls/${id}`)).json()) as {
      aiLegEndedBy: string;
      consent: { decision: string; via: string; at: string };
      events: Array<{ type: string; detail: Record<string, unknown> }>;
    };
    expect(detail.aiLegEndedBy).toBe('consent_refused');
    expect(detail.consent).toMatchObject({ decision: 'refused', via: 'dtmf' });
    expect(Date.parse(detail.consent.at)).toBeGreaterThan(Date.now() - 60_000);
    expect(detail.events.map((e) => e.type)).toEqual(expect.arrayContaining(['dtmf', 'consent_refused']));
    expect(await metricValue(harness, 'voice_consent_total', 'decision="refused"')).toBe(1);
  });

  it('consent given by speech ("yego") lets the conversation go on', async () => {
    harness = await startVoiceHarness({
      config: { conversation: conversation({ consentPrompt: 'Emeza ukande 1.' }) },
      sandbox: { script: [{ untilHeardMs: 1000 }, { say: utterance(400) }, { silenceMs: 600 }] },
      echo: { transcribe: () => ({ transcript: 'Yego', language: 'rw' }) },
    });
    const { id, stream, segments } = await runCall(harness, {
      to: '+14155558005',
      metadata: { language: 'rw' },
    });
    expect(stream.endedBy).toBe('caller');
    const detail = (await (await harness.request(`/calls/${id}`)).json()) as {
      consent: { decision: string; via: string };
      aiLegEndedBy: string | null;
    };
    expect(detail.consent).toMatchObject({ decision: 'granted', via: 'speech' });
    expect(detail.aiLegEndedBy).toBeNull();
    expect(segments.map((s) => s.speaker)).toEqual(['agent', 'caller', 'agent']);
    expect(segments[1]).toMatchObject({ text: 'Yego', language: 'rw' });
  });

  it('rollover: the agent session drops mid-call; a new one continues with the conversation so far', async () => {
    const script: CallerStep[] = [
      { say: utterance(600) },
      { untilHeardMs: 900 }, // the whole first reply
      { run: () => harness!.echo.closeAll(1011, 'internal error') },
      { silenceMs: 400 },
      { say: utterance(500, 660) },
      { silenceMs: 1000 },
    ];
    harness = await startVoiceHarness({
      config: { conversation: conversation() },
      sandbox: { script },
      // Each agent session counts its utterances from 0, so tell them apart by length (0.9 s vs 0.8 s).
      echo: {
        transcribe: ({ audio }) => ({ transcript: audio.length > 6800 ? 'Book a moto' : 'To Kimironko' }),
      },
    });
    const { id, stream, segments } = await runCall(harness, { to: '+14155558006' });
    expect(stream.endedBy).toBe('caller');
    expect(harness.echo.stats.sessions).toBe(2);
    const replayed = harness.echo.clientEvents
      .filter((e) => e.session === '2' && e.type === 'conversation.item.create')
      .map((e) => e.event.item as { role: string; content: Array<{ text: string }> })
      .map((item) => [item.role, item.content[0].text]);
    expect(replayed).toEqual([
      ['user', 'Book a moto'],
      ['assistant', 'Echo: I heard 0.90 seconds of audio.'],
    ]);
    expect(segments.map((s) => [s.speaker, s.text.slice(0, 12)])).toEqual([
      ['caller', 'Book a moto'],
      ['agent', 'Echo: I hear'],
      ['caller', 'To Kimironko'],
      ['agent', 'Echo: I hear'],
    ]);
    expect(await metricValue(harness, 'voice_agent_rollovers_total', 'cause="agent-closed"')).toBe(1);
    const detail = (await (await harness.request(`/calls/${id}`)).json()) as {
      events: Array<{ type: string }>;
    };
    expect(detail.events.map((e) => e.type)).toContain('agent_rollover');
  });

  it('rollover: before the session cap, at a quiet moment, without dropping the stream', async () => {
    harness = await startVoiceHarness({
      config: { conversation: conversation({ sessionRolloverMs: 250 }) },
      sandbox: {
        script: [
          { say: utterance(600) },
          { untilHeardMs: 900 },
          { silenceMs: 2000 },
          { say: utterance(500, 660) },
          { silenceMs: 1000 },
        ],
      },
    });
    const { stream, segments } = await runCall(harness, { to: '+14155558007' });
    expect(stream.endedBy).toBe('caller');
    expect(stream.clears).toBe(0);
    expect(harness.echo.stats.sessions).toBeGreaterThanOrEqual(2);
    expect(
      await metricValue(harness, 'voice_agent_rollovers_total', 'cause="session-cap"'),
    ).toBeGreaterThanOrEqual(1);
    expect(segments.filter((s) => s.speaker === 'agent' && !s.interrupted)).toHaveLength(2);
  });
});
