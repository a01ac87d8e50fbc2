import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertOutbound, recordSent } from '../../../../services/whatsapp-webhook/store.ts';
import { fromPostgresJs } from '../../../../shared/db/index.ts';
import {
  countRows,
  type Harness,
  inboundEnvelope,
  PHONE_NUMBER_ID,
  postWebhook,
  startHarness,
  statusEnvelope,
  waitFor,
} from './harness.ts';

function deferred() {
  let open: () => void = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

const text = (wamid: string, waId: string, body = 'hi') =>
  inboundEnvelope({ id: wamid, type: 'text', text: { body } }, { name: 'Ana', waId });

describe('whatsapp-webhook intake: group commit', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { GROUP_COMMIT_MAX_QUEUED: '3' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const metric = async (name: string) => (await h.metrics.registry.getSingleMetricAsString(name)) ?? '';
  const sampleValue = (text: string, series: string) =>
    Number(new RegExp(`^${series}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);

  it('answers each of many concurrent deliveries after its rows commit, in fewer transactions', async () => {
    const before = sampleValue(await metric('group_commit_batch_size'), 'group_commit_batch_size_count');
    const responses = await Promise.all(
      Array.from({ length: 3 }, (_, i) => postWebhook(h.url, text(`wamid.GC-${i}`, `25078800${i}`))),
    );
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    const bodies = await Promise.all(responses.map((r) => r.json() as Promise<{ messages: number }>));
    expect(bodies.map((b) => b.messages)).toEqual([1, 1, 1]);
    const [row] = await h.db.query<{ n: number }>(
      "select count(*)::int as n from whatsapp_inbound_messages where wamid like 'wamid.GC-%'",
    );
    expect(row.n).toBe(3);
    const after = await metric('group_commit_batch_size');
    expect(sampleValue(after, 'group_commit_batch_size_count') - before).toBeGreaterThan(0);
    expect(after).toMatch(/writer="whatsapp-webhooks"/);
  });

  it('one sender updating its name in the same group stores every message and the last name', async () => {
    const responses = await Promise.all(
      ['Ana', 'Ana B', 'Ana C'].map((name, i) =>
        postWebhook(
          h.url,
          inboundEnvelope(
            { id: `wamid.HOT-${i}`, type: 'text', text: { body: 'x' } },
            { name, waId: '250788777777' },
          ),
        ),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    const [contact] = await h.db.query<{ n: number }>(
      "select count(*)::int as n from whatsapp_contacts where wa_id = '250788777777'",
    );
    expect(contact.n).toBe(1);
    const [messages] = await h.db.query<{ n: number }>(
      "select count(*)::int as n from whatsapp_inbound_messages where from_wa_id = '250788777777'",
    );
    expect(messages.n).toBe(3);
  });

  it('refuses deliveries beyond the queue bound with 503 + Retry-After, and stores the accepted ones', async () => {
    const gate = deferred();
    const locked = deferred();
    // Writes to the messages table wait while this transaction holds its lock (on PGlite: any transaction).
    const holder = h.db.transaction(async (tx) => {
      await tx.query('lock table whatsapp_inbound_messages in share mode');
      locked.open();
      await gate.promise;
    });
    await locked.promise;
    const answers: Response[] = [];
    const inFlight = Array.from({ length: 10 }, (_, i) =>
      postWebhook(h.url, text(`wamid.FULL-${i}`, `25078900${i}`)).then((res) => {
        answers.push(res);
        return res;
      }),
    );
    // Three are accepted and wait for the lock; the other seven are refused at once.
    await waitFor(
      () => answers.length,
      (n) => n >= 7,
    );
    expect(answers.map((r) => r.status)).toEqual(Array(7).fill(503));
    for (const res of answers) {
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    }
    gate.open();
    await holder;
    const all = await Promise.all(inFlight);
    expect(all.filter((r) => r.status === 200)).toHaveLength(3);
    const [row] = await h.db.query<{ n: number }>(
      "select count(*)::int as n from whatsapp_inbound_messages where wamid like 'wamid.FULL-%'",
    );
    expect(row.n).toBe(3);
    expect(await metric('group_commit_rejections_total')).toMatch(/writer="whatsapp-webhooks"[^\n]* 7/);
  });

  // PostgreSQL only: on PGlite one connection already orders the two transactions.
  it.runIf(process.env.DATABASE_URL)(
    'applies a status that arrives while its send is being recorded (neither sees the other uncommitted)',
    async () => {
      const { row } = await insertOutbound(h.db, {
        idempotencyKey: null,
        requestHash: null,
        phoneNumberId: PHONE_NUMBER_ID,
        to: '+250788000009',
        type: 'text',
        request: {},
        graphPayload: {},
        replyToInboundId: null,
      });
      const gate = deferred();
      const recorded = deferred();
      const sending = h.db.transaction(async (tx) => {
        await recordSent(tx, row.id, 'wamid.RACE-SENT');
        recorded.open();
        await gate.promise;
      });
      await recorded.promise;
      const status = postWebhook(h.url, statusEnvelope('wamid.RACE-SENT', 'read'));
      // The status's transaction now waits for the send's lock on this wamid.
      const observer = fromPostgresJs({ url: process.env.DATABASE_URL!, max: 1 });
      try {
        const waiting = await waitFor(
          async () => {
            const [lock] = await observer.query<{ n: number }>(
              "select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted",
            );
            return lock.n;
          },
          (n) => n > 0,
        );
        expect(waiting).toBeGreaterThan(0);
      } finally {
        await observer.close();
      }
      gate.open();
      await sending;
      expect((await status).status).toBe(200);
      const [message] = await h.db.query<{ status: string }>(
        'select status from whatsapp_outbound_messages where id = $1',
        [row.id],
      );
      expect(message.status).toBe('read');
      const history = await h.db.query<{ status: string }>(
        'select status from whatsapp_outbound_status_history where message_id = $1 order by id',
        [row.id],
      );
      expect(history.map((r) => r.status)).toEqual(['queued', 'sent']);
    },
  );

  it('applies a status stored before its send is recorded, when the send is recorded', async () => {
    expect((await postWebhook(h.url, statusEnvelope('wamid.EARLY', 'delivered'))).status).toBe(200);
    const { row } = await insertOutbound(h.db, {
      idempotencyKey: null,
      requestHash: null,
      phoneNumberId: PHONE_NUMBER_ID,
      to: '+250788000010',
      type: 'text',
      request: {},
      graphPayload: {},
      replyToInboundId: null,
    });
    await h.db.transaction((tx) => recordSent(tx, row.id, 'wamid.EARLY'));
    const [message] = await h.db.query<{ status: string }>(
      'select status from whatsapp_outbound_messages where id = $1',
      [row.id],
    );
    expect(message.status).toBe('delivered');
    expect(await countRows(h.db, 'whatsapp_status_events')).toBeGreaterThan(0);
  });

  it("claims a 131047 failure's template fallback once when the failure came before the send was recorded", async () => {
    const failed = statusEnvelope('wamid.EARLY-131047', 'failed', {
      recipient_id: '250788000011',
      errors: [{ code: 131047, title: 'Re-engagement message' }],
    });
    expect((await postWebhook(h.url, failed)).status).toBe(200);
    const { row } = await insertOutbound(h.db, {
      idempotencyKey: null,
      requestHash: null,
      phoneNumberId: PHONE_NUMBER_ID,
      to: '+250788000011',
      type: 'text',
      request: {},
      graphPayload: {},
      replyToInboundId: null,
      windowFallback: true,
    });
    const template = { name: 'reengage', language: 'rw' };
    const fallbacks = await h.db.transaction((tx) => recordSent(tx, row.id, 'wamid.EARLY-131047', template));
    expect(fallbacks).toHaveLength(1);
    // The failure redelivered, and the answer recorded again: still the one fallback.
    expect((await postWebhook(h.url, failed)).status).toBe(200);
    expect(await h.db.transaction((tx) => recordSent(tx, row.id, 'wamid.EARLY-131047', template))).toEqual(
      [],
    );
    const rows = await h.db.query<{
      id: string;
      type: string;
      graph_payload: { template: { name: string } };
    }>('select id, type, graph_payload from whatsapp_outbound_messages where fallback_for = $1', [row.id]);
    expect(rows.map((r) => [r.id, r.type, r.graph_payload.template.name])).toEqual([
      [fallbacks[0], 'template', 'reengage'],
    ]);
    const [message] = await h.db.query<{ status: string }>(
      'select status from whatsapp_outbound_messages where id = $1',
      [row.id],
    );
    expect(message.status).toBe('failed');
  });
});
