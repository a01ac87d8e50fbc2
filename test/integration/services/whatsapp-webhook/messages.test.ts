import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API_KEY,
  graphError,
  type Harness,
  PHONE_NUMBER_ID,
  postWebhook,
  startFakeGraph,
  startHarness,
  statusEnvelope,
  waitFor,
} from './harness.ts';

type FakeGraph = Awaited<ReturnType<typeof startFakeGraph>>;

interface MessageBody {
  id: string;
  status: string;
  wamid: string | null;
  error: { code: number | null; title: string | null; message: string | null } | null;
  history?: { status: string; source: string; detail?: string; error?: { code: number | null } }[];
}

function send(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${url}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

async function getMessage(url: string, id: string): Promise<MessageBody> {
  const res = await fetch(`${url}/messages/${id}`, { headers: { authorization: `Bearer ${API_KEY}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as MessageBody;
}

const text = (to = '+250788000001', body = 'Muraho') => ({ to, type: 'text', text: { body } });

describe('POST /messages against a local Graph API', () => {
  let graph: FakeGraph;
  let h: Harness;

  beforeAll(async () => {
    graph = await startFakeGraph();
    h = await startHarness({
      workers: true,
      env: { GRAPH_API_URL: graph.url, GRAPH_API_TIMEOUT_MS: '1500' },
      breakerEnv: { BREAKER_WHATSAPP_GRAPH_VOLUME_THRESHOLD: '3', BREAKER_WHATSAPP_GRAPH_RESET_MS: '800' },
    });
  });
  afterAll(async () => {
    await h?.close();
    await graph?.close();
  });

  it('requires the API key', async () => {
    const none = await fetch(`${h.url}/messages`, { method: 'POST', body: JSON.stringify(text()) });
    expect(none.status).toBe(401);
    const wrong = await send(h.url, text(), { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    const get = await fetch(`${h.url}/messages/00000000-0000-4000-8000-000000000000`);
    expect(get.status).toBe(401);
  });

  it('answers 400 naming the offending field', async () => {
    const cases: [unknown, string][] = [
      [{ ...text(), to: '0788000001' }, 'body.to'],
      [{ to: '+250788000001', type: 'text', text: {} }, 'body.text.body'],
      [{ to: '+250788000001', type: 'fax' }, 'body.type'],
      [
        {
          to: '+250788000001',
          type: 'interactive',
          interactive: {
            type: 'button',
            body: 'Pick',
            buttons: [1, 2, 3, 4].map((i) => ({ id: `b${i}`, title: `B${i}` })),
          },
        },
        'body.interactive.buttons',
      ],
      [{ to: '+250788000001', type: 'template', template: { name: 'hello' } }, 'body.template.language'],
    ];
    for (const [body, field] of cases) {
      const res = await send(h.url, body);
      expect(res.status).toBe(400);
      const problem = (await res.json()) as { errors: { field: string }[] };
      expect(problem.errors.map((e) => e.field)).toContain(field);
    }
    const notJson = await fetch(`${h.url}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}` },
      body: '{',
    });
    expect(notJson.status).toBe(400);
  });

  it('sends a text message: stored, sent through the Graph API, wamid recorded', async () => {
    const before = graph.calls.length;
    const res = await send(h.url, text('+250788000001', 'Hello there'));
    expect(res.status).toBe(201);
    const body = (await res.json()) as MessageBody;
    expect(body).toMatchObject({
      status: 'sent',
      to: '+250788000001',
      type: 'text',
      phoneNumberId: PHONE_NUMBER_ID,
    });
    expect(body.wamid).toMatch(/^wamid\./);
    expect(res.headers.get('location')).toBe(`/messages/${body.id}`);
    const call = graph.calls[before];
    expect(call.phoneNumberId).toBe(PHONE_NUMBER_ID);
    expect(call.authorization).toBe('Bearer test-access-token');
    expect(call.body).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '+250788000001',
      type: 'text',
      text: { body: 'Hello there', preview_url: false },
    });
    const [row] = await h.db.query('select status, wamid from whatsapp_outbound_messages where id = $1', [
      body.id,
    ]);
    expect(row).toEqual({ status: 'sent', wamid: body.wamid });
  });

  it('sends template and interactive messages in Graph shape', async () => {
    const before = graph.calls.length;
    const template = {
      to: '+250788000002',
      type: 'template',
      template: {
        name: 'order_update',
        language: 'en_US',
        components: [{ type: 'body', parameters: [{ type: 'text', text: 'A-17' }] }],
      },
    };
    const buttons = {
      to: '+250788000002',
      type: 'interactive',
      interactive: {
        type: 'button',
        body: 'Confirm?',
        footer: 'EasyMO',
        buttons: [{ id: 'y', title: 'Yes' }],
      },
    };
    const list = {
      to: '+250788000002',
      type: 'interactive',
      interactive: {
        type: 'list',
        header: 'Menu',
        body: 'Choose',
        button: 'Options',
        sections: [{ title: 'Rides', rows: [{ id: 'moto', title: 'Moto', description: 'Fast' }] }],
      },
    };
    for (const body of [template, buttons, list]) expect((await send(h.url, body)).status).toBe(201);
    const [t, b, l] = graph.calls.slice(before).map((c) => c.body);
    expect(t.template).toEqual({
      name: 'order_update',
      language: { code: 'en_US' },
      components: [{ type: 'body', parameters: [{ type: 'text', text: 'A-17' }] }],
    });
    expect(b.interactive).toEqual({
      type: 'button',
      body: { text: 'Confirm?' },
      footer: { text: 'EasyMO' },
      action: { buttons: [{ type: 'reply', reply: { id: 'y', title: 'Yes' } }] },
    });
    expect(l.interactive).toMatchObject({
      type: 'list',
      header: { type: 'text', text: 'Menu' },
      action: { button: 'Options', sections: [{ title: 'Rides', rows: [{ id: 'moto', title: 'Moto' }] }] },
    });
  });

  it('records a permanent failure with Meta’s code and message, without retrying', async () => {
    graph.answer(graphError(400, 131030, 'Recipient phone number not in allowed list'));
    const before = graph.calls.length;
    const res = await send(h.url, text('+250788000003'));
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await res.json()) as {
      id: string;
      status: string;
      error: { code: number; message: string };
    };
    expect(problem.status).toBe('failed');
    expect(problem.error.code).toBe(131030);
    expect(problem.error.message).toMatch(/not in allowed list/);
    // The queue job wakes after the first retry delay and finds nothing to do.
    await new Promise((r) => setTimeout(r, 1800));
    expect(graph.calls.length - before).toBe(1);
    const message = await getMessage(h.url, problem.id);
    expect(message.status).toBe('failed');
    expect(message.error?.code).toBe(131030);
    expect(message.history?.map((e) => e.status)).toEqual(['queued', 'failed']);
  });

  it('queues on a retryable failure (5xx, throttling, timeout) and the queue sends it later', async () => {
    for (const answer of [
      graphError(500, 131000, 'Something went wrong'),
      graphError(400, 130429, 'Rate limit hit'),
      graphError(429, 131056, 'pair rate limit hit'),
      { hangMs: 3000 },
    ]) {
      graph.answer(answer);
      const res = await send(h.url, text('+250788000004'));
      expect(res.status).toBe(202);
      const body = (await res.json()) as MessageBody;
      expect(body.status).toBe('queued');
      const sent = await waitFor(
        () => getMessage(h.url, body.id),
        (m) => m.status === 'sent',
      );
      expect(sent.status).toBe('sent');
      expect(sent.wamid).toMatch(/^wamid\./);
      expect(sent.history?.map((e) => e.status)).toEqual(['queued', 'queued', 'sent']);
    }
  });

  it('replays the first answer for a repeated Idempotency-Key and sends nothing more', async () => {
    const before = graph.calls.length;
    const headers = { 'idempotency-key': 'order-42-confirmation' };
    const first = await send(h.url, text('+250788000005', 'Order 42 confirmed'), headers);
    const second = await send(h.url, text('+250788000005', 'Order 42 confirmed'), headers);
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await second.json()).toEqual(await first.json());
    expect(graph.calls.length - before).toBe(1);

    const reused = await send(h.url, text('+250788000005', 'something else'), headers);
    expect(reused.status).toBe(422);
    expect(graph.calls.length - before).toBe(1);
  });

  it('replays a failure too, and concurrent repeats send once', async () => {
    graph.answer(graphError(400, 131030, 'Recipient phone number not in allowed list'));
    const headers = { 'idempotency-key': 'bad-recipient' };
    const first = await send(h.url, text('+250788000006'), headers);
    const again = await send(h.url, text('+250788000006'), headers);
    expect([first.status, again.status]).toEqual([422, 422]);
    expect(await again.json()).toEqual(await first.json());

    const before = graph.calls.length;
    const burst = await Promise.all(
      Array.from({ length: 5 }, () => send(h.url, text('+250788000007'), { 'idempotency-key': 'burst' })),
    );
    expect(burst.every((r) => [201, 409].includes(r.status))).toBe(true);
    expect(graph.calls.length - before).toBe(1);
  });

  it('queues while the breaker is open, then sends once the Graph API is back', async () => {
    graph.setFallback(graphError(503, 2, 'Service temporarily unavailable'));
    try {
      // Earlier successes are still in the breaker's rolling window: fail until it trips. One recipient
      // each: a second message to the same contact would wait behind the first instead of calling Meta.
      for (let i = 0; i < 40 && h.breakers.states()['whatsapp-graph'] !== 'open'; i += 1) {
        expect((await send(h.url, text(`+25078810${String(i).padStart(4, '0')}`))).status).toBe(202);
      }
      expect(h.breakers.states()['whatsapp-graph']).toBe('open');
      const calls = graph.calls.length;
      const res = await send(h.url, text('+250788000009', 'during the outage'));
      expect(res.status).toBe(202);
      const queued = (await res.json()) as MessageBody;
      expect(graph.calls.length).toBe(calls); // rejected by the breaker, Meta never called
      const during = await getMessage(h.url, queued.id);
      expect(during.history?.at(-1)?.detail).toMatch(/circuit breaker open/);
    } finally {
      graph.setFallback(null);
    }
    const rows = await h.db.query<{ id: string }>(
      `select id from whatsapp_outbound_messages where status = 'queued'`,
    );
    for (const { id } of rows) {
      const message = await waitFor(
        () => getMessage(h.url, id),
        (m) => m.status === 'sent',
        20_000,
      );
      expect(message.status).toBe('sent');
    }
    const to9 = graph.calls.filter((c) => c.body.to === '+250788000009');
    expect(to9.length).toBe(1); // sent exactly once once the dependency was back
  });

  it('GET /messages/:id shows the status history, statuses from the webhook included', async () => {
    const res = await send(h.url, text('+250788000010'));
    const { id, wamid } = (await res.json()) as MessageBody;
    // Meta's timestamps are whole seconds of its own clock, after our send.
    const at = Math.floor(Date.now() / 1000) + 1;
    for (const [status, offset] of [
      ['read', 2],
      ['delivered', 1],
      ['sent', 0],
    ] as const) {
      const body = statusEnvelope(wamid!, status, { timestamp: String(at + offset) });
      expect((await postWebhook(h.url, body)).status).toBe(200);
    }
    const message = await getMessage(h.url, id);
    expect(message.status).toBe('read');
    expect(message.history?.map((e) => `${e.source}:${e.status}`)).toEqual([
      'service:queued',
      'service:sent',
      'whatsapp:sent',
      'whatsapp:delivered',
      'whatsapp:read',
    ]);
    const unknown = await fetch(`${h.url}/messages/00000000-0000-4000-8000-000000000000`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    expect(unknown.status).toBe(404);
    const invalid = await fetch(`${h.url}/messages/not-a-uuid`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    expect(invalid.status).toBe(400);
  });

  it('applies a status that arrived before the send was recorded', async () => {
    graph.answer({
      status: 200,
      body: { messaging_product: 'whatsapp', contacts: [], messages: [{ id: 'wamid.EARLY' }] },
    });
    expect((await postWebhook(h.url, statusEnvelope('wamid.EARLY', 'delivered'))).status).toBe(200);
    const res = await send(h.url, text('+250788000011'));
    const { id } = (await res.json()) as MessageBody;
    expect((await getMessage(h.url, id)).status).toBe('delivered');
  });
});

describe('POST /messages limits', () => {
  let graph: FakeGraph;
  let h: Harness;

  beforeAll(async () => {
    graph = await startFakeGraph();
    h = await startHarness({
      workers: true,
      env: {
        GRAPH_API_URL: graph.url,
        WHATSAPP_MESSAGES_RATE_LIMIT: '8',
        WHATSAPP_MESSAGES_RATE_WINDOW_SECONDS: '60',
        WHATSAPP_SEND_PER_SECOND: '2',
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    await graph?.close();
  });

  it('keeps Meta’s per-number throughput: excess waits or is queued, all are sent', async () => {
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => send(h.url, text(`+25078800010${i}`))),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 202)).toBe(true);
    expect(statuses.filter((s) => s === 202).length).toBeGreaterThan(0);
    await waitFor(
      () => graph.calls.length,
      (n) => n >= 6,
      20_000,
    );
    expect(graph.calls.length).toBe(6);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('limits requests per API key with 429 and RateLimit headers', async () => {
    let last: Response | undefined;
    for (let i = 0; i < 4; i += 1) {
      last = await fetch(`${h.url}/messages/00000000-0000-4000-8000-000000000000`, {
        headers: { authorization: `Bearer ${API_KEY}` },
      });
    }
    expect(last?.status).toBe(429);
    expect(last?.headers.get('retry-after')).toBeTruthy();
    expect(last?.headers.get('content-type')).toBe('application/problem+json');
  });
});
