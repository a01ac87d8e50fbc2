/**
 * Twilio status-callback processing in the voice bridge — signed form posts over real HTTP, signature
 * check, zod, one durable upsert per event — against a bare Hono route that only reads the same body,
 * measured in the same run on the same machine. PostgreSQL when DATABASE_URL is set (a throwaway
 * schema), else PGlite on disk in a temp directory.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeWebSocket } from '@hono/node-ws';
import { Hono } from 'hono';
import { createApp } from '../services/voice-bridge/app.ts';
import { createVoiceStore } from '../services/voice-bridge/store.ts';
import { emptyTwiml } from '../services/voice-bridge/twiml.ts';
import { type Database, openDatabase } from '../shared/db/index.ts';
import { createLogger, createMetrics } from '../shared/observability/index.ts';
import { createBreakerRegistry, createRateLimiterFactory } from '../shared/resilience/index.ts';
import { computeTwilioSignature } from '../shared/webhooks/twilio-signature.ts';
import { createTestDatabase } from '../test/support/database.ts';
import { listen } from '../test/support/http.ts';
import { type HttpFigures, type HttpRequestSpec, measureHttp } from './support/measure-http.ts';

export interface VoiceStatusBenchOptions {
  durationSeconds: number;
  connections?: number;
  /** Calls the callbacks are spread over. */
  calls?: number;
}

const AUTH_TOKEN = 'bench-twilio-auth-token';
const STATUSES = ['initiated', 'ringing', 'in-progress', 'completed'] as const;

async function openBenchDatabase(): Promise<{ db: Database; kind: string; dispose(): Promise<void> }> {
  if (process.env.DATABASE_URL) {
    const db = await createTestDatabase();
    return { db, kind: 'postgres', dispose: () => db.close() };
  }
  const dir = await mkdtemp(join(tmpdir(), 'voice-bench-'));
  const db = await openDatabase({ dataDir: dir });
  return {
    db,
    kind: 'pglite (on disk)',
    dispose: async () => {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Signed requests made up front, so signing in the load generator does not compete with the server for
 * CPU during the measurement; each carries a fresh SequenceNumber (a new event, a real insert), and the
 * pool wraps around (then they are retries, deduped, as Twilio's are).
 */
function signedCallbacks(
  baseUrl: string,
  calls: Array<{ id: string; sid: string }>,
  count: number,
): HttpRequestSpec[] {
  const requests: HttpRequestSpec[] = [];
  for (let i = 0; i < count; i++) {
    const call = calls[i % calls.length];
    const sequence = Math.floor(i / calls.length);
    const path = `/webhooks/voice/status?callId=${call.id}`;
    const params: Record<string, string> = {
      AccountSid: 'AC00000000000000000000000000000000',
      ApiVersion: '2010-04-01',
      CallSid: call.sid,
      CallStatus: STATUSES[Math.min(sequence, STATUSES.length - 1)],
      CallbackSource: 'call-progress-events',
      Direction: 'outbound-api',
      From: '+15005550006',
      To: '+14155550100',
      SequenceNumber: String(sequence),
      Timestamp: new Date().toUTCString().replace('GMT', '+0000'),
    };
    requests.push({
      method: 'POST',
      path,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': computeTwilioSignature(AUTH_TOKEN, `${baseUrl}${path}`, params),
      },
      body: new URLSearchParams(params).toString(),
    });
  }
  return requests;
}

/** Bare Hono answering the same posts without looking at them: the floor the service is compared to. */
function bareHono(): Hono {
  const app = new Hono();
  app.post('/webhooks/voice/status', async (c) => {
    await c.req.text();
    return c.body(emptyTwiml(), 200, { 'content-type': 'text/xml; charset=utf-8' });
  });
  return app;
}

export async function benchVoiceStatus(options: VoiceStatusBenchOptions) {
  const { db, kind, dispose } = await openBenchDatabase();
  const store = createVoiceStore(db);
  const calls: Array<{ id: string; sid: string }> = [];
  for (let i = 0; i < (options.calls ?? 500); i++) {
    const id = randomUUID();
    const sid = `CA${randomBytes(16).toString('hex')}`;
    await store.createOutboundCall({ id, to: '+14155550100', from: '+15005550006' });
    await store.markProviderAccepted(id, sid, 'queued');
    calls.push({ id, sid });
  }

  let app: Hono | undefined;
  const ws = createNodeWebSocket({
    app: { request: (...args: Parameters<Hono['request']>) => app!.request(...args) } as Hono,
  });
  const server = await listen({ fetch: (request: Request, env?: unknown) => app!.fetch(request, env) });
  const logger = createLogger({ service: 'voice-bridge', level: 'warn' });
  const metrics = createMetrics({ service: 'voice-bridge' });
  const breakers = createBreakerRegistry({ logger, metrics, env: {} });
  app = createApp({
    config: {
      apiKey: 'bench',
      publicUrl: server.url,
      twilio: {
        apiUrl: 'http://127.0.0.1:9',
        accountSid: 'AC00000000000000000000000000000000',
        authToken: AUTH_TOKEN,
        fromNumber: '+15005550006',
      },
      agent: { url: 'ws://127.0.0.1:9/agent', connectTimeoutMs: 1000 },
      fallbackMessage: 'bench',
      rateLimits: {
        outbound: { points: 10, durationSeconds: 60 },
        destination: { points: 3, durationSeconds: 3600 },
      },
    },
    db,
    logger,
    metrics,
    breakers,
    limiterFor: createRateLimiterFactory({ store: 'memory' }),
    upgradeWebSocket: ws.upgradeWebSocket,
  }) as unknown as Hono;

  const bare = await listen(bareHono());
  const figures: Record<string, HttpFigures> = {};
  try {
    // Each target gets requests signed for its own URL; the bare route ignores the signature anyway.
    for (const [name, url] of [
      ['bareHono', bare.url],
      ['voiceStatus', server.url],
    ] as const) {
      const pool = signedCallbacks(server.url, calls, 80_000);
      let next = 0;
      figures[name] = await measureHttp({
        url,
        connections: options.connections ?? 20,
        durationSeconds: options.durationSeconds,
        nextRequest: () => pool[next++ % pool.length],
      });
    }
    const stored = await db.query<{ n: number }>(
      "select count(*)::int as n from voice_call_events where source = 'provider'",
    );
    const bareRps = figures.bareHono.requestsPerSecond;
    const rps = figures.voiceStatus.requestsPerSecond;
    return {
      database: kind,
      ...figures,
      eventsStored: stored[0].n,
      statusToBareThroughputRatio: Number((rps / bareRps).toFixed(3)),
      p95Ms: figures.voiceStatus.latencyMs.p95,
      eventsPerSecond: rps,
    };
  } finally {
    await bare.close();
    await server.close();
    ws.wss.close();
    breakers.shutdown();
    await dispose();
  }
}

// `node bench/voice-status.ts` runs it alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await benchVoiceStatus({ durationSeconds: Number(process.env.BENCH_SECONDS ?? 3) });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
