import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromPostgresJs } from '../../../../shared/db/index.ts';
import { signMetaPayload } from '../../../../shared/webhooks/meta-signature.ts';
import {
  APP_SECRET,
  countRows,
  envelope,
  type Harness,
  inboundEnvelope,
  postWebhook,
  startHarness,
  statusEnvelope,
  switchableDatabase,
  VERIFY_TOKEN,
} from './harness.ts';

describe('whatsapp-webhook /webhook over HTTP', () => {
  let h: Harness;
  let switchable: ReturnType<typeof switchableDatabase>;

  beforeAll(async () => {
    h = await startHarness({
      env: { WHATSAPP_SIGNATURE_FAILURE_LIMIT: '8', WHATSAPP_WEBHOOK_BODY_LIMIT_BYTES: String(64 * 1024) },
      appDb: (db) => {
        switchable = switchableDatabase(db);
        return switchable;
      },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  describe('GET /webhook verification', () => {
    it('answers the challenge as plain text for the right token', async () => {
      const res = await fetch(
        `${h.url}/webhook?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1158201444`,
      );
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await res.text()).toBe('1158201444');
    });

    it('refuses a wrong token, a wrong mode, or nothing', async () => {
      for (const query of [
        `hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1`,
        `hub.mode=unsubscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1`,
        '',
      ]) {
        const res = await fetch(`${h.url}/webhook?${query}`);
        expect(res.status).toBe(403);
      }
    });
  });

  describe('signature', () => {
    const body = JSON.stringify(inboundEnvelope({ id: 'wamid.SIG', type: 'text', text: { body: 'x' } }));
    const good = signMetaPayload(body, APP_SECRET);

    it('rejects missing, wrong-prefix, wrong and one-byte-changed bodies with 401, storing nothing', async () => {
      const before = await h.metrics.registry.getSingleMetricAsString('webhook_signature_failures_total');
      const changed = body.replace('"x"', '"y"');
      const cases: [string, string | null][] = [
        [body, null],
        [body, good.replace('sha256=', 'sha1=')],
        [body, good.slice('sha256='.length)],
        [body, signMetaPayload(body, 'another-secret')],
        [changed, good],
      ];
      for (const [text, signature] of cases) {
        const res = await postWebhook(h.url, text, signature);
        expect(res.status).toBe(401);
        expect(res.headers.get('content-type')).toBe('application/problem+json');
      }
      expect(await countRows(h.db, 'whatsapp_inbound_messages')).toBe(0);
      const after = await h.metrics.registry.getSingleMetricAsString('webhook_signature_failures_total');
      expect(before).not.toMatch(/provider="meta"[^\n]* 5/);
      expect(after).toMatch(/provider="meta"[^\n]* 5/);
    });

    it('accepts the good signature', async () => {
      const res = await postWebhook(h.url, body, good);
      expect(res.status).toBe(200);
      expect(await countRows(h.db, 'whatsapp_inbound_messages')).toBe(1);
    });

    it('blocks an IP after too many bad signatures, yet still accepts and stores its correctly signed deliveries', async () => {
      let status = 0;
      for (let i = 0; i < 10 && status !== 429; i += 1) {
        status = (await postWebhook(h.url, body, `sha256=${'0'.repeat(64)}`)).status;
      }
      expect(status).toBe(429);
      // Still blocked for bad signatures (and one without a signature)...
      const blocked = await postWebhook(h.url, body, `sha256=${'1'.repeat(64)}`);
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await postWebhook(h.url, body, null)).status).toBe(429);
      expect(await h.metrics.registry.getSingleMetricAsString('rate_limit_rejections_total')).toMatch(
        /whatsapp-webhook-signature/,
      );
      // ...but Meta behind the same address (a proxy without TRUST_PROXY) is never locked out.
      const fresh = JSON.stringify(inboundEnvelope({ id: 'wamid.SIG2', type: 'text', text: { body: 'y' } }));
      const delivered = await postWebhook(h.url, fresh, signMetaPayload(fresh, APP_SECRET));
      expect(delivered.status).toBe(200);
      const rows = await h.db.query<{ wamid: string }>(
        "select wamid from whatsapp_inbound_messages where wamid = 'wamid.SIG2'",
      );
      expect(rows).toHaveLength(1);
    });
  });
});

describe('whatsapp-webhook ingest', () => {
  let h: Harness;
  let switchable: ReturnType<typeof switchableDatabase>;
  beforeAll(async () => {
    h = await startHarness({
      env: { WHATSAPP_WEBHOOK_BODY_LIMIT_BYTES: String(64 * 1024) },
      appDb: (db) => {
        switchable = switchableDatabase(db);
        return switchable;
      },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const inbound = (wamid: string) =>
    h.db.query<Record<string, unknown>>(
      `select type, text_body, reply_id, media_id, media_mime_type, media_sha256, caption, from_wa_id, contact_name,
              context_wamid, payload, agent_state, media_state from whatsapp_inbound_messages where wamid = $1`,
      [wamid],
    );

  it('stores every message type with its content, and the contact', async () => {
    const messages = [
      { id: 'wamid.T1', type: 'text', text: { body: 'Hello' } },
      {
        id: 'wamid.T2',
        type: 'interactive',
        interactive: { type: 'button_reply', button_reply: { id: 'yes', title: 'Yes' } },
        context: { from: '15550783881', id: 'wamid.OUT1' },
      },
      {
        id: 'wamid.T3',
        type: 'interactive',
        interactive: {
          type: 'list_reply',
          list_reply: { id: 'row-2', title: 'Kigali', description: 'City' },
        },
      },
      { id: 'wamid.T4', type: 'button', button: { text: 'Stop promotions', payload: 'STOP' } },
      {
        id: 'wamid.T5',
        type: 'image',
        image: {
          id: '1479537139650973',
          mime_type: 'image/jpeg',
          sha256: 'HgN8uaBk+zuvVuzY=',
          caption: 'receipt',
        },
      },
      {
        id: 'wamid.T6',
        type: 'audio',
        audio: { id: '1001', mime_type: 'audio/ogg; codecs=opus', sha256: 's', voice: true },
      },
      { id: 'wamid.T7', type: 'video', video: { id: '1002', mime_type: 'video/mp4', sha256: 's' } },
      {
        id: 'wamid.T8',
        type: 'document',
        document: {
          id: '1003',
          mime_type: 'application/pdf',
          sha256: 's',
          filename: 'a.pdf',
          caption: 'invoice',
        },
      },
      {
        id: 'wamid.T9',
        type: 'sticker',
        sticker: { id: '1004', mime_type: 'image/webp', sha256: 's', animated: false },
      },
      { id: 'wamid.T10', type: 'location', location: { latitude: -1.95, longitude: 30.06, name: 'Office' } },
      {
        id: 'wamid.T11',
        type: 'contacts',
        contacts: [
          { name: { formatted_name: 'Jo' }, phones: [{ phone: '+250788000009', wa_id: '250788000009' }] },
        ],
      },
      { id: 'wamid.T12', type: 'reaction', reaction: { message_id: 'wamid.OUT1', emoji: '👍' } },
      {
        id: 'wamid.T13',
        type: 'unsupported',
        errors: [{ code: 131051, title: 'Message type unknown', message: 'Message type unknown' }],
      },
      { id: 'wamid.T14', type: 'hologram', hologram: { depth: 3 }, brand_new_field: true },
    ];
    for (const message of messages) {
      const res = await postWebhook(h.url, inboundEnvelope(message));
      expect(res.status, message.type).toBe(200);
    }
    expect(await countRows(h.db, 'whatsapp_inbound_messages')).toBe(messages.length);

    expect((await inbound('wamid.T1'))[0]).toMatchObject({
      type: 'text',
      text_body: 'Hello',
      from_wa_id: '250788000001',
    });
    expect((await inbound('wamid.T1'))[0].contact_name).toBe('Ana');
    expect((await inbound('wamid.T2'))[0]).toMatchObject({
      text_body: 'Yes',
      reply_id: 'yes',
      context_wamid: 'wamid.OUT1',
    });
    expect((await inbound('wamid.T3'))[0]).toMatchObject({ text_body: 'Kigali', reply_id: 'row-2' });
    expect((await inbound('wamid.T4'))[0]).toMatchObject({ text_body: 'Stop promotions', reply_id: 'STOP' });
    expect((await inbound('wamid.T5'))[0]).toMatchObject({
      media_id: '1479537139650973',
      media_mime_type: 'image/jpeg',
      media_sha256: 'HgN8uaBk+zuvVuzY=',
      caption: 'receipt',
    });
    expect((await inbound('wamid.T8'))[0]).toMatchObject({ media_id: '1003', caption: 'invoice' });
    expect((await inbound('wamid.T10'))[0].payload).toMatchObject({
      location: { latitude: -1.95, longitude: 30.06 },
    });
    expect((await inbound('wamid.T11'))[0].payload).toMatchObject({
      contacts: [{ name: { formatted_name: 'Jo' } }],
    });
    expect((await inbound('wamid.T12'))[0].payload).toMatchObject({ reaction: { emoji: '👍' } });
    expect((await inbound('wamid.T13'))[0]).toMatchObject({ type: 'unsupported' });
    // Unknown type and fields are kept raw, never rejected.
    expect((await inbound('wamid.T14'))[0]).toMatchObject({
      type: 'hologram',
      payload: { hologram: { depth: 3 }, brand_new_field: true },
    });
    // No AGENT_URL and no media download configured: nothing is handed on.
    expect((await inbound('wamid.T1'))[0]).toMatchObject({ agent_state: 'none', media_state: 'none' });
    const [contact] = await h.db.query('select wa_id, profile_name from whatsapp_contacts where wa_id = $1', [
      '250788000001',
    ]);
    expect(contact).toEqual({ wa_id: '250788000001', profile_name: 'Ana' });
  });

  it('acknowledges a retried delivery with 200 and stores nothing new', async () => {
    const body = inboundEnvelope({ id: 'wamid.DUP', type: 'text', text: { body: 'twice' } });
    const first = await postWebhook(h.url, body);
    const second = await postWebhook(h.url, body);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(await second.json()).toMatchObject({ messages: 0, duplicates: 1 });
    const [row] = await h.db.query<{ n: number }>(
      'select count(*)::int as n from whatsapp_inbound_messages where wamid = $1',
      ['wamid.DUP'],
    );
    expect(row.n).toBe(1);
  });

  it('stores one row for concurrent duplicate deliveries', async () => {
    const body = inboundEnvelope({ id: 'wamid.RACE', type: 'text', text: { body: 'race' } });
    const responses = await Promise.all(Array.from({ length: 8 }, () => postWebhook(h.url, body)));
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
    const totals = await Promise.all(responses.map((r) => r.json() as Promise<{ messages: number }>));
    expect(totals.reduce((n, t) => n + t.messages, 0)).toBe(1);
    const [row] = await h.db.query<{ n: number }>(
      'select count(*)::int as n from whatsapp_inbound_messages where wamid = $1',
      ['wamid.RACE'],
    );
    expect(row.n).toBe(1);
  });

  it('keeps statuses for unknown message ids, each distinct event once', async () => {
    const body = statusEnvelope('wamid.UNKNOWN', 'delivered');
    expect((await postWebhook(h.url, body)).status).toBe(200);
    expect((await postWebhook(h.url, body)).status).toBe(200);
    const rows = await h.db.query('select status from whatsapp_status_events where wamid = $1', [
      'wamid.UNKNOWN',
    ]);
    expect(rows).toEqual([{ status: 'delivered' }]);
  });

  it('moves an outbound message forward only, whatever order statuses arrive in', async () => {
    const [{ id }] = await h.db.query<{ id: string }>(
      `insert into whatsapp_outbound_messages (phone_number_id, to_number, type, request, graph_payload, wamid, status, status_rank)
       values ('1', '+250788000001', 'text', '{}', '{}', 'wamid.OUT-ORDER', 'sent', 1) returning id`,
    );
    for (const status of ['read', 'delivered', 'sent', 'delivered']) {
      expect((await postWebhook(h.url, statusEnvelope('wamid.OUT-ORDER', status))).status).toBe(200);
    }
    const [row] = await h.db.query<{ status: string }>(
      'select status from whatsapp_outbound_messages where id = $1',
      [id],
    );
    expect(row.status).toBe('read');
    const events = await h.db.query<{ status: string }>(
      'select status from whatsapp_status_events where wamid = $1 order by status',
      ['wamid.OUT-ORDER'],
    );
    expect(events.map((e) => e.status)).toEqual(['delivered', 'read', 'sent']);
  });

  it('records a failed status with Meta error code and title', async () => {
    await h.db.query(
      `insert into whatsapp_outbound_messages (phone_number_id, to_number, type, request, graph_payload, wamid, status, status_rank)
       values ('1', '+250788000002', 'text', '{}', '{}', 'wamid.OUT-FAIL', 'sent', 1)`,
    );
    const res = await postWebhook(
      h.url,
      statusEnvelope('wamid.OUT-FAIL', 'failed', {
        errors: [
          {
            code: 131026,
            title: 'Message undeliverable',
            message: 'Message undeliverable',
            error_data: { details: 'Recipient cannot receive' },
          },
        ],
      }),
    );
    expect(res.status).toBe(200);
    const [row] = await h.db.query(
      `select status, error_code, error_title, error_message from whatsapp_outbound_messages where wamid = $1`,
      ['wamid.OUT-FAIL'],
    );
    expect(row).toEqual({
      status: 'failed',
      error_code: 131026,
      error_title: 'Message undeliverable',
      error_message: 'Recipient cannot receive',
    });
  });

  it('keeps unknown fields and value.errors raw, once', async () => {
    const other = envelope({ event: 'APPROVED', message_template_id: 1 }, 'message_template_status_update');
    const errors = envelope({ errors: [{ code: 131000, title: 'Something went wrong' }] });
    for (const body of [other, other, errors, errors])
      expect((await postWebhook(h.url, body)).status).toBe(200);
    const rows = await h.db.query<{ field: string }>(
      'select field from whatsapp_webhook_events order by field',
    );
    expect(rows.map((r) => r.field)).toEqual(['message_template_status_update', 'messages.errors']);
  });

  it('answers 400 problem+json for signed JSON that is not the envelope, storing nothing', async () => {
    const before = await countRows(h.db, 'whatsapp_inbound_messages');
    for (const body of [
      { hello: 'world' },
      {
        object: 'whatsapp_business_account',
        entry: [{ changes: [{ field: 'messages', value: { messages: 'no' } }] }],
      },
      [1, 2, 3],
      'not json at all',
    ]) {
      const res = await postWebhook(h.url, body);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    }
    expect(await countRows(h.db, 'whatsapp_inbound_messages')).toBe(before);
  });

  it('answers 413 for a body over the limit, declared or streamed', async () => {
    const big = JSON.stringify({ object: 'x', entry: [], pad: 'x'.repeat(70 * 1024) });
    const declared = await postWebhook(h.url, big);
    expect(declared.status).toBe(413);
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 80; i += 1) controller.enqueue(new TextEncoder().encode('x'.repeat(1024)));
        controller.close();
      },
    });
    const chunked = await fetch(`${h.url}/webhook`, {
      method: 'POST',
      headers: { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
  });

  it('answers 503 while the database is down, and stores Meta’s retry after recovery', async () => {
    const body = inboundEnvelope({ id: 'wamid.DOWN', type: 'text', text: { body: 'are you there?' } });
    switchable.down = true;
    try {
      const res = await postWebhook(h.url, body);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBeTruthy();
    } finally {
      switchable.down = false;
    }
    expect(
      await h.db.query('select 1 from whatsapp_inbound_messages where wamid = $1', ['wamid.DOWN']),
    ).toEqual([]);
    const retry = await postWebhook(h.url, body);
    expect(retry.status).toBe(200);
    expect(
      await h.db.query('select text_body from whatsapp_inbound_messages where wamid = $1', ['wamid.DOWN']),
    ).toEqual([{ text_body: 'are you there?' }]);
  });
});

describe('whatsapp-webhook with an unreachable database server', () => {
  let h: Harness;
  beforeAll(async () => {
    // Nothing listens on port 1: every connection is refused at once.
    h = await startHarness({
      appDb: () => fromPostgresJs({ url: 'postgres://postgres@127.0.0.1:1/none', max: 1 }),
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('never answers 200 for an event it did not store', async () => {
    const res = await postWebhook(
      h.url,
      inboundEnvelope({ id: 'wamid.NODB', type: 'text', text: { body: 'x' } }),
    );
    expect(res.status).toBe(503);
  });
});
