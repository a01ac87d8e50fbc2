import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../../shared/db/index.ts';
import { startVoiceHarness, type VoiceHarness } from '../../../e2e/voice-bridge/harness.ts';
import { createTestDatabase } from '../../../support/database.ts';

/** Stands in for Twilio's REST API: records what it was asked and answers like Twilio. */
function stubTwilio() {
  const requests: Array<{ url: string; authorization: string | null; form: URLSearchParams }> = [];
  const stub: typeof fetch = async (input, init) => {
    const form = new URLSearchParams(String(init?.body ?? ''));
    requests.push({
      url: String(input),
      authorization: new Headers(init?.headers).get('authorization'),
      form,
    });
    return Response.json({ sid: `CA${randomBytes(16).toString('hex')}`, status: 'queued' }, { status: 201 });
  };
  return { stub, requests };
}

let db: Database;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.close());

let harness: VoiceHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

let counter = 0;
/** A destination nobody else in this file uses. */
const freshNumber = () => `+1415555${String(1000 + counter++).padStart(4, '0')}`;

describe('POST /calls/outbound', () => {
  it('needs the API key', async () => {
    harness = await startVoiceHarness({ db });
    const none = await fetch(`${harness.url}/calls/outbound`, { method: 'POST', body: '{}' });
    expect(none.status).toBe(401);
    const wrong = await harness.placeCall({ to: freshNumber() }, { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('content-type')).toContain('application/problem+json');
  });

  it('rejects bad numbers and unknown fields with a 400 naming them', async () => {
    const twilio = stubTwilio();
    harness = await startVoiceHarness({ db, fetch: twilio.stub });
    const bad = await harness.placeCall({ to: '0788 123 456', from: 'me', extra: 1 });
    expect(bad.status).toBe(400);
    const problem = (await bad.json()) as { errors: Array<{ field: string }> };
    expect(problem.errors.map((e) => e.field).sort()).toEqual(['body', 'body.from', 'body.to'].sort());
    const malformed = await harness.request('/calls/outbound', { method: 'POST', body: '{"to":' });
    expect(malformed.status).toBe(400);
    const badKey = await harness.placeCall({ to: freshNumber() }, { 'idempotency-key': 'has spaces' });
    expect(badKey.status).toBe(400);
    expect(twilio.requests).toHaveLength(0);
  });

  it('stores the call, then creates it at Twilio with our webhooks, and answers 201', async () => {
    const twilio = stubTwilio();
    harness = await startVoiceHarness({ db, fetch: twilio.stub });
    const to = freshNumber();
    const res = await harness.placeCall({ to, agent: 'sales', metadata: { lead: 42 } });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { id: string; providerCallSid: string; status: string; from: string };
    expect(body).toMatchObject({ status: 'queued', from: '+15005550006' });
    expect(res.headers.get('location')).toBe(`/calls/${body.id}`);

    const [sent] = twilio.requests;
    expect(sent.url).toBe(
      `${harness.providerUrl}/2010-04-01/Accounts/${harness.twilio.accountSid}/Calls.json`,
    );
    const basic = Buffer.from(`${harness.twilio.accountSid}:${harness.twilio.authToken}`).toString('base64');
    expect(sent.authorization).toBe(`Basic ${basic}`);
    expect(sent.form.get('To')).toBe(to);
    expect(sent.form.get('From')).toBe('+15005550006');
    expect(sent.form.get('Url')).toBe(`${harness.url}/webhooks/voice/answer?callId=${body.id}`);
    expect(sent.form.get('StatusCallback')).toBe(`${harness.url}/webhooks/voice/status?callId=${body.id}`);
    expect(sent.form.getAll('StatusCallbackEvent')).toEqual([
      'initiated',
      'ringing',
      'answered',
      'completed',
    ]);

    const detail = (await (await harness.request(`/calls/${body.id}`)).json()) as {
      providerCallSid: string;
      agent: string;
      metadata: unknown;
      events: Array<{ type: string }>;
    };
    expect(detail).toMatchObject({
      providerCallSid: body.providerCallSid,
      agent: 'sales',
      metadata: { lead: 42 },
    });
    expect(detail.events.map((e) => e.type)).toEqual(['created', 'provider_accepted']);
  });

  it('limits each API key to 10 requests a minute: the 11th gets 429 with Retry-After', async () => {
    const twilio = stubTwilio();
    harness = await startVoiceHarness({ db, fetch: twilio.stub });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await harness.placeCall({ to: freshNumber() })).status);
    expect(statuses).toEqual(Array(10).fill(201));
    const eleventh = await harness.placeCall({ to: freshNumber() });
    expect(eleventh.status).toBe(429);
    expect(eleventh.headers.get('content-type')).toContain('application/problem+json');
    expect(Number(eleventh.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await eleventh.json()) as { policy: string }).policy).toBe('voice-outbound');
    expect(twilio.requests).toHaveLength(10);
  });

  it('limits calls per destination against toll fraud', async () => {
    const twilio = stubTwilio();
    harness = await startVoiceHarness({ db, fetch: twilio.stub });
    const to = freshNumber();
    for (let i = 0; i < 3; i++) expect((await harness.placeCall({ to })).status).toBe(201);
    const fourth = await harness.placeCall({ to });
    expect(fourth.status).toBe(429);
    expect(Number(fourth.headers.get('retry-after'))).toBeGreaterThan(60);
    expect(((await fourth.json()) as { policy: string }).policy).toBe('voice-destination');
    expect((await harness.placeCall({ to: freshNumber() })).status).toBe(201);
  });

  it('returns the first call for a repeated Idempotency-Key and places nothing more', async () => {
    const twilio = stubTwilio();
    harness = await startVoiceHarness({ db, fetch: twilio.stub });
    const key = `order-${randomBytes(4).toString('hex')}`;
    const to = freshNumber();
    const first = await harness.placeCall({ to }, { 'idempotency-key': key });
    const again = await harness.placeCall({ to }, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const [a, b] = (await Promise.all([first.json(), again.json()])) as Array<{
      id: string;
      providerCallSid: string;
    }>;
    expect(b.id).toBe(a.id);
    expect(b.providerCallSid).toBe(a.providerCallSid);
    expect(twilio.requests).toHaveLength(1);

    const reused = await harness.placeCall({ to: freshNumber() }, { 'idempotency-key': key });
    expect(reused.status).toBe(422);
    expect(twilio.requests).toHaveLength(1);
  });

  it('places one call for concurrent requests with the same Idempotency-Key', async () => {
    const twilio = stubTwilio();
    harness = await startVoiceHarness({ db, fetch: twilio.stub });
    const key = `burst-${randomBytes(4).toString('hex')}`;
    const to = freshNumber();
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => harness!.placeCall({ to }, { 'idempotency-key': key })),
    );
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as Array<{ id: string }>;
    expect(new Set(bodies.map((b) => b.id)).size).toBe(1);
    expect(responses.filter((r) => r.status === 201)).toHaveLength(1);
    expect(twilio.requests).toHaveLength(1);
  });
});

describe('GET /calls/:id', () => {
  it('answers 404 for an unknown call and 400 for a malformed id', async () => {
    harness = await startVoiceHarness({ db });
    expect((await harness.request('/calls/7f0c7f38-0d5b-4c8f-9a54-1a2b3c4d5e6f')).status).toBe(404);
    const bad = await harness.request('/calls/not-a-uuid');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: Array<{ field: string }> }).errors[0].field).toBe('params.id');
    expect((await fetch(`${harness.url}/calls/7f0c7f38-0d5b-4c8f-9a54-1a2b3c4d5e6f`)).status).toBe(401);
  });
});
