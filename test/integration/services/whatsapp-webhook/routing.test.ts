import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createGraphApiSandbox,
  type GraphApiSandbox,
} from '../../../../sandbox/whatsapp/graph-api-sandbox.ts';
import { listen, type TestServer } from '../../../support/http.ts';
import { type HandlerStandIn, newSigningSecret, startHandlerStandIn } from './handler-stand-in.ts';
import { API_KEY, APP_SECRET, type Harness, startHarness, waitFor } from './harness.ts';

interface Delivery {
  id: string;
  inboundId: string;
  wamid: string;
  route: string;
  match: { kind: string; value: string | null };
  status: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
}
interface DeadLetter {
  id: string;
  deliveryId: string;
  route: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  replayedAt: string | null;
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
interface Problem {
  status: number;
  errors?: { field: string; message: string }[];
}

const SECRETS = {
  booking: newSigningSecret(),
  support: newSigningSecret(),
  pay: newSigningSecret(),
};

/**
 * Routing over HTTP: inbound messages injected through the Graph API sandbox (signed as Meta signs them)
 * reach a handler on a loopback port by reply id, keyword or sticky conversation, signed per Standard
 * Webhooks; failures retry, end in dead letters and replay once; stored deliveries replay idempotently.
 */
describe('routing to downstream handlers', () => {
  let sandbox: GraphApiSandbox;
  let sandboxServer: TestServer;
  let handlers: HandlerStandIn;
  let h: Harness;

  beforeAll(async () => {
    handlers = await startHandlerStandIn(SECRETS);
    sandbox = createGraphApiSandbox({
      webhookUrl: () => `${h.url}/webhook`,
      appSecret: APP_SECRET,
      statusCallbacks: false,
    });
    sandboxServer = await listen(sandbox);
    h = await startHarness({
      workers: true,
      env: {
        GRAPH_API_URL: sandboxServer.url,
        AGENT_URL: `${sandboxServer.url}/sandbox/whatsapp/agent`,
        WHATSAPP_ROUTES: JSON.stringify([
          {
            name: 'booking',
            url: handlers.routeUrl('booking'),
            secret: SECRETS.booking,
            replyIdPrefixes: ['ride:'],
            keywords: ['book', 'tegeka', 'réserver'],
            sticky: true,
            stickyTtlSeconds: 600,
          },
          {
            name: 'support',
            url: `${handlers.routeUrl('support')}?token=not-shown`,
            secret: SECRETS.support,
            replyIds: ['talk_to_support'],
            keywords: ['help', 'ubufasha'],
          },
          { name: 'pay', url: handlers.routeUrl('pay'), secret: SECRETS.pay, keywords: ['pay', 'kwishyura'] },
        ]),
        WHATSAPP_ROUTE_RETRY_LIMIT: '2',
        WHATSAPP_ROUTE_RETRY_DELAY_SECONDS: '1',
        WHATSAPP_ROUTE_RETRY_DELAY_MAX_SECONDS: '1',
      },
    });
  });
  afterAll(async () => {
    sandbox?.close();
    await h?.close();
    await sandboxServer?.close();
    await handlers?.close();
  });

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${h.url}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${API_KEY}`,
        'content-type': 'application/json',
        ...(init.headers ?? {}),
      },
    });
  const post = (path: string, body?: unknown) =>
    api(path, { method: 'POST', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const json = async <T>(response: Response | Promise<Response>) => (await (await response).json()) as T;

  const say = async (from: string, text: string) => (await sandbox.injectInbound({ from, text })).wamid;
  const choose = async (from: string, id: string, title: string, kind = 'button_reply') =>
    (
      await sandbox.injectInbound({
        from,
        type: 'interactive',
        content: { type: kind, [kind]: { id, title } },
      })
    ).wamid;
  const deliveryOf = async (wamid: string) =>
    (await json<Page<Delivery>>(api('/handler-deliveries?limit=100'))).items.find((d) => d.wamid === wamid);
  const settled = (wamid: string, status = 'delivered') =>
    waitFor(
      () => deliveryOf(wamid),
      (d) => d?.status === status,
      20_000,
    );
  const agentReplies = (to: string) => sandbox.sent.filter((m) => m.to === to);

  it('routes a button or list reply by its id, exact or by prefix, signed so the handler verifies it', async () => {
    const from = '+250788100001';
    const support = await choose(from, 'talk_to_support', 'Talk to us');
    const ride = await choose(from, 'ride:moto:kimironko', 'Moto', 'list_reply');
    const toSupport = await waitFor(
      () => handlers.callsFor(support),
      (calls) => calls.length > 0,
    );
    expect(toSupport).toHaveLength(1);
    expect(toSupport[0]).toMatchObject({ route: 'support', verified: true, answered: 200 });
    expect(toSupport[0].event).toMatchObject({
      type: 'whatsapp.message.received',
      data: {
        route: 'support',
        match: { kind: 'reply_id', value: 'talk_to_support' },
        message: { wamid: support, waId: '250788100001', type: 'interactive', replyId: 'talk_to_support' },
      },
    });
    // webhook-id is the delivery's id, the one the API lists.
    expect(toSupport[0].id).toBe(toSupport[0].event.data.deliveryId);
    expect((await settled(support))?.id).toBe(toSupport[0].id);

    const toBooking = await waitFor(
      () => handlers.callsFor(ride),
      (calls) => calls.length > 0,
    );
    expect(toBooking[0]).toMatchObject({ route: 'booking', verified: true });
    expect(toBooking[0].event.data.match).toEqual({ kind: 'reply_id', value: 'ride:moto:kimironko' });
    // Routed messages are the handler's: the agent never answered them.
    expect(agentReplies(from)).toHaveLength(0);
  });

  it('routes by the first word in any case and language; the rest goes to the agent as before', async () => {
    const from = '+250788100002';
    const help = await say(from, 'UBUFASHA: my moto did not come');
    const unmatched = await say('+250788100003', 'hello there');
    expect((await settled(help))?.match).toEqual({ kind: 'keyword', value: 'ubufasha' });
    expect(handlers.callsFor(help)[0]).toMatchObject({ route: 'support', verified: true });
    const reply = await waitFor(
      () => agentReplies('+250788100003'),
      (list) => list.length > 0,
    );
    expect(reply[0].payload).toMatchObject({ text: { body: 'Echo: hello there' } });
    expect(await deliveryOf(unmatched)).toBeUndefined();
  });

  it('a sticky route keeps the conversation (any message type) until its handler lets go', async () => {
    const from = '+250788100004';
    // Booking claims the conversation in the commit that stores "Réserver": the next messages follow it.
    handlers.setFallback('booking', (event) =>
      event.data.message.type === 'location' ? { status: 200, body: { sticky: false } } : { status: 200 },
    );
    const book = await say(from, 'reserver une moto');
    const where = await say(from, 'Kimironko');
    const location = (
      await sandbox.injectInbound({
        from,
        type: 'location',
        content: { latitude: -1.95, longitude: 30.1, name: 'Kimironko' },
      })
    ).wamid;
    expect((await settled(book))?.match).toEqual({ kind: 'keyword', value: 'reserver' });
    expect((await settled(where))?.match).toEqual({ kind: 'sticky', value: null });
    expect((await settled(location))?.route).toBe('booking');
    expect(handlers.callsFor(location)[0].event.data.message.type).toBe('location');

    // The handler answered the location with { sticky: false }: the contact is the agent's again.
    const thanks = await say(from, 'thanks');
    const reply = await waitFor(
      () => agentReplies(from),
      (list) => list.length > 0,
    );
    expect(reply[0].payload).toMatchObject({ text: { body: 'Echo: thanks' } });
    expect(await deliveryOf(thanks)).toBeUndefined();
    handlers.setFallback('booking', null);
  });

  it('a handler may claim a conversation for a while; it goes back to the agent when that passes', async () => {
    const from = '+250788100005';
    handlers.setFallback('support', (event) =>
      event.data.match.kind === 'keyword'
        ? { status: 200, body: { sticky: true, ttlSeconds: 3 } }
        : { status: 200 },
    );
    const help = await say(from, 'help');
    await settled(help);
    const followUp = await say(from, 'my order is late');
    expect((await settled(followUp))?.match).toEqual({ kind: 'sticky', value: null });
    expect(handlers.callsFor(followUp)[0].route).toBe('support');

    // The claim ran for three seconds from the answer; once it has passed, the agent answers.
    await waitFor(
      () =>
        h.db.query<{ expired: boolean }>(
          `select expires_at <= now() as expired from whatsapp_route_sessions where wa_id = '250788100005'`,
        ),
      (rows) => rows[0]?.expired === true,
    );
    const later = await say(from, 'still there?');
    const reply = await waitFor(
      () => agentReplies(from),
      (list) => list.length > 0,
    );
    expect(reply[0].payload).toMatchObject({ text: { body: 'Echo: still there?' } });
    expect(await deliveryOf(later)).toBeUndefined();
    handlers.setFallback('support', null);
  });

  it('a failing handler is retried with backoff, then dead-lettered; a replay delivers it once', async () => {
    handlers.setFallback('pay', { status: 503, body: { error: 'down' } });
    const wamid = await say('+250788100006', 'pay 5000');
    const dead = await settled(wamid, 'dead');
    // Every attempt carried the same webhook-id, signed afresh.
    const attempts = handlers.callsFor(wamid);
    expect(attempts.map((c) => [c.id, c.verified, c.answered])).toEqual([
      [dead?.id, true, 503],
      [dead?.id, true, 503],
      [dead?.id, true, 503],
    ]);
    expect(dead).toMatchObject({ attempts: 3, lastStatus: 503, lastError: 'handler answered 503' });

    const letters = await json<Page<DeadLetter>>(api('/dead-letters?state=open&route=pay'));
    const letter = letters.items.find((l) => l.deliveryId === dead?.id);
    expect(letter).toMatchObject({ route: 'pay', attempts: 3, lastStatus: 503, replayedAt: null });

    handlers.setFallback('pay', null);
    const replayed = await post(`/dead-letters/${letter?.id}/replay`);
    expect(replayed.status).toBe(202);
    expect(((await replayed.json()) as DeadLetter).replayedAt).not.toBeNull();
    expect(await settled(wamid)).toMatchObject({ status: 'delivered', attempts: 4, lastStatus: 200 });

    // Replaying again, by letter, by delivery or by window, sends nothing twice.
    expect((await post(`/dead-letters/${letter?.id}/replay`)).status).toBe(200);
    expect((await post(`/handler-deliveries/${dead?.id}/replay`)).status).toBe(200);
    const window = await json<{ replayed: number }>(
      post('/handler-deliveries/replay', {
        since: new Date(Date.now() - 60_000).toISOString(),
        route: 'pay',
      }),
    );
    expect(window.replayed).toBe(0);
    // A later message through the same queue is delivered; by then a second send would have shown.
    const next = await say('+250788100006', 'kwishyura 100');
    await settled(next);
    expect(handlers.callsFor(wamid).map((c) => c.answered)).toEqual([503, 503, 503, 200]);
    expect((await json<Page<DeadLetter>>(api('/dead-letters?state=open&route=pay'))).items).toEqual([]);
  });

  it('a 410 from the handler dead-letters at once; dead deliveries of a window replay once each', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    handlers.setFallback('pay', { status: 410 });
    const first = await say('+250788100007', 'pay 1');
    const second = await say('+250788100008', 'pay 2');
    expect(await settled(first, 'dead')).toMatchObject({ attempts: 1, lastStatus: 410 });
    await settled(second, 'dead');

    handlers.setFallback('pay', null);
    const page = await post('/handler-deliveries/replay', { since, route: 'pay', limit: 1 });
    expect(page.status).toBe(200);
    const firstPage = (await page.json()) as { replayed: number; nextCursor: string | null };
    expect(firstPage.replayed).toBe(1);
    expect(firstPage.nextCursor).not.toBeNull();
    const rest = await json<{ replayed: number; nextCursor: string | null }>(
      post('/handler-deliveries/replay', { since, route: 'pay', cursor: firstPage.nextCursor }),
    );
    expect(rest).toEqual({ replayed: 1, nextCursor: null });
    const again = await json<{ replayed: number }>(
      post('/handler-deliveries/replay', { since, route: 'pay' }),
    );
    expect(again.replayed).toBe(0);
    await settled(first);
    await settled(second);
    for (const wamid of [first, second]) {
      expect(handlers.callsFor(wamid).map((c) => c.answered)).toEqual([410, 200]);
    }
  });

  it('replays a stored webhook delivery by id and by window: what is missing comes back, once', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const from = '+250788100009';
    const wamid = (
      await sandbox.injectInbound({ from, type: 'reaction', content: { message_id: 'wamid.x', emoji: '👍' } })
    ).wamid;
    const [stored] = await h.db.query<{ id: string }>(
      `select id from whatsapp_webhook_deliveries where body like '%' || $1 || '%'`,
      [wamid],
    );
    const listed = await json<Page<{ id: string; bytes: number }>>(api(`/deliveries?since=${since}`));
    expect(listed.items.map((d) => d.id)).toContain(stored.id);
    const count = async () =>
      (
        await h.db.query<{ n: number }>(
          'select count(*)::int as n from whatsapp_inbound_messages where wamid = $1',
          [wamid],
        )
      )[0].n;

    // Already applied: a replay changes nothing.
    expect(await json(post(`/deliveries/${stored.id}/replay`))).toEqual({
      id: stored.id,
      messages: 0,
      duplicates: 1,
      statuses: 0,
      events: 0,
    });
    // Lost since (e.g. a restore from an older backup): the replay stores it again, once.
    await h.db.query('delete from whatsapp_inbound_messages where wamid = $1', [wamid]);
    expect(await json(post(`/deliveries/${stored.id}/replay`))).toMatchObject({ messages: 1, duplicates: 0 });
    expect(await json(post(`/deliveries/${stored.id}/replay`))).toMatchObject({ messages: 0, duplicates: 1 });
    expect(await count()).toBe(1);

    // By window, a page at a time, twice: stored once.
    await h.db.query('delete from whatsapp_inbound_messages where wamid = $1', [wamid]);
    const replayAll = async () => {
      const totals = { replayed: 0, messages: 0 };
      let cursor: string | null = null;
      do {
        const page: { replayed: number; messages: number; nextCursor: string | null } = await json(
          post('/deliveries/replay', { since, limit: 2, ...(cursor ? { cursor } : {}) }),
        );
        totals.replayed += page.replayed;
        totals.messages += page.messages;
        cursor = page.nextCursor;
      } while (cursor);
      return totals;
    };
    const first = await replayAll();
    expect(first.replayed).toBeGreaterThanOrEqual(1);
    expect(first.messages).toBe(1);
    const second = await replayAll();
    expect(second).toEqual({ replayed: first.replayed, messages: 0 });
    expect(await count()).toBe(1);
    const [deliveries] = await h.db.query<{ n: number }>(
      `select count(*)::int as n from whatsapp_webhook_deliveries where body like '%' || $1 || '%'`,
      [wamid],
    );
    expect(deliveries.n).toBe(1);
  });

  it('keeps a delivery Meta retried (same bytes) once', async () => {
    const { wamid, deliveries } = await sandbox.injectInbound({
      from: '+250788100010',
      text: 'hi',
      repeat: 3,
    });
    expect(deliveries).toEqual([200, 200, 200]);
    const [row] = await h.db.query<{ n: number }>(
      `select count(*)::int as n from whatsapp_webhook_deliveries where body like '%' || $1 || '%'`,
      [wamid],
    );
    expect(row.n).toBe(1);
  });

  it('lists the routes without their secrets or URL queries', async () => {
    const response = await api('/routes');
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).not.toContain('whsec_');
    expect(text).not.toContain('not-shown');
    const { items } = JSON.parse(text) as { items: { name: string; keywords: string[] }[] };
    expect(items.map((r) => r.name)).toEqual(['booking', 'support', 'pay']);
    expect(items[0].keywords).toEqual(['book', 'tegeka', 'reserver']);
  });

  it('answers bad input with problem+json naming the field, and touches nothing', async () => {
    const problem = async (response: Promise<Response>, status: number) => {
      const r = await response;
      expect(r.status).toBe(status);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
      return ((await r.json()) as Problem).errors?.map((e) => e.field) ?? [];
    };
    expect(await problem(post('/deliveries/replay', { since: 'yesterday' }), 400)).toEqual(['body.since']);
    expect(
      await problem(
        post('/deliveries/replay', { since: '2026-12-02T00:00:00Z', until: '2026-12-01T00:00:00Z' }),
        400,
      ),
    ).toEqual(['body.until']);
    expect(
      await problem(post('/deliveries/replay', { since: '2026-12-01T00:00:00Z', limit: 101 }), 400),
    ).toEqual(['body.limit']);
    expect(
      await problem(post('/deliveries/replay', { since: '2026-12-01T00:00:00Z', cursor: 'x' }), 400),
    ).toEqual(['body.cursor']);
    expect(
      await problem(post('/handler-deliveries/replay', { since: '2026-12-01T00:00:00Z', route: 'No!' }), 400),
    ).toEqual(['body.route']);
    expect(await problem(post('/deliveries/replay'), 400)).toEqual(['body']);
    expect(await problem(post('/deliveries/not-a-uuid/replay'), 400)).toEqual(['params.id']);
    expect(await problem(post('/dead-letters/not-a-uuid/replay'), 400)).toEqual(['params.id']);
    expect(await problem(api('/dead-letters?state=closed'), 400)).toEqual(['query.state']);
    expect(await problem(api('/handler-deliveries?status=lost'), 400)).toEqual(['query.status']);
    await problem(post(`/deliveries/${randomUUID()}/replay`), 404);
    await problem(post(`/dead-letters/${randomUUID()}/replay`), 404);
    await problem(post(`/handler-deliveries/${randomUUID()}/replay`), 404);
    await problem(fetch(`${h.url}/dead-letters`), 401);
    await problem(fetch(`${h.url}/deliveries/replay`, { method: 'POST', body: '{}' }), 401);
  });
});
