import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../../shared/db/index.ts';
import { startVoiceHarness, type VoiceHarness } from '../../../e2e/voice-bridge/harness.ts';
import { createTestDatabase } from '../../../support/database.ts';

// Outbound calls while Twilio fails (the sandbox's fault switch): answering 500s, hanging with nothing
// created, creating the call but answering late, never answering. The sandbox counts the calls really
// placed: never two for one Idempotency-Key, and once Twilio is back each key places its call once.

let base: Database;
beforeAll(async () => {
  base = await createTestDatabase();
});
afterAll(() => base.close());

let harness: VoiceHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

let counter = 0;
const freshNumber = () => `+1415557${String(1000 + counter++).padStart(4, '0')}`;
const key = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;
const placedTo = (h: VoiceHarness, to: string) => [...h.twilio.calls.values()].filter((c) => c.to === to);

interface CallBody {
  id: string;
  providerCallSid: string | null;
  status: string;
  failureReason: string | null;
  events?: Array<{ type: string }>;
}

async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Twilio's breaker gives up after 200 ms, opens after 3 failures, tries again 400 ms later. */
const start = (config: Parameters<typeof startVoiceHarness>[0] = {}) =>
  startVoiceHarness({
    db: base,
    ...config,
    config: {
      breakers: { twilio: { timeout: 200, resetTimeout: 400, volumeThreshold: 3 } },
      placementConfirmSeconds: 1,
      rateLimits: {
        outbound: { points: 1000, durationSeconds: 60 },
        // One call per destination: a refused placement must give its point back, or the retry is a 429.
        destination: { points: 1, durationSeconds: 3600 },
      },
      ...config.config,
    },
  });

const getCall = async (h: VoiceHarness, id: string) =>
  (await (await h.request(`/calls/${id}`)).json()) as CallBody;

describe('POST /calls/outbound while Twilio fails', () => {
  it('Twilio answering 500s: 503 + Retry-After, key released; the breaker opens; after recovery each key places one call', async () => {
    // The breaker stays open long enough (1.5 s) for the five requests to meet it, even on a slow machine.
    harness = await start({
      config: { breakers: { twilio: { timeout: 200, resetTimeout: 1500, volumeThreshold: 3 } } },
    });
    const h = harness;
    h.twilio.setFault({ mode: 'server-error' });
    const requests = Array.from({ length: 5 }, () => ({ to: freshNumber(), key: key('outage') }));
    const details: string[] = [];
    for (const r of requests) {
      const res = await h.placeCall({ to: r.to }, { 'idempotency-key': r.key });
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      const problem = (await res.json()) as {
        callId: string;
        idempotencyKeyReleased: boolean;
        detail: string;
      };
      expect(problem.idempotencyKeyReleased).toBe(true);
      details.push(problem.detail);
      expect((await getCall(h, problem.callId)).status).toBe('failed');
    }
    // Three 500s opened the breaker: the last two never reached Twilio.
    expect(details.slice(3)).toEqual([
      'provider unavailable: breaker open',
      'provider unavailable: breaker open',
    ]);
    expect(h.breakers.states()['twilio-calls']).toBe('open');
    expect((await (await fetch(`${h.providerUrl}/sandbox/twilio/faults`)).json()).taken).toEqual({
      'server-error': 3,
    });

    h.twilio.setFault({ mode: 'none' });
    await pollUntil(
      async () => h.breakers.states()['twilio-calls'],
      (state) => state === 'halfOpen',
    );
    for (const r of requests) {
      const res = await h.placeCall({ to: r.to }, { 'idempotency-key': r.key });
      expect(res.status).toBe(201);
      // The same key again: that call, nothing new.
      const again = await h.placeCall({ to: r.to }, { 'idempotency-key': r.key });
      expect(again.status).toBe(200);
    }
    for (const r of requests) expect(placedTo(h, r.to)).toHaveLength(1);
    expect(h.breakers.states()['twilio-calls']).toBe('closed');
  });

  it('Twilio hanging with nothing created: 202 unconfirmed; its late 503 fails the call and frees the key', async () => {
    harness = await start({ sandbox: { hangMs: 600 } });
    const h = harness;
    h.twilio.setFault({ mode: 'timeout', count: 1 });
    const to = freshNumber();
    const idempotencyKey = key('hang');
    const res = await h.placeCall({ to }, { 'idempotency-key': idempotencyKey });
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as CallBody;
    expect(accepted).toMatchObject({ status: 'queued', providerCallSid: null, failureReason: null });
    expect(res.headers.get('location')).toBe(`/calls/${accepted.id}`);

    const settled = await pollUntil(
      () => getCall(h, accepted.id),
      (c) => c.status !== 'queued',
    );
    expect(settled.status).toBe('failed');
    expect(settled.failureReason).toMatch(/^provider unavailable: twilio answered 503/);
    expect(settled.events?.map((e) => e.type)).toEqual([
      'created',
      'provider_unconfirmed',
      'provider_failed',
    ]);

    const retried = await h.placeCall({ to }, { 'idempotency-key': idempotencyKey });
    expect(retried.status).toBe(201);
    expect(((await retried.json()) as CallBody).id).not.toBe(accepted.id);
    expect(placedTo(h, to)).toHaveLength(1);
  });

  it('Twilio creating the call but answering late: 202, then the call is linked and completes; one call for the key', async () => {
    harness = await start({ sandbox: { hangMs: 800 } });
    const h = harness;
    h.twilio.setFault({ mode: 'accept-late', count: 1 });
    const to = freshNumber();
    const idempotencyKey = key('late');
    // Two requests with the key at once: the one that stored the call placed it (202, unconfirmed); the
    // other waited for it and answers with the same call (200 once linked, else 202).
    const responses = await Promise.all([
      h.placeCall({ to }, { 'idempotency-key': idempotencyKey }),
      new Promise((resolve) => setTimeout(resolve, 50)).then(() =>
        h.placeCall({ to }, { 'idempotency-key': idempotencyKey }),
      ),
    ]);
    expect(responses.map((r) => r.status)).toContain(202);
    for (const r of responses) expect([200, 202]).toContain(r.status);
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as CallBody[];
    expect(bodies[1].id).toBe(bodies[0].id);
    const accepted = bodies[0];

    const [real] = placedTo(h, to);
    const linked = await pollUntil(
      () => getCall(h, accepted.id),
      (c) => c.providerCallSid !== null,
    );
    expect(linked.providerCallSid).toBe(real.sid);
    const replay = await h.placeCall({ to }, { 'idempotency-key': idempotencyKey });
    expect(replay.status).toBe(200);
    expect(((await replay.json()) as CallBody).providerCallSid).toBe(real.sid);

    await h.twilio.waitForCall(real.sid);
    const done = await pollUntil(
      () => getCall(h, accepted.id),
      (c) => c.status === 'completed',
    );
    expect(done.status).toBe('completed');
    expect(done.events?.map((e) => e.type)).not.toContain('provider_failed');
    expect(placedTo(h, to)).toHaveLength(1);
  });

  it('Twilio never answering, no callback: failed after the confirmation window; the key stays bound, nothing placed', async () => {
    // Our request gives up (400 ms) before the breaker does: Twilio's answer is lost, not late.
    harness = await start({
      sandbox: { hangMs: 5000 },
      twilioRequestTimeoutMs: 400,
      config: { breakers: { twilio: { timeout: 1000, resetTimeout: 400, volumeThreshold: 3 } } },
    });
    const h = harness;
    h.twilio.setFault({ mode: 'timeout', count: 1 });
    const to = freshNumber();
    const idempotencyKey = key('silent');
    const res = await h.placeCall({ to }, { 'idempotency-key': idempotencyKey });
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as CallBody;

    const settled = await pollUntil(
      () => getCall(h, accepted.id),
      (c) => c.status !== 'queued',
    );
    expect(settled.status).toBe('failed');
    expect(settled.failureReason).toBe('provider never confirmed the call within 1 s');
    // Twilio might still have it: the key answers with this call and places nothing.
    const retried = await h.placeCall({ to }, { 'idempotency-key': idempotencyKey });
    expect(retried.status).toBe(200);
    expect(await retried.json()).toMatchObject({ id: accepted.id, status: 'failed' });
    expect(placedTo(h, to)).toHaveLength(0);
  });
});
