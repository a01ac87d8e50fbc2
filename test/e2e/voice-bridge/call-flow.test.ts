import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultCallerClip } from '../../../sandbox/twilio/calls-sandbox.ts';
import type { Database } from '../../../shared/db/index.ts';
import { createTestDatabase } from '../../support/database.ts';
import { startVoiceHarness as startHarness, type VoiceHarness, type VoiceHarnessOptions } from './harness.ts';

// One database for the file (calls never collide: fresh ids and numbers); a fresh app per test.
let db: Database;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.close());

let harness: VoiceHarness | undefined;
const startVoiceHarness = (options: VoiceHarnessOptions = {}) => startHarness({ ...options, db });
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

interface CallBody {
  id: string;
  providerCallSid: string;
  status: string;
  failureReason: string | null;
  durationSeconds: number | null;
  events: Array<{ source: string; type: string; sequenceNumber: number | null }>;
  transcript: Array<{ role: string; text: string }>;
}

describe('voice bridge end to end (sandbox + echo agent over real sockets)', () => {
  it('places a call, follows its callbacks and bridges the audio to the agent and back', async () => {
    harness = await startVoiceHarness();
    const res = await harness.placeCall({ to: '+14155550100', agent: 'echo', metadata: { ticket: 'T-1' } });
    expect(res.status).toBe(201);
    const created = (await res.json()) as CallBody;
    expect(created.providerCallSid).toMatch(/^CA[0-9a-f]{32}$/);
    // The sandbox calls back while the 201 is built: on a busy machine the call may already have moved on.
    expect(['queued', 'initiated', 'ringing', 'in-progress', 'completed']).toContain(created.status);

    const call = await harness.twilio.waitForCall(created.providerCallSid);
    expect(call.errors).toEqual([]);
    expect(call.callbacks.every((cb) => cb.httpStatus === 200)).toBe(true);
    expect(call.callbacks.filter((cb) => cb.kind === 'status').map((cb) => cb.sequenceNumber)).toEqual([
      0, 1, 2, 3,
    ]);

    // Audio went caller → bridge → agent and back, byte for byte (no transcoding).
    const stream = call.stream!;
    expect(stream.connected).toBe(true);
    expect(stream.endedBy).toBe('caller');
    const clip = defaultCallerClip();
    expect(stream.receivedBytes).toBeGreaterThanOrEqual(4800);
    expect(Buffer.from(stream.receivedAudio.subarray(0, 4800))).toEqual(Buffer.from(clip.subarray(0, 4800)));
    expect(stream.marks.length).toBeGreaterThanOrEqual(1);

    // Both sides released everything.
    expect(await harness.streamsClosed()).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(harness.echo.liveSessions).toBe(0);

    const detail = (await (await harness.request(`/calls/${created.id}`)).json()) as CallBody;
    expect(detail.status).toBe('completed');
    expect(detail.durationSeconds).toBeGreaterThanOrEqual(1);
    const provider = detail.events.filter((e) => e.source === 'provider').map((e) => e.type);
    expect(provider).toEqual(['initiated', 'ringing', 'in-progress', 'completed']);
    const service = detail.events.filter((e) => e.source === 'service').map((e) => e.type);
    expect(service).toEqual(
      expect.arrayContaining([
        'created',
        'provider_accepted',
        'stream_started',
        'agent_connected',
        'stream_stopped',
      ]),
    );
    expect(detail.transcript.map((t) => t.role)).toEqual(['caller', 'agent']);
    expect(detail.transcript[1].text).toMatch(/^Echo:/);
  });

  it('speaks the fallback when the agent is unreachable, and records why', async () => {
    harness = await startVoiceHarness({ agent: 'down' });
    const res = await harness.placeCall({ to: '+14155550101' });
    expect(res.status).toBe(201);
    const created = (await res.json()) as CallBody;
    const call = await harness.twilio.waitForCall(created.providerCallSid);
    expect(call.stream?.endedBy).toBe('server');
    expect(call.stream?.clears).toBeGreaterThanOrEqual(1);
    expect(call.callbacks.some((cb) => cb.kind === 'action' && cb.httpStatus === 200)).toBe(true);
    expect(call.said).toEqual(['Sorry, the assistant is unavailable.']);
    expect(await harness.streamsClosed()).toBe(true);

    const detail = (await (await harness.request(`/calls/${created.id}`)).json()) as CallBody;
    expect(detail.status).toBe('completed');
    expect(detail.failureReason).toMatch(/^agent unavailable:/);
    expect(detail.events.map((e) => e.type)).toContain('agent_unavailable');
  });

  it('answers with <Say> and hang-up while the agent breaker is open', async () => {
    harness = await startVoiceHarness();
    harness.breakers.get('voice-agent')!.open();
    const created = (await (await harness.placeCall({ to: '+14155550102' })).json()) as CallBody;
    const call = await harness.twilio.waitForCall(created.providerCallSid);
    expect(call.stream).toBeUndefined();
    expect(call.said).toEqual(['Sorry, the assistant is unavailable.']);
    const detail = (await (await harness.request(`/calls/${created.id}`)).json()) as CallBody;
    expect(detail.failureReason).toBe('agent unavailable: breaker open');
  });

  it('answers 503 fast with Retry-After and marks the call failed while the Twilio breaker is open', async () => {
    harness = await startVoiceHarness();
    harness.breakers.get('twilio-calls')!.open();
    const started = performance.now();
    const res = await harness.placeCall({ to: '+14155550103' });
    const elapsed = performance.now() - started;
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(elapsed).toBeLessThan(500);
    const problem = (await res.json()) as { callId: string; callStatus: string; detail: string };
    expect(problem.callStatus).toBe('failed');
    expect(harness.twilio.calls.size).toBe(0);
    const detail = (await (await harness.request(`/calls/${problem.callId}`)).json()) as CallBody;
    expect(detail).toMatchObject({ status: 'failed', failureReason: 'provider unavailable: breaker open' });
  });

  it('answers 503 and marks the call failed when the provider is down, with no retry later', async () => {
    harness = await startVoiceHarness();
    harness.twilio.control.outage = true;
    const res = await harness.placeCall({ to: '+14155550104' });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBeTruthy();
    const problem = (await res.json()) as { callId: string; providerCode: number };
    expect(problem.providerCode).toBe(20503); // Twilio's own error code for a 503
    harness.twilio.control.outage = false;
    await new Promise((r) => setTimeout(r, 100));
    expect(harness.twilio.calls.size).toBe(0);
    const detail = (await (await harness.request(`/calls/${problem.callId}`)).json()) as CallBody;
    expect(detail.status).toBe('failed');
  });

  it('passes the provider’s rejection of a number on as 422', async () => {
    harness = await startVoiceHarness();
    const res = await harness.placeCall({ to: '+15005550001' });
    expect(res.status).toBe(422);
    const problem = (await res.json()) as { providerCode: number; callStatus: string };
    expect(problem).toMatchObject({ providerCode: 21211, callStatus: 'failed' });
  });
});
