/**
 * The bench's baseline: bare Hono in a process of its own (as each service runs in its own), answering
 * the benchmarked routes with the bodies the services answer them with, and doing nothing else: no
 * signature check, no validation, no database. `node bench/support/bare-hono-server.ts` with
 * BARE_PORT (the port to listen on, on 127.0.0.1), BARE_HEALTH_SERVICE and BARE_HEALTH_BREAKERS (the
 * kit's /health fields, so both answer the same JSON).
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { emptyTwiml } from '../../services/voice-bridge/twiml.ts';

const startedAt = Date.now();
const service = process.env.BARE_HEALTH_SERVICE ?? 'bare-hono';
const breakers = JSON.parse(process.env.BARE_HEALTH_BREAKERS ?? '{}') as Record<string, string>;

const app = new Hono();

// The same fields, computed the same way, as the kit's GET /health.
app.get('/health', (c) =>
  c.json({
    status: 'ok',
    service,
    uptime: Math.round((Date.now() - startedAt) / 1000),
    timestamp: new Date().toISOString(),
    breakers,
  }),
);

// whatsapp-webhook's answer to a delivery of one new text message.
app.post('/webhook', async (c) => {
  await c.req.arrayBuffer();
  return c.json({ received: true, messages: 1, duplicates: 0, statuses: 0, events: 0 });
});

// voice-bridge's answer to a status callback.
app.post('/webhooks/voice/status', async (c) => {
  await c.req.text();
  return c.body(emptyTwiml(), 200, { 'content-type': 'text/xml; charset=utf-8' });
});

const server = serve({ fetch: app.fetch, port: Number(process.env.BARE_PORT ?? 0), hostname: '127.0.0.1' });
const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
