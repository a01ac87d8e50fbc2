import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleValue, scrapeMetrics } from '../../../support/metrics-text.ts';
import {
  API_KEY,
  graphError,
  type Harness,
  inboundEnvelope,
  postWebhook,
  startFakeGraph,
  startHarness,
  statusEnvelope,
  switchableDatabase,
} from './harness.ts';

type FakeGraph = Awaited<ReturnType<typeof startFakeGraph>>;

describe('whatsapp-webhook business metrics on /metrics', () => {
  let h: Harness;
  let graph: FakeGraph;
  let switchable: ReturnType<typeof switchableDatabase>;

  beforeAll(async () => {
    graph = await startFakeGraph();
    h = await startHarness({
      env: { GRAPH_API_URL: graph.url, GRAPH_API_TIMEOUT_MS: '1500' },
      appDb: (db) => {
        switchable = switchableDatabase(db);
        return switchable;
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    await graph?.close();
  });

  const deliveries = (text: string, result: string) =>
    sampleValue(text, 'webhook_deliveries_total', { provider: 'meta', result });

  it('counts every result of a delivery, starting from published zeros', async () => {
    const start = await scrapeMetrics(h.url);
    for (const result of ['stored', 'duplicate', 'rejected', 'failed']) {
      expect(start, result).toMatch(
        new RegExp(`webhook_deliveries_total\\{[^}]*result="${result}"[^}]*\\} 0`),
      );
    }

    const image = inboundEnvelope({ id: 'wamid.METRIC1', type: 'image', image: { id: 'media-1' } });
    expect((await postWebhook(h.url, image)).status).toBe(200);
    expect((await postWebhook(h.url, image)).status).toBe(200); // Meta's retry of the same delivery
    expect((await postWebhook(h.url, image, 'sha256=00')).status).toBe(401);
    expect((await postWebhook(h.url, { object: 'page' })).status).toBe(400);
    switchable.down = true;
    try {
      const text = inboundEnvelope({ id: 'wamid.METRIC2', type: 'text', text: { body: 'hi' } });
      expect((await postWebhook(h.url, text)).status).toBe(503);
    } finally {
      switchable.down = false;
    }
    expect((await postWebhook(h.url, statusEnvelope('wamid.OUT-METRIC', 'delivered'))).status).toBe(200);

    const after = await scrapeMetrics(h.url);
    expect(deliveries(after, 'stored')).toBe(2);
    expect(deliveries(after, 'duplicate')).toBe(1);
    expect(deliveries(after, 'rejected')).toBe(2);
    expect(deliveries(after, 'failed')).toBe(1);
    expect(
      sampleValue(after, 'whatsapp_messages_total', { direction: 'in', type: 'image', status: 'received' }),
    ).toBe(1);
    expect(sampleValue(after, 'whatsapp_messages_total', { direction: 'in', type: 'text' })).toBe(0);
    expect(sampleValue(after, 'whatsapp_status_events_total', { status: 'delivered' })).toBe(1);
  });

  it('counts messages out by type and the status of their first answer', async () => {
    const send = (to: string) =>
      fetch(`${h.url}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ to, type: 'text', text: { body: 'Muraho' } }),
      });
    expect((await send('+250788000011')).status).toBe(201);
    graph.answer(graphError(400, 131030, 'Recipient phone number not in allowed list'));
    expect((await send('+250788000012')).status).toBe(422);

    const text = await scrapeMetrics(h.url);
    const out = (status: string) =>
      sampleValue(text, 'whatsapp_messages_total', { direction: 'out', type: 'text', status });
    expect(out('sent')).toBe(1);
    expect(out('failed')).toBe(1);
  });
});
