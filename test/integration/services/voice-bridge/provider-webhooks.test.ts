import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { signStreamToken } from '../../../../services/voice-bridge/stream-token.ts';
import type { Database } from '../../../../shared/db/index.ts';
import { computeTwilioSignature } from '../../../../shared/webhooks/twilio-signature.ts';
import { startVoiceHarness, type VoiceHarness } from '../../../e2e/voice-bridge/harness.ts';
import { createTestDatabase, switchableDatabase } from '../../../support/database.ts';
import { sampleValue, scrapeMetrics } from '../../../support/metrics-text.ts';

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

const callSid = () => `CA${randomBytes(16).toString('hex')}`;

/** Posts a form the way Twilio does, signed for `signedUrl` (defaults to where it is sent). */
async function twilioPost(
  h: VoiceHarness,
  path: string,
  params: Record<string, string>,
  options: { signedUrl?: string; signature?: string | null; tamper?: Record<string, string> } = {},
) {
  const url = `${h.url}${path}`;
  const signature =
    options.signature === undefined
      ? computeTwilioSignature(
          h.config.twilio.authToken,
          options.signedUrl ?? `${h.config.publicUrl}${path}`,
          params,
        )
      : options.signature;
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(signature === null ? {} : { 'x-twilio-signature': signature }),
    },
    body: new URLSearchParams({ ...params, ...(options.tamper ?? {}) }).toString(),
  });
}

const statusParams = (sid: string, status: string, sequence: number): Record<string, string> => ({
  AccountSid: 'AC00000000000000000000000000000000',
  ApiVersion: '2010-04-01',
  CallSid: sid,
  CallStatus: status,
  CallbackSource: 'call-progress-events',
  Direction: 'outbound-api',
  From: '+15005550006',
  To: '+14155550100',
  SequenceNumber: String(sequence),
  Timestamp: new Date(Date.now() - 5000 + sequence * 1000).toUTCString().replace('GMT', '+0000'),
  ...(status === 'completed' ? { CallDuration: '17' } : {}),
});

async function eventCount(sid: string): Promise<number> {
  const rows = await db.query<{ n: number }>(
    'select count(*)::int as n from voice_call_events where provider_call_sid = $1',
    [sid],
  );
  return rows[0].n;
}

/** Twilio's REST API answering "queued" and doing nothing more, so only the test sends webhooks. */
const quietTwilio: typeof fetch = async () =>
  Response.json({ sid: callSid(), status: 'queued' }, { status: 201 });

async function placedCall(h: VoiceHarness): Promise<{ id: string; sid: string }> {
  const res = await h.placeCall({ to: `+1415556${String(Math.floor(Math.random() * 9000) + 1000)}` });
  const body = (await res.json()) as { id: string; providerCallSid: string };
  return { id: body.id, sid: body.providerCallSid };
}

describe('Twilio webhook signatures', () => {
  it('accepts a signed status callback and refuses missing, tampered or wrong-URL signatures (403, nothing stored)', async () => {
    harness = await startVoiceHarness({ db });
    const sid = callSid();
    const params = statusParams(sid, 'ringing', 1);
    const path = '/webhooks/voice/status';

    const missing = await twilioPost(harness, path, params, { signature: null });
    expect(missing.status).toBe(403);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    expect((await twilioPost(harness, path, params, { tamper: { CallStatus: 'completed' } })).status).toBe(
      403,
    );
    expect(
      (await twilioPost(harness, path, params, { signedUrl: `https://evil.example.com${path}` })).status,
    ).toBe(403);
    expect(
      (await twilioPost(harness, `${path}?x=1`, params, { signedUrl: `${harness.url}${path}` })).status,
    ).toBe(403);
    expect(await eventCount(sid)).toBe(0);
    const failures = await harness.metrics.registry.getSingleMetricAsString(
      'webhook_signature_failures_total',
    );
    expect(failures).toMatch(/provider="twilio"[^\n]* 4/);

    const ok = await twilioPost(harness, path, params);
    expect(ok.status).toBe(200);
    expect(await eventCount(sid)).toBe(1);
  });

  it('verifies against VOICE_PUBLIC_URL (behind a proxy), with or without the default port', async () => {
    harness = await startVoiceHarness({ db, config: { publicUrl: 'https://voice.example.com' } });
    const path = '/webhooks/voice/status';
    const sid = callSid();
    expect((await twilioPost(harness, path, statusParams(sid, 'initiated', 0))).status).toBe(200);
    expect(
      (
        await twilioPost(harness, path, statusParams(sid, 'ringing', 1), {
          signedUrl: `https://voice.example.com:443${path}`,
        })
      ).status,
    ).toBe(200);
    // The Host header we actually received is not what Twilio signed.
    expect(
      (
        await twilioPost(harness, path, statusParams(sid, 'completed', 2), {
          signedUrl: `${harness.url}${path}`,
        })
      ).status,
    ).toBe(403);
  });
});

describe('POST /webhooks/voice/status', () => {
  it('keeps an event for an unknown CallSid and answers 200', async () => {
    harness = await startVoiceHarness({ db });
    const sid = callSid();
    const res = await twilioPost(harness, '/webhooks/voice/status', statusParams(sid, 'completed', 3));
    expect(res.status).toBe(200);
    const rows = await db.query<{ call_id: string | null }>(
      'select call_id from voice_call_events where provider_call_sid = $1',
      [sid],
    );
    expect(rows).toEqual([{ call_id: null }]);
  });

  it('stores each event once and applies concurrent, shuffled, duplicated events without racing', async () => {
    harness = await startVoiceHarness({ db, fetch: quietTwilio });
    const { id, sid } = await placedCall(harness);
    const path = `/webhooks/voice/status?callId=${id}`;
    const events = ['initiated', 'ringing', 'in-progress', 'completed'].map((s, i) =>
      statusParams(sid, s, i),
    );
    const deliveries = [...events, ...events, ...events].sort(() => Math.random() - 0.5);
    const responses = await Promise.all(deliveries.map((p) => twilioPost(harness!, path, p)));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    // A late ringing after completion is kept, but does not move the call back.
    expect((await twilioPost(harness, path, statusParams(sid, 'ringing', 7))).status).toBe(200);

    const detail = (await (await harness.request(`/calls/${id}`)).json()) as {
      status: string;
      durationSeconds: number;
      endedAt: string;
      events: Array<{ source: string; type: string; sequenceNumber: number }>;
    };
    expect(detail.status).toBe('completed');
    expect(detail.durationSeconds).toBe(17);
    expect(detail.endedAt).toBeTruthy();
    const provider = detail.events.filter((e) => e.source === 'provider');
    expect(provider.map((e) => `${e.type}#${e.sequenceNumber}`)).toEqual([
      'initiated#0',
      'ringing#1',
      'in-progress#2',
      'completed#3',
      'ringing#7',
    ]);
  });

  it('answers 503 with Retry-After while the database is down, and stores Twilio’s retry after recovery', async () => {
    const switchable = switchableDatabase(db);
    harness = await startVoiceHarness({ db: switchable });
    const sid = callSid();
    const params = statusParams(sid, 'ringing', 1);
    switchable.down = true;
    const refused = await twilioPost(harness, '/webhooks/voice/status', params);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    switchable.down = false;
    expect(await eventCount(sid)).toBe(0);
    expect((await twilioPost(harness, '/webhooks/voice/status', params)).status).toBe(200);
    expect(await eventCount(sid)).toBe(1);
    const metrics = await scrapeMetrics(harness.url);
    const deliveries = (result: string) =>
      sampleValue(metrics, 'webhook_deliveries_total', { provider: 'twilio', result });
    expect([deliveries('failed'), deliveries('stored')]).toEqual([1, 1]);
  });

  it('answers 400 naming the field for a signed but malformed callback', async () => {
    harness = await startVoiceHarness({ db });
    const res = await twilioPost(harness, '/webhooks/voice/status', {
      CallSid: callSid(),
      CallStatus: 'dancing',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: Array<{ field: string }> }).errors[0].field).toBe(
      'body.CallStatus',
    );
  });
});

describe('POST /webhooks/voice/answer', () => {
  it('creates an unknown inbound call on the fly and connects it to our media stream', async () => {
    harness = await startVoiceHarness({ db, config: { publicUrl: 'https://voice.example.com' } });
    const sid = callSid();
    const res = await twilioPost(harness, '/webhooks/voice/answer', {
      AccountSid: 'AC00000000000000000000000000000000',
      CallSid: sid,
      CallStatus: 'ringing',
      Direction: 'inbound',
      From: '+250788000001',
      To: '+15005550006',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/xml');
    const xml = await res.text();
    const match =
      /<Stream url="wss:\/\/voice\.example\.com\/media\/([0-9a-f-]{36})\/\d+\.[\w-]{43}"><Parameter name="callId" value="\1"\/>/.exec(
        xml,
      );
    expect(match).not.toBeNull();
    expect(xml).toContain('action="https://voice.example.com/webhooks/voice/stream-ended?callId=');
    const detail = (await (await harness.request(`/calls/${match![1]}`)).json()) as Record<string, unknown>;
    expect(detail).toMatchObject({
      direction: 'inbound',
      from: '+250788000001',
      providerCallSid: sid,
      status: 'ringing',
    });
  });
});

describe('answer webhooks in a burst (group commit)', () => {
  it('answers each with its own call: ours learn their CallSid, inbound ones are created once, unknown ids hang up', async () => {
    harness = await startVoiceHarness({ db, fetch: quietTwilio });
    const h = harness;
    const placed = await Promise.all(Array.from({ length: 8 }, () => placedCall(h)));
    const inboundSids = Array.from({ length: 6 }, callSid);
    const answer = (params: Record<string, string>, callId?: string) =>
      twilioPost(h, `/webhooks/voice/answer${callId ? `?callId=${callId}` : ''}`, {
        AccountSid: 'AC00000000000000000000000000000000',
        CallStatus: 'in-progress',
        From: '+250788000002',
        To: '+15005550006',
        ...params,
      });
    // All at once: ours, inbound ones (each twice, as a Twilio retry would), and one for a call we never had.
    const unknownId = randomUUID();
    const responses = await Promise.all([
      ...placed.map(({ id, sid }) => answer({ CallSid: sid, Direction: 'outbound-api' }, id)),
      ...inboundSids.flatMap((sid) => [
        answer({ CallSid: sid, Direction: 'inbound' }),
        answer({ CallSid: sid, Direction: 'inbound' }),
      ]),
      answer({ CallSid: callSid(), Direction: 'outbound-api' }, unknownId),
    ]);
    const bodies = await Promise.all(responses.map((r) => r.text()));
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200));
    const streamedCall = (xml: string) =>
      /<Parameter name="callId" value="([0-9a-f-]{36})"\/>/.exec(xml)?.[1];
    placed.forEach(({ id }, i) => {
      expect(streamedCall(bodies[i])).toBe(id);
    });
    for (const [n, sid] of inboundSids.entries()) {
      const first = streamedCall(bodies[placed.length + 2 * n]);
      const retry = streamedCall(bodies[placed.length + 2 * n + 1]);
      expect(first).toBeDefined();
      expect(retry).toBe(first);
      const [row] = await db.query<{ n: number }>(
        'select count(*)::int as n from voice_calls where provider_call_sid = $1',
        [sid],
      );
      expect(row.n).toBe(1);
    }
    expect(bodies.at(-1)).toContain('<Hangup/>');
    expect(streamedCall(bodies.at(-1)!)).toBeUndefined();
    for (const { id, sid } of placed) {
      const detail = (await (await h.request(`/calls/${id}`)).json()) as { providerCallSid: string };
      expect(detail.providerCallSid).toBe(sid);
    }
    // Every answer went through the writer (one commit per group).
    const metrics = await scrapeMetrics(h.url);
    expect(sampleValue(metrics, 'group_commit_batch_size_sum', { writer: 'voice-answers' })).toBe(
      responses.length,
    );
  });
});

const streamPath = (h: VoiceHarness, id: string) =>
  `/media/${id}/${signStreamToken(h.config.twilio.authToken, id, new Date(Date.now() + 60_000))}`;

describe('GET /media/:callId/:token upgrade', () => {
  const tryUpgrade = (url: string, headers: Record<string, string> = {}) =>
    new Promise<{ opened: boolean; status?: number }>((resolve) => {
      const ws = new WebSocket(url, { headers, handshakeTimeout: 3000 });
      ws.on('open', () => {
        ws.close();
        resolve({ opened: true });
      });
      ws.on('unexpected-response', (_req, res) => {
        res.resume();
        ws.terminate();
        resolve({ opened: false, status: res.statusCode });
      });
      ws.on('error', () => resolve({ opened: false }));
    });

  it('refuses an unsigned or wrongly signed upgrade, and one for an unknown call', async () => {
    harness = await startVoiceHarness({ db, fetch: quietTwilio });
    const { id } = await placedCall(harness);
    const wsUrl = `${harness.url.replace('http', 'ws')}${streamPath(harness, id)}`;
    expect(await tryUpgrade(wsUrl)).toEqual({ opened: false, status: 403 });
    const wrong = computeTwilioSignature('other-token', wsUrl, {});
    expect(await tryUpgrade(wsUrl, { 'x-twilio-signature': wrong })).toEqual({ opened: false, status: 403 });
    const unknown = `${harness.url.replace('http', 'ws')}${streamPath(harness, randomUUID())}`;
    const signedUnknown = computeTwilioSignature(harness.config.twilio.authToken, unknown, {});
    expect(await tryUpgrade(unknown, { 'x-twilio-signature': signedUnknown })).toEqual({
      opened: false,
      status: 404,
    });
    const signed = computeTwilioSignature(harness.config.twilio.authToken, wsUrl, {});
    expect((await tryUpgrade(wsUrl, { 'x-twilio-signature': signed })).opened).toBe(true);
    expect(await harness.streamsClosed()).toBe(true);
  });

  it('answers 426 to a signed request that does not upgrade', async () => {
    harness = await startVoiceHarness({ db, fetch: quietTwilio });
    const { id } = await placedCall(harness);
    const path = streamPath(harness, id);
    const signature = computeTwilioSignature(
      harness.config.twilio.authToken,
      `${harness.url.replace('http', 'ws')}${path}`,
      {},
    );
    const res = await fetch(`${harness.url}${path}`, { headers: { 'x-twilio-signature': signature } });
    expect(res.status).toBe(426);
  });
});

describe('status callback business metrics', () => {
  it('counts deliveries by result and each status a call moves into, its outcome last', async () => {
    harness = await startVoiceHarness({ db, fetch: quietTwilio });
    const { id, sid } = await placedCall(harness);
    const path = `/webhooks/voice/status?callId=${id}`;
    for (const [i, status] of ['ringing', 'in-progress', 'completed'].entries()) {
      expect((await twilioPost(harness, path, statusParams(sid, status, i + 1))).status).toBe(200);
    }
    // Twilio's retry of a stored event, and a late one that cannot move a completed call.
    expect((await twilioPost(harness, path, statusParams(sid, 'in-progress', 2))).status).toBe(200);
    expect((await twilioPost(harness, path, statusParams(sid, 'ringing', 9))).status).toBe(200);
    expect(
      (await twilioPost(harness, path, statusParams(sid, 'busy', 10), { signature: 'bad' })).status,
    ).toBe(403);
    expect((await twilioPost(harness, path, { CallStatus: 'completed' })).status).toBe(400);

    const text = await scrapeMetrics(harness.url);
    const deliveries = (result: string) =>
      sampleValue(text, 'webhook_deliveries_total', { provider: 'twilio', result });
    expect(deliveries('stored')).toBe(4);
    expect(deliveries('duplicate')).toBe(1);
    expect(deliveries('rejected')).toBe(2);
    expect(deliveries('failed')).toBe(0);
    const calls = (status: string) => sampleValue(text, 'voice_call_status_total', { status });
    expect([calls('ringing'), calls('in-progress'), calls('completed'), calls('busy')]).toEqual([1, 1, 1, 0]);
  });
});
