import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BUSY_NUMBER, NO_ANSWER_NUMBER, VOICEMAIL_NUMBER } from '../../../sandbox/twilio/calls-sandbox.ts';
import type { Database } from '../../../shared/db/index.ts';
import { computeTwilioSignature } from '../../../shared/webhooks/twilio-signature.ts';
import { createTestDatabase } from '../../support/database.ts';
import { startVoiceHarness as startHarness, type VoiceHarness, type VoiceHarnessOptions } from './harness.ts';

// Issue 11.4: answering-machine detection (Twilio async AMD, signed callbacks), the per-request choice on
// a machine, and exactly one terminal outcome per call, in GET /calls/:id and in /metrics.

let db: Database;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.close());

let harness: VoiceHarness | undefined;
const startVoiceHarness = (options: VoiceHarnessOptions = {}) =>
  startHarness({
    ...options,
    db,
    // The verdict while the (fast) test call is still on its stream, as on a real call.
    sandbox: { amdDelayMs: 30, ...options.sandbox },
    config: { machine: { onMachine: 'hang_up', message: 'Please call EasyMO back.' }, ...options.config },
  });
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

interface CallDetail {
  id: string;
  status: string;
  outcome: string | null;
  answeredBy: string | null;
  machineAction: string | null;
  events: Array<{ source: string; type: string; detail: Record<string, unknown> }>;
}

async function call(h: VoiceHarness, body: Record<string, unknown>) {
  const res = await h.placeCall(body);
  expect(res.status).toBe(201);
  const created = (await res.json()) as { id: string; providerCallSid: string };
  const sandboxCall = await h.twilio.waitForCall(created.providerCallSid);
  expect(sandboxCall.errors).toEqual([]);
  expect(sandboxCall.callbacks.every((cb) => cb.httpStatus === 200)).toBe(true);
  expect(await h.streamsClosed()).toBe(true);
  const detail = (await (await h.request(`/calls/${created.id}`)).json()) as CallDetail;
  return { sandboxCall, detail };
}

describe('outcomes and answering-machine detection', () => {
  it('a human answers: AMD says so, the agent talks, the outcome is human_completed', async () => {
    harness = await startVoiceHarness();
    const { sandboxCall, detail } = await call(harness, { to: '+14155559001' });
    expect(sandboxCall.amd).toEqual({
      mode: 'Enable',
      callback: expect.stringContaining('/webhooks/voice/amd?'),
    });
    expect(sandboxCall.callbacks.filter((cb) => cb.kind === 'amd')).toHaveLength(1);
    expect(detail).toMatchObject({
      status: 'completed',
      answeredBy: 'human',
      machineAction: null,
      outcome: 'human_completed',
    });
    expect(sandboxCall.stream?.receivedBytes).toBeGreaterThan(0);
  });

  it('a machine, with the request asking to leave a message: waits for the beep, says it, voicemail_left', async () => {
    harness = await startVoiceHarness();
    const { sandboxCall, detail } = await call(harness, {
      to: VOICEMAIL_NUMBER,
      onMachine: 'leave_message',
      machineMessage: 'Your moto is booked for 9:00.',
    });
    expect(sandboxCall.amd?.mode).toBe('DetectMessageEnd');
    expect(sandboxCall.said).toEqual(['Your moto is booked for 9:00.']);
    expect(detail).toMatchObject({
      answeredBy: 'machine_end_beep',
      machineAction: 'message_left',
      outcome: 'voicemail_left',
    });
    expect(detail.events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['machine_detection', 'machine_action']),
    );
  });

  it('a machine with the default choice (hang up): the call ends, machine_hangup', async () => {
    harness = await startVoiceHarness();
    const { sandboxCall, detail } = await call(harness, { to: VOICEMAIL_NUMBER });
    expect(sandboxCall.said).toEqual([]);
    expect(sandboxCall.stream?.endedBy).toBe('caller'); // Twilio stopped the stream when the call ended
    expect(detail).toMatchObject({
      status: 'completed',
      machineAction: 'hung_up',
      outcome: 'machine_hangup',
    });
  });

  it('a machine with connect_agent: the agent talks to it', async () => {
    harness = await startVoiceHarness();
    const { detail } = await call(harness, { to: VOICEMAIL_NUMBER, onMachine: 'connect_agent' });
    expect(detail).toMatchObject({
      answeredBy: 'machine_start',
      machineAction: 'connected',
      outcome: 'voicemail_left',
    });
  });

  it('busy, no answer and a failed placement each end with their outcome', async () => {
    harness = await startVoiceHarness();
    expect((await call(harness, { to: BUSY_NUMBER })).detail).toMatchObject({
      status: 'busy',
      outcome: 'busy',
    });
    expect((await call(harness, { to: NO_ANSWER_NUMBER })).detail).toMatchObject({
      status: 'no-answer',
      outcome: 'no_answer',
    });
    harness.twilio.control.outage = true;
    const failed = (await (await harness.placeCall({ to: '+14155559002' })).json()) as { callId: string };
    const detail = (await (await harness.request(`/calls/${failed.callId}`)).json()) as CallDetail;
    expect(detail).toMatchObject({ status: 'failed', outcome: 'failed' });
  });

  it('exactly one outcome per call: late and repeated callbacks change nothing; /metrics counts each call once', async () => {
    harness = await startVoiceHarness();
    const { detail } = await call(harness, { to: '+14155559003' });
    const [before] = await db.query<{ outcome: string; outcomeAt: Date }>(
      'select outcome, outcome_at as "outcomeAt" from voice_calls where id = $1',
      [detail.id],
    );
    const sid = (
      await db.query<{ sid: string }>('select provider_call_sid as sid from voice_calls where id = $1', [
        detail.id,
      ])
    )[0].sid;
    for (const [status, sequence] of [
      ['completed', 3],
      ['busy', 9],
    ] as const) {
      const path = `/webhooks/voice/status?callId=${detail.id}`;
      const params = { CallSid: sid, CallStatus: status, SequenceNumber: String(sequence) };
      const res = await fetch(`${harness.url}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': computeTwilioSignature(
            harness.config.twilio.authToken,
            `${harness.config.publicUrl}${path}`,
            params,
          ),
        },
        body: new URLSearchParams(params).toString(),
      });
      expect(res.status).toBe(200);
    }
    const [after] = await db.query<{ outcome: string; outcomeAt: Date }>(
      'select outcome, outcome_at as "outcomeAt" from voice_calls where id = $1',
      [detail.id],
    );
    expect(after).toEqual(before);

    const ended = await db.query<{ outcome: string | null; n: number }>(
      `select outcome, count(*)::int as n from voice_calls where status_rank = 4 group by outcome`,
    );
    expect(ended.every((row) => row.outcome !== null)).toBe(true);
    const text = await (await fetch(`${harness.url}/metrics`)).text();
    for (const row of ended) {
      expect(text).toContain(`voice_call_outcomes{outcome="${row.outcome}",service="voice-bridge"} ${row.n}`);
    }
  });

  it('refuses an unsigned AMD callback and stores nothing', async () => {
    harness = await startVoiceHarness();
    const { detail } = await call(harness, { to: '+14155559004' });
    const path = `/webhooks/voice/amd?callId=${detail.id}&onMachine=hang_up`;
    const params = { CallSid: `CA${'0'.repeat(32)}`, AnsweredBy: 'machine_start' };
    const res = await fetch(`${harness.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'forged' },
      body: new URLSearchParams(params).toString(),
    });
    expect(res.status).toBe(403);
    const again = (await (await harness.request(`/calls/${detail.id}`)).json()) as CallDetail;
    expect(again.answeredBy).toBe('human');
    expect(again.events.filter((e) => e.type === 'machine_detection')).toHaveLength(1);
  });
});
