import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createGraphApiSandbox,
  type GraphApiSandbox,
} from '../../../../sandbox/whatsapp/graph-api-sandbox.ts';
import { jobIdFor } from '../../../../shared/queue/index.ts';
import { listen, type TestServer } from '../../../support/http.ts';
import {
  API_KEY,
  APP_SECRET,
  type Harness,
  inboundEnvelope,
  postWebhook,
  startHarness,
  statusEnvelope,
  waitFor,
} from './harness.ts';

const CONFIRMATION = 'Murakoze. You will get no more messages. Reply START to come back.';

interface Problem {
  status: number;
  title: string;
  detail: string;
  errors?: { field: string; message: string }[];
  window?: { hours: number; lastInboundAt: string | null };
}

/**
 * WhatsApp's conversation rules over HTTP against the Graph API sandbox (which fails free-form
 * messages outside the window with 131047, as Meta does): the 24-hour window, opt-out, per-recipient
 * order, handoff with read receipts, and the richer message types.
 */
describe('conversations', () => {
  let sandbox: GraphApiSandbox;
  let sandboxServer: TestServer;
  let h: Harness;

  beforeAll(async () => {
    sandbox = createGraphApiSandbox({
      webhookUrl: () => `${h.url}/webhook`,
      appSecret: APP_SECRET,
      delaysMs: { sent: 10, delivered: 30, read: 60 },
      serviceWindowHours: 24,
    });
    sandboxServer = await listen(sandbox);
    h = await startHarness({
      workers: true,
      env: {
        GRAPH_API_URL: sandboxServer.url,
        AGENT_URL: `${sandboxServer.url}/sandbox/whatsapp/agent`,
        WHATSAPP_ENFORCE_SERVICE_WINDOW: 'true',
        WHATSAPP_WINDOW_TEMPLATE_NAME: 'reengage',
        WHATSAPP_WINDOW_TEMPLATE_LANGUAGE: 'rw',
        WHATSAPP_OPT_OUT_CONFIRMATION: CONFIRMATION,
        WHATSAPP_OPT_OUT_ALLOWED_TEMPLATES: 'payment_receipt',
        WHATSAPP_AGENT_DEBOUNCE_MS: '800',
        WHATSAPP_AGENT_MAX_WAIT_MS: '5000',
      },
    });
  });
  afterAll(async () => {
    sandbox?.close();
    await h?.close();
    await sandboxServer?.close();
  });

  const send = (body: unknown) =>
    fetch(`${h.url}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const text = (to: string, body: string, extra: Record<string, unknown> = {}) => ({
    to,
    type: 'text',
    text: { body },
    ...extra,
  });
  const template = (to: string, name: string) => ({
    to,
    type: 'template',
    template: { name, language: 'en' },
  });
  const sentTo = (to: string) => sandbox.sent.filter((m) => m.to === to);
  const outboundCount = async (to: string) =>
    (
      await h.db.query<{ n: number }>(
        'select count(*)::int as n from whatsapp_outbound_messages where to_number = $1',
        [to],
      )
    )[0].n;
  const contact = async (waId: string) =>
    (
      await h.db.query<{ last_inbound_at: Date | null; opted_out_at: Date | null; handoff: boolean }>(
        'select last_inbound_at, opted_out_at, handoff from whatsapp_contacts where wa_id = $1',
        [waId],
      )
    )[0];
  /** Opens the window on both sides without waking the agent (a location is not for the agent). */
  const openWindow = (from: string) =>
    sandbox.injectInbound({ from, type: 'location', content: { latitude: -1.95, longitude: 30.06 } });
  const now = () => String(Math.floor(Date.now() / 1000));

  describe('24-hour customer-service window', () => {
    it('refuses a free-form message to a contact who never wrote with a 422 naming the window, storing nothing', async () => {
      const res = await send(text('+250788300001', 'Muraho'));
      expect(res.status).toBe(422);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const problem = (await res.json()) as Problem;
      expect(problem.title).toBe('Outside the customer-service window');
      expect(problem.detail).toMatch(/24-hour customer-service window/);
      expect(problem.window).toMatchObject({ hours: 24, lastInboundAt: null });
      expect(problem.errors?.[0].field).toBe('body.type');
      expect(await outboundCount('+250788300001')).toBe(0);
      // Templates need no window.
      expect((await send(template('+250788300001', 'ride_update'))).status).toBe(201);
    });

    it('refuses once the window has closed, and sends the configured template when the request allows it', async () => {
      const old = inboundEnvelope(
        {
          id: 'wamid.WINDOW-OLD',
          type: 'text',
          text: { body: 'hello' },
          timestamp: String(Math.floor(Date.now() / 1000) - 25 * 3600),
        },
        { name: 'Keza', waId: '250788300002' },
      );
      expect((await postWebhook(h.url, old)).status).toBe(200);
      expect((await contact('250788300002')).last_inbound_at).not.toBeNull();
      const refused = await send(text('+250788300002', 'late answer'));
      expect(refused.status).toBe(422);
      expect(((await refused.json()) as Problem).window?.lastInboundAt).not.toBeNull();

      const res = await send(text('+250788300002', 'late answer', { outsideWindow: 'template' }));
      expect(res.status).toBe(201);
      const { id } = (await res.json()) as { id: string; type: string };
      const [sent] = sentTo('+250788300002');
      expect(sent.payload).toMatchObject({
        type: 'template',
        template: { name: 'reengage', language: { code: 'rw' } },
      });
      const message = (await (
        await fetch(`${h.url}/messages/${id}`, { headers: { authorization: `Bearer ${API_KEY}` } })
      ).json()) as { type: string; history: { detail?: string }[] };
      expect(message.type).toBe('template');
      expect(message.history[0].detail).toMatch(
        /outside the 24-hour customer-service window: sent as template reengage/,
      );
    });

    it('sends free-form inside the window; a contact who has just written gets it', async () => {
      await openWindow('+250788300003');
      const row = await contact('250788300003');
      expect(Date.now() - row.last_inbound_at!.getTime()).toBeLessThan(60_000);
      const res = await send(text('+250788300003', 'Turi munzira'));
      expect(res.status).toBe(201);
      const { id } = (await res.json()) as { id: string };
      const read = await waitFor(
        async () =>
          (
            await h.db.query<{ status: string }>(
              'select status from whatsapp_outbound_messages where id = $1',
              [id],
            )
          )[0],
        (r) => r.status === 'read',
      );
      expect(read.status).toBe('read');
    });

    it('a 131047 failure from Meta sends the window template once, and only when the request allowed it', async () => {
      // The contact wrote to the service (so our window is open) but Meta's window is closed (the
      // sandbox never saw them write): Meta accepts the text, then fails it with 131047.
      for (const [waId, wamid] of [
        ['250788300004', 'wamid.W131047-A'],
        ['250788300005', 'wamid.W131047-B'],
      ]) {
        const body = inboundEnvelope(
          { id: wamid, type: 'location', location: { latitude: 1, longitude: 2 }, timestamp: now() },
          { name: 'Ali', waId },
        );
        expect((await postWebhook(h.url, body)).status).toBe(200);
      }
      const allowed = await send(text('+250788300004', 'Your driver is here', { outsideWindow: 'template' }));
      const plain = await send(text('+250788300005', 'Your driver is here'));
      expect(allowed.status).toBe(201);
      expect(plain.status).toBe(201);
      const { id } = (await allowed.json()) as { id: string };
      const { id: plainId } = (await plain.json()) as { id: string };

      const fallback = await waitFor(
        () => sentTo('+250788300004').filter((m) => m.type === 'template'),
        (list) => list.length >= 1,
      );
      expect(fallback).toHaveLength(1);
      expect(fallback[0].payload).toMatchObject({ template: { name: 'reengage', language: { code: 'rw' } } });
      const rows = await waitFor(
        () =>
          h.db.query<{ id: string; status: string; error_code: number | null }>(
            'select id, status, error_code from whatsapp_outbound_messages where id = any($1::uuid[])',
            [[id, plainId]],
          ),
        (list) => list.every((r) => r.status === 'failed'),
      );
      expect(rows.every((r) => r.status === 'failed' && r.error_code === 131047)).toBe(true);

      // Meta redelivers the failure, and a second instance may see it too: still one fallback.
      const original = sentTo('+250788300004').find((m) => m.type === 'text')!;
      const failed = statusEnvelope(original.wamid, 'failed', {
        recipient_id: '250788300004',
        errors: [{ code: 131047, title: 'Re-engagement message' }],
      });
      const again = await Promise.all([postWebhook(h.url, failed), postWebhook(h.url, failed)]);
      expect(again.map((r) => r.status)).toEqual([200, 200]);
      const fallbacks = await h.db.query<{ n: number }>(
        'select count(*)::int as n from whatsapp_outbound_messages where fallback_for = $1',
        [id],
      );
      expect(fallbacks[0].n).toBe(1);
      await sandbox.idle();
      expect(sentTo('+250788300004').filter((m) => m.type === 'template')).toHaveLength(1);
      // The request that did not allow a template gets none.
      expect(sentTo('+250788300005').filter((m) => m.type === 'template')).toHaveLength(0);
    });
  });

  describe('opt-out', () => {
    it('a local STOP opts the contact out with one confirmation; outbound is refused with 409 except allowed templates; START opts back in', async () => {
      const stop = await sandbox.injectInbound({ from: '+250788400001', text: '  Hagarika! ' });
      const row = await waitFor(
        () => contact('250788400001'),
        (c) => c?.opted_out_at != null,
      );
      expect(row.opted_out_at).not.toBeNull();
      const confirmations = () =>
        sentTo('+250788400001').filter((m) => (m.payload.text as { body?: string })?.body === CONFIRMATION);
      await waitFor(confirmations, (list) => list.length >= 1);
      // Not handed to the agent: the service answers STOP itself.
      const [state] = await h.db.query<{ agent_state: string }>(
        'select agent_state from whatsapp_inbound_messages where wamid = $1',
        [stop.wamid],
      );
      expect(state.agent_state).toBe('none');

      // A redelivered STOP and another STOP while opted out: no second confirmation.
      await sandbox.injectInbound({ from: '+250788400001', text: 'Hagarika', id: stop.wamid });
      await sandbox.injectInbound({ from: '+250788400001', text: 'STOP' });

      const refused = await send(text('+250788400001', 'Promo!'));
      expect(refused.status).toBe(409);
      const problem = (await refused.json()) as Problem;
      expect(problem.title).toBe('Recipient opted out');
      expect(problem.errors?.[0].field).toBe('body.to');
      expect((await send(template('+250788400001', 'weekly_promo'))).status).toBe(409);
      expect((await send(template('+250788400001', 'payment_receipt'))).status).toBe(201);

      const state409 = await fetch(`${h.url}/contacts/250788400001/conversation`, {
        headers: { authorization: `Bearer ${API_KEY}` },
      });
      expect(await state409.json()).toMatchObject({ optedOut: true, handoff: false, window: { open: true } });

      await sandbox.injectInbound({ from: '+250788400001', text: 'start' });
      await waitFor(
        () => contact('250788400001'),
        (c) => c.opted_out_at === null,
      );
      expect((await send(text('+250788400001', 'Welcome back'))).status).toBe(201);
      await sandbox.idle();
      expect(confirmations()).toHaveLength(1);
    });

    it('a message still waiting for a retry when the contact says STOP is not sent', async () => {
      const to = '+250788420001';
      await openWindow(to);
      sandbox.setFault({ mode: 'server-error', to }); // until cleared: the message stays queued
      const res = await send(text(to, 'Your ride is late'));
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as { id: string };
      await sandbox.injectInbound({ from: to, text: 'STOP' });
      await waitFor(
        () => contact('250788420001'),
        (c) => c.opted_out_at !== null,
      );
      sandbox.setFault({ mode: 'none' });
      const row = await waitFor(
        async () =>
          (
            await h.db.query<{ status: string; error_title: string | null }>(
              'select status, error_title from whatsapp_outbound_messages where id = $1',
              [id],
            )
          )[0],
        (r) => r.status !== 'queued',
        20_000,
      );
      expect(row).toEqual({ status: 'failed', error_title: 'opted_out' });
      // Only the confirmation reached them (it waited behind the refused message, in order).
      const bodies = () => sentTo(to).map((m) => (m.payload.text as { body: string }).body);
      expect(await waitFor(bodies, (list) => list.length >= 1, 20_000)).toEqual([CONFIRMATION]);
    });

    it('takes every opt-out of a group of concurrent deliveries in the one flush, a sentence with the word is no keyword', async () => {
      const senders = Array.from({ length: 8 }, (_, i) => `+2507884100${String(i).padStart(2, '0')}`);
      await Promise.all([
        ...senders.map((from) => sandbox.injectInbound({ from, text: 'acha' })),
        sandbox.injectInbound({ from: '+250788410099', text: 'please stop by tomorrow' }),
      ]);
      const rows = await h.db.query<{ wa_id: string; opted_out: boolean }>(
        `select wa_id, opted_out_at is not null as opted_out from whatsapp_contacts where wa_id like '2507884100%' or wa_id = '250788410099'`,
      );
      expect(
        rows
          .filter((r) => r.opted_out)
          .map((r) => r.wa_id)
          .sort(),
      ).toEqual(senders.map((s) => s.slice(1)).sort());
      const confirmations = await h.db.query<{ n: number }>(
        `select count(*)::int as n from whatsapp_outbound_messages where idempotency_key like 'opt-out-confirmation:%' and to_number like '+2507884100%'`,
      );
      expect(confirmations[0].n).toBe(8);
    });
  });

  describe('per-recipient order', () => {
    it('messages to one contact leave in the order accepted, even when the first needs a retry', async () => {
      const to = '+250788500001';
      sandbox.setFault({ mode: 'server-error', count: 1, to });
      const names = ['first', 'second', 'third', 'fourth'];
      const answers: number[] = [];
      for (const name of names) answers.push((await send(template(to, name))).status);
      expect(answers[0]).toBe(202); // Meta failed it: queued for a retry
      // The others were accepted behind it; none may overtake it.
      const sent = await waitFor(
        () => sentTo(to),
        (list) => list.length >= names.length,
        20_000,
      );
      expect(sent.map((m) => (m.payload.template as { name: string }).name)).toEqual(names);
    });
  });

  describe('handoff, read receipts and typing', () => {
    it('a human takes the conversation (the agent stays silent) and gives it back (the agent marks read, types, answers)', async () => {
      const waId = '250788600001';
      const auth = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };
      const patch = (handoff: unknown) =>
        fetch(`${h.url}/contacts/${waId}/conversation`, {
          method: 'PATCH',
          headers: auth,
          body: JSON.stringify({ handoff }),
        });
      const bad = await patch('yes');
      expect(bad.status).toBe(400);
      expect(JSON.stringify(await bad.json())).toContain('body.handoff');
      expect(await (await patch(true)).json()).toMatchObject({ waId, handoff: true });

      const held = await sandbox.injectInbound({ from: `+${waId}`, text: 'I want a person' });
      const state = (wamid: string) =>
        h.db
          .query<{ agent_state: string }>(
            'select agent_state from whatsapp_inbound_messages where wamid = $1',
            [wamid],
          )
          .then((r) => r[0]?.agent_state);
      expect(
        await waitFor(
          () => state(held.wamid),
          (s) => s === 'handoff',
        ),
      ).toBe('handoff');
      expect(sentTo(`+${waId}`)).toHaveLength(0);
      expect(sandbox.receipts.filter((r) => r.messageId === held.wamid)).toHaveLength(0);

      expect(await (await patch(false)).json()).toMatchObject({ handoff: false });
      const back = await sandbox.injectInbound({ from: `+${waId}`, text: 'thanks' });
      const replies = await waitFor(
        () => sentTo(`+${waId}`),
        (list) => list.length >= 1,
      );
      expect(replies[0].payload).toMatchObject({ type: 'text', text: { body: 'Echo: thanks' } });
      expect(sandbox.receipts.filter((r) => r.messageId === back.wamid)).toEqual([
        expect.objectContaining({ typing: true }),
      ]);
    });
  });

  describe('agent reply debounce', () => {
    it("answers a contact's burst of messages with one agent call and one reply", async () => {
      const from = '+250788650001';
      const wamids: string[] = [];
      for (const text of ['Ndashaka', 'moto', 'to Nyabugogo']) {
        wamids.push((await sandbox.injectInbound({ from, text })).wamid);
      }
      const states = () =>
        h.db
          .query<{ agent_state: string }>(
            'select agent_state from whatsapp_inbound_messages where wamid = any($1::text[])',
            [wamids],
          )
          .then((rows) => rows.map((r) => r.agent_state));
      expect(await waitFor(states, (s) => s.length === 3 && s.every((x) => x === 'done'))).toEqual([
        'done',
        'done',
        'done',
      ]);
      // Every message's job has finished (the older ones stepped aside), and one reply went out.
      const jobStates = () =>
        Promise.all(
          wamids.map((w) =>
            h.queue.boss.getJobById('whatsapp-agent', jobIdFor('whatsapp-agent', w)).then((j) => j?.state),
          ),
        );
      await waitFor(jobStates, (list) => list.every((state) => state === 'completed'));
      const replies = await waitFor(
        () => sentTo(from),
        (list) => list.length >= 1,
      );
      expect(replies).toHaveLength(1);
      expect(replies[0].payload).toMatchObject({ text: { body: 'Echo: Ndashaka\nmoto\nto Nyabugogo' } });
      // Read up to the latest message, which marks the earlier ones read too.
      expect(sandbox.receipts.filter((r) => wamids.includes(r.messageId)).map((r) => r.messageId)).toEqual([
        wamids[2],
      ]);
    });
  });

  describe('richer sends, checked as the Graph API checks them', () => {
    const to = '+250788700001';
    beforeAll(async () => {
      await openWindow(to);
    });

    it('sends media by link or id, location, reply buttons, lists and templates with components', async () => {
      const bodies = [
        { to, type: 'image', image: { link: 'https://example.com/moto.jpg', caption: 'Your moto' } },
        { to, type: 'document', document: { id: '1234567890', filename: 'receipt.pdf' } },
        { to, type: 'audio', audio: { id: '1234567891' } },
        {
          to,
          type: 'location',
          location: { latitude: -1.9441, longitude: 30.0619, name: 'Kigali Convention Centre' },
        },
        {
          to,
          type: 'interactive',
          interactive: {
            type: 'button',
            body: 'Confirm the ride?',
            buttons: [
              { id: 'yes', title: 'Yego' },
              { id: 'no', title: 'Oya' },
            ],
          },
        },
        {
          to,
          type: 'interactive',
          interactive: {
            type: 'list',
            body: 'Choose a ride',
            button: 'Rides',
            sections: [{ title: 'Moto', rows: [{ id: 'moto', title: 'Moto', description: 'Fast' }] }],
          },
        },
        {
          to,
          type: 'template',
          template: {
            name: 'ride_receipt',
            language: 'fr',
            components: [
              { type: 'body', parameters: [{ type: 'text', text: '2 500 RWF' }] },
              {
                type: 'button',
                sub_type: 'quick_reply',
                index: '0',
                parameters: [{ type: 'payload', payload: 'RATE' }],
              },
            ],
          },
        },
      ];
      for (const body of bodies) {
        const res = await send(body);
        expect(res.status, JSON.stringify(body)).toBe(201);
      }
      const types = sentTo(to).map((m) => m.type);
      expect(types).toEqual([
        'image',
        'document',
        'audio',
        'location',
        'interactive',
        'interactive',
        'template',
      ]);
      expect(sentTo(to)[0].payload.image).toEqual({
        link: 'https://example.com/moto.jpg',
        caption: 'Your moto',
      });
    });

    it('answers 400 naming the field for what the Graph API would refuse, sending nothing', async () => {
      const cases: [unknown, string][] = [
        [{ to, type: 'image', image: { id: '1', link: 'https://example.com/a.jpg' } }, 'body.image.id'],
        [{ to, type: 'image', image: {} }, 'body.image.id'],
        [{ to, type: 'audio', audio: { id: '1', caption: 'no captions on audio' } }, 'body.audio'],
        [{ to, type: 'location', location: { latitude: 91, longitude: 0 } }, 'body.location.latitude'],
        [
          {
            to,
            type: 'template',
            template: { name: 't', language: 'en', components: [{ type: 'button', parameters: [] }] },
          },
          'body.template.components.0.sub_type',
        ],
      ];
      const before = sentTo(to).length;
      for (const [body, field] of cases) {
        const res = await send(body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        const problem = (await res.json()) as Problem;
        expect(problem.errors?.map((e) => e.field).join(' ')).toContain(field);
      }
      expect(sentTo(to).length).toBe(before);
    });
  });
});
