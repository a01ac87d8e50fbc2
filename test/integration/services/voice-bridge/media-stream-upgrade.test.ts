import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createVoiceStore } from '../../../../services/voice-bridge/store.ts';
import { signStreamToken } from '../../../../services/voice-bridge/stream-token.ts';
import type { Database } from '../../../../shared/db/index.ts';
import { computeTwilioSignature } from '../../../../shared/webhooks/twilio-signature.ts';
import { startVoiceHarness, type VoiceHarness } from '../../../e2e/voice-bridge/harness.ts';
import { createTestDatabase } from '../../../support/database.ts';

// Issue 9.5: a signed upgrade URL cannot be replayed for an ended call, expires, and one stream per call.

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
const quietTwilio: typeof fetch = async () =>
  Response.json({ sid: callSid(), status: 'queued' }, { status: 201 });

async function placedCall(h: VoiceHarness): Promise<{ id: string; sid: string }> {
  const res = await h.placeCall({ to: `+1415557${String(Math.floor(Math.random() * 9000) + 1000)}` });
  const body = (await res.json()) as { id: string; providerCallSid: string };
  return { id: body.id, sid: body.providerCallSid };
}

const streamUrl = (h: VoiceHarness, id: string, expiresAt = new Date(Date.now() + 60_000), secret?: string) =>
  `${h.url.replace('http', 'ws')}/media/${id}/${signStreamToken(secret ?? h.config.twilio.authToken, id, expiresAt)}`;

interface Upgrade {
  opened: boolean;
  status?: number;
  socket?: WebSocket;
}

/** A Twilio-signed upgrade; an opened socket is handed back so the test decides when it closes. */
const upgrade = (h: VoiceHarness, url: string) =>
  new Promise<Upgrade>((resolve) => {
    const signature = computeTwilioSignature(h.config.twilio.authToken, url, {});
    const ws = new WebSocket(url, { headers: { 'x-twilio-signature': signature }, handshakeTimeout: 3000 });
    ws.on('open', () => resolve({ opened: true, socket: ws }));
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      ws.terminate();
      resolve({ opened: false, status: res.statusCode });
    });
    ws.on('error', () => resolve({ opened: false }));
  });

const closeSocket = (ws: WebSocket) =>
  new Promise<void>((resolve) => {
    ws.on('close', () => resolve());
    ws.close(1000, 'done');
  });

async function twilioStatus(h: VoiceHarness, id: string, sid: string, status: string, sequence: number) {
  const path = `/webhooks/voice/status?callId=${id}`;
  const params = { CallSid: sid, CallStatus: status, SequenceNumber: String(sequence) };
  const res = await fetch(`${h.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': computeTwilioSignature(
        h.config.twilio.authToken,
        `${h.config.publicUrl}${path}`,
        params,
      ),
    },
    body: new URLSearchParams(params).toString(),
  });
  expect(res.status).toBe(200);
}

async function activeStreams(callId: string): Promise<number> {
  const rows = await db.query<{ n: number }>(
    'select count(*)::int as n from voice_media_streams where call_id = $1 and closed_at is null',
    [callId],
  );
  return rows[0].n;
}

async function refusedMetric(h: VoiceHarness, reason: string): Promise<number> {
  const text = await h.metrics.registry.metrics();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('voice_media_streams_refused_total{') && l.includes(`reason="${reason}"`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('Media Streams upgrade guard (issue 9.5)', () => {
  it('refuses a URL without our token, with a forged or another call’s token, and an expired one', async () => {
    harness = await startVoiceHarness({ db, fetch: quietTwilio });
    const { id } = await placedCall(harness);
    const base = harness.url.replace('http', 'ws');

    expect(await upgrade(harness, `${base}/media/${id}`)).toMatchObject({ opened: false, status: 403 });
    const forged = await upgrade(harness, streamUrl(harness, id, undefined, 'not-our-secret'));
    expect(forged).toMatchObject({ opened: false, status: 403 });
    const other = await placedCall(harness);
    const othersToken = streamUrl(harness, other.id).split('/').pop();
    expect(await upgrade(harness, `${base}/media/${id}/${othersToken}`)).toMatchObject({ status: 403 });
    const expiredUrl = streamUrl(harness, id, new Date(Date.now() - 1000));
    expect(await upgrade(harness, expiredUrl)).toMatchObject({ opened: false, status: 403 });
    // The same over plain HTTP shows the problem document (an upgrade answer carries no body).
    const plain = await fetch(expiredUrl.replace('ws', 'http'), {
      headers: {
        'x-twilio-signature': computeTwilioSignature(harness.config.twilio.authToken, expiredUrl, {}),
      },
    });
    expect(plain.status).toBe(403);
    expect(((await plain.json()) as { detail: string }).detail).toBe('this stream URL has expired');
    expect(await refusedMetric(harness, 'expired')).toBe(2);
    expect(await refusedMetric(harness, 'unsigned')).toBe(3);
    expect(await activeStreams(id)).toBe(0);

    const ok = await upgrade(harness, streamUrl(harness, id));
    expect(ok.opened).toBe(true);
    await closeSocket(ok.socket!);
    expect(await harness.streamsClosed()).toBe(true);
  });

  it('allows one active stream per call; the slot frees when that stream ends', async () => {
    harness = await startVoiceHarness({ db, fetch: quietTwilio });
    const { id, sid } = await placedCall(harness);
    await twilioStatus(harness, id, sid, 'in-progress', 2);
    const url = streamUrl(harness, id);

    const first = await upgrade(harness, url);
    expect(first.opened).toBe(true);
    expect(await activeStreams(id)).toBe(1);
    // The same signed URL replayed while the first stream lives, and several at once: all refused.
    const replays = await Promise.all([upgrade(harness, url), upgrade(harness, url), upgrade(harness, url)]);
    expect(replays.map((r) => r.status)).toEqual([409, 409, 409]);
    expect(await refusedMetric(harness, 'busy')).toBe(3);

    await closeSocket(first.socket!);
    expect(await harness.streamsClosed()).toBe(true);
    const deadline = Date.now() + 3000;
    while ((await activeStreams(id)) > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(await activeStreams(id)).toBe(0);
    const again = await upgrade(harness, url);
    expect(again.opened).toBe(true);
    await closeSocket(again.socket!);
    expect(await harness.streamsClosed()).toBe(true);
  });

  it('refuses an upgrade for an ended call, even with a fresh signed URL', async () => {
    harness = await startVoiceHarness({ db, fetch: quietTwilio });
    const { id, sid } = await placedCall(harness);
    await twilioStatus(harness, id, sid, 'completed', 3);
    const refused = await upgrade(harness, streamUrl(harness, id));
    expect(refused).toMatchObject({ opened: false, status: 410 });
    expect(await refusedMetric(harness, 'ended')).toBe(1);
    expect(await activeStreams(id)).toBe(0);
    const events = await db.query<{ type: string }>(
      `select type from voice_call_events where call_id = $1 and source = 'service'`,
      [id],
    );
    expect(events.map((e) => e.type)).not.toContain('stream_started');
  });

  it('refuses a replay after the AI leg ended (agent unavailable), while Twilio still plays the fallback', async () => {
    harness = await startVoiceHarness({ db, agent: 'down' });
    const res = await harness.placeCall({ to: '+14155557001' });
    const created = (await res.json()) as { id: string; providerCallSid: string };
    const call = await harness.twilio.waitForCall(created.providerCallSid);
    expect(call.said).toEqual(['Sorry, the assistant is unavailable.']);
    // The call is over at the sandbox; pretend it is still live at Twilio to isolate the AI-leg rule.
    await db.query(`update voice_calls set status = 'in-progress', status_rank = 3 where id = $1`, [
      created.id,
    ]);
    expect(await upgrade(harness, streamUrl(harness, created.id))).toMatchObject({
      opened: false,
      status: 410,
    });
  });

  it('puts an expiring token in the answer TwiML that the sandbox’s stream uses', async () => {
    harness = await startVoiceHarness({ db, config: { streamUrlTtlSeconds: 30 } });
    const created = (await (await harness.placeCall({ to: '+14155557002' })).json()) as {
      id: string;
      providerCallSid: string;
    };
    const call = await harness.twilio.waitForCall(created.providerCallSid);
    const connect = call.twiml.flat().find((v) => v.verb === 'Connect') as { stream: { url: string } };
    const match = /\/media\/([0-9a-f-]{36})\/(\d+)\.[\w-]{43}$/.exec(connect.stream.url);
    expect(match?.[1]).toBe(created.id);
    const expiresInS = Number(match![2]) - Date.now() / 1000;
    expect(expiresInS).toBeGreaterThan(20);
    expect(expiresInS).toBeLessThanOrEqual(30);
    expect(call.stream?.connected).toBe(true);
    expect(await harness.streamsClosed()).toBe(true);
    expect(await activeStreams(created.id)).toBe(0);
  });

  it('refuses an unknown call with 404 before any socket exists', async () => {
    harness = await startVoiceHarness({ db, fetch: quietTwilio });
    expect(await upgrade(harness, streamUrl(harness, randomUUID()))).toMatchObject({
      opened: false,
      status: 404,
    });
  });

  it('takes the stream slot once under concurrent claims (the database decides, across instances)', async () => {
    harness = await startVoiceHarness({ db, fetch: quietTwilio });
    const { id } = await placedCall(harness);
    const store = createVoiceStore(db);
    const claims = await Promise.all(
      Array.from({ length: 10 }, () => store.claimMediaStream(id, randomUUID())),
    );
    expect(claims.filter((c) => c === 'claimed')).toHaveLength(1);
    expect(claims.filter((c) => c === 'busy')).toHaveLength(9);
  });
});
