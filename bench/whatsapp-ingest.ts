/**
 * WhatsApp webhook ingest: signed Meta deliveries, each a new message, verified and durably stored
 * (one transaction per delivery) by the real service app, against bare Hono answering the same
 * POSTs, measured in the same run over real HTTP.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { createApp } from '../services/whatsapp-webhook/app.ts';
import { loadWhatsAppConfig } from '../services/whatsapp-webhook/config.ts';
import { createWhatsAppQueues } from '../services/whatsapp-webhook/jobs.ts';
import { type Database, openDatabase } from '../shared/db/index.ts';
import { createLogger, createMetrics } from '../shared/observability/index.ts';
import { startQueue } from '../shared/queue/index.ts';
import { createBreakerRegistry, createRateLimiterFactory } from '../shared/resilience/index.ts';
import { signMetaPayload } from '../shared/webhooks/meta-signature.ts';
import { createTestDatabase } from '../test/support/database.ts';
import { listen } from '../test/support/http.ts';
import { type HttpRequestSpec, measureHttp } from './support/measure-http.ts';

const APP_SECRET = 'bench-app-secret';
const PHONE_NUMBER_ID = '100000000000001';

/** A realistic single-message delivery, as Meta sends one per inbound message. */
function delivery(n: number): string {
  const waId = `25078${String(n % 10_000_000).padStart(7, '0')}`;
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '200000000000001',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550000001', phone_number_id: PHONE_NUMBER_ID },
              contacts: [{ profile: { name: `User ${n % 1000}` }, wa_id: waId }],
              messages: [
                {
                  from: waId,
                  id: `wamid.bench.${process.pid}.${n}`,
                  timestamp: String(Math.floor(Date.now() / 1000)),
                  type: 'text',
                  text: { body: `message number ${n}` },
                },
              ],
            },
          },
        ],
      },
    ],
  });
}

function signedRequests(): () => HttpRequestSpec {
  let n = 0;
  return () => {
    n += 1;
    const body = delivery(n);
    return {
      method: 'POST',
      path: '/webhook',
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': signMetaPayload(body, APP_SECRET),
      },
      body,
    };
  };
}

/** Postgres (a fresh schema) when DATABASE_URL is set, else embedded PGlite on disk: both durable. */
async function openBenchDatabase(): Promise<{ db: Database; kind: string; cleanup: () => Promise<void> }> {
  if (process.env.DATABASE_URL) {
    const db = await createTestDatabase();
    return { db, kind: 'postgres', cleanup: async () => {} };
  }
  const dir = await mkdtemp(join(tmpdir(), 'bench-whatsapp-'));
  const db = await openDatabase({ dataDir: dir });
  return { db, kind: 'pglite (on disk)', cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function benchWhatsAppIngest(options: { durationSeconds: number; connections?: number }) {
  const bare = new Hono();
  bare.post('/webhook', async (c) => {
    await c.req.arrayBuffer();
    return c.json({ received: true });
  });

  const { db, kind, cleanup } = await openBenchDatabase();
  const logger = createLogger({ service: 'bench-whatsapp', level: 'warn' });
  const metrics = createMetrics({ service: 'bench-whatsapp' });
  const queue = await startQueue(db, { logger, metrics, supervise: false });
  const { settings } = loadWhatsAppConfig({
    WHATSAPP_APP_SECRET: APP_SECRET,
    WHATSAPP_PHONE_NUMBER_ID: PHONE_NUMBER_ID,
    WHATSAPP_MEDIA_DOWNLOAD: 'false',
  });
  await createWhatsAppQueues(queue, settings.sendRetry);
  const breakers = createBreakerRegistry({ logger, metrics, env: {} });
  const app = createApp({
    settings,
    db,
    queue,
    logger,
    metrics,
    breakers,
    limiterFor: createRateLimiterFactory({ store: 'memory' }),
  });

  const figures: Record<string, Awaited<ReturnType<typeof measureHttp>>> = {};
  try {
    for (const [name, subject] of [
      ['bareHono', bare],
      ['whatsappIngest', app],
    ] as const) {
      const server = await listen(subject);
      figures[name] = await measureHttp({
        url: server.url,
        connections: options.connections ?? 20,
        durationSeconds: options.durationSeconds,
        nextRequest: signedRequests(),
      });
      await server.close();
    }
    // Every 200 must be a stored row: the figure is only worth something if ingest was durable.
    const [row] = await db.query<{ n: number }>('select count(*)::int as n from whatsapp_inbound_messages');
    const ingest = figures.whatsappIngest;
    const acknowledged = ingest.requests - ingest.non2xx;
    const bareRps = figures.bareHono.requestsPerSecond;
    return {
      database: kind,
      ...figures,
      storedRows: row.n,
      acknowledgedDeliveries: acknowledged,
      ingestToBareThroughputRatio: Number((ingest.requestsPerSecond / bareRps).toFixed(3)),
    };
  } finally {
    await queue.stop({ graceful: false, timeoutMs: 1000 });
    breakers.shutdown();
    await db.close();
    await cleanup();
  }
}
