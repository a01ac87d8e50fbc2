import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../../shared/db/index.ts';
import { startVoiceHarness, type VoiceHarness } from '../../../e2e/voice-bridge/harness.ts';
import { createTestDatabase } from '../../../support/database.ts';
import { failingDatabase } from '../../../support/failing-database.ts';

// Outbound calls when our own side misbehaves: concurrent retries of one Idempotency-Key, and the database
// failing right after the Twilio sandbox accepted the call. The sandbox counts the calls really placed.

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
const freshNumber = () => `+1415556${String(1000 + counter++).padStart(4, '0')}`;
const key = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;
const placedTo = (h: VoiceHarness, to: string) => [...h.twilio.calls.values()].filter((c) => c.to === to);

interface CallBody {
  id: string;
  providerCallSid: string | null;
  status: string;
  failureReason: string | null;
}

async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 10_000,
  everyMs = 20,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

describe('POST /calls/outbound under concurrency and storage faults', () => {
  it('eight concurrent requests with one Idempotency-Key: one call, every reply that call, no 429', async () => {
    // The per-API-key flood guard (checked before the body is read) is not what this test is about.
    harness = await startVoiceHarness({
      db: base,
      config: {
        rateLimits: {
          outbound: { points: 100, durationSeconds: 60 },
          destination: { points: 3, durationSeconds: 3600 },
        },
      },
    });
    const to = freshNumber();
    const idempotencyKey = key('burst');
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => harness!.placeCall({ to }, { 'idempotency-key': idempotencyKey })),
    );
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as CallBody[];
    expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(bodies.map((b) => b.id)).size).toBe(1);
    expect(new Set(bodies.map((b) => b.providerCallSid)).size).toBe(1);
    expect(bodies[0].providerCallSid).toMatch(/^CA/);
    expect(placedTo(harness, to)).toHaveLength(1);

    // The replays spent no per-destination point (3 per window): two more calls still go through.
    for (let i = 0; i < 2; i++) expect((await harness.placeCall({ to })).status).toBe(201);
    const fourth = await harness.placeCall({ to });
    expect(fourth.status).toBe(429);
    // A replay after the limit is reached is still answered with the original call.
    const late = await harness.placeCall({ to }, { 'idempotency-key': idempotencyKey });
    expect(late.status).toBe(200);
    expect(((await late.json()) as CallBody).id).toBe(bodies[0].id);
    expect(placedTo(harness, to)).toHaveLength(3);
  });

  it('a rate-limited first attempt leaves its key free: the retry after the window places the call', async () => {
    harness = await startVoiceHarness({
      db: base,
      config: {
        rateLimits: {
          outbound: { points: 100, durationSeconds: 60 },
          destination: { points: 1, durationSeconds: 1 },
        },
      },
    });
    const to = freshNumber();
    expect((await harness.placeCall({ to })).status).toBe(201);
    const idempotencyKey = key('limited');
    const refused = await harness.placeCall({ to }, { 'idempotency-key': idempotencyKey });
    expect(refused.status).toBe(429);
    const retried = await pollUntil(
      () => harness!.placeCall({ to }, { 'idempotency-key': idempotencyKey }),
      (res) => res.status !== 429,
      5000,
      200,
    );
    expect(retried.status).toBe(201);
    expect(placedTo(harness, to)).toHaveLength(2);
  });

  it('storage failing once after Twilio accepted: the write is retried and the answer is 201', async () => {
    const faulty = failingDatabase(base);
    harness = await startVoiceHarness({ db: faulty.db });
    const to = freshNumber();
    faulty.failNext(/'provider_accepted'/, 1);
    const res = await harness.placeCall({ to }, { 'idempotency-key': key('once') });
    expect(res.status).toBe(201);
    const body = (await res.json()) as CallBody;
    expect(body.providerCallSid).toMatch(/^CA/);
    expect(faulty.failures).toBe(1);
    expect(placedTo(harness, to)).toHaveLength(1);
  });

  it('storage down after Twilio accepted: 503 naming the call, never failed; the same key reads it, one call', async () => {
    const faulty = failingDatabase(base);
    harness = await startVoiceHarness({ db: faulty.db });
    const to = freshNumber();
    const idempotencyKey = key('down');
    // Every attempt to record the CallSid fails (the first and its three retries).
    faulty.failNext(/'provider_accepted'/, 4);
    const first = await harness.placeCall({ to }, { 'idempotency-key': idempotencyKey });
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('1');
    const problem = (await first.json()) as { callId: string; providerCallSid: string };
    expect(problem.providerCallSid).toMatch(/^CA/);
    expect(placedTo(harness, to)).toHaveLength(1);

    const retry = await harness.placeCall({ to }, { 'idempotency-key': idempotencyKey });
    expect(retry.status).toBe(200);
    const call = (await retry.json()) as CallBody;
    expect(call).toMatchObject({ id: problem.callId, providerCallSid: problem.providerCallSid });
    expect(call.status).not.toBe('failed');
    expect(call.failureReason).toBeNull();
    expect(placedTo(harness, to)).toHaveLength(1);

    // The live call's own callbacks still move it: it ends completed, never failed.
    const done = await pollUntil(
      async () =>
        (await (await harness!.request(`/calls/${problem.callId}`)).json()) as CallBody & {
          events: Array<{ type: string }>;
        },
      (c) => c.status === 'completed',
    );
    expect(done.status).toBe('completed');
    expect(done.events.map((e) => e.type)).not.toContain('provider_failed');
  });
});
