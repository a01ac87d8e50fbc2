import type { Hono } from 'hono';
import type { Database } from '../../../shared/db/index.ts';
import {
  type AppEnv,
  maxBody,
  parseInput,
  parseJsonText,
  problem,
  safeEqual,
} from '../../../shared/http/index.ts';
import type { ServiceMetrics } from '../../../shared/observability/index.ts';
import type { Queue } from '../../../shared/queue/index.ts';
import { clientIp } from '../../../shared/resilience/index.ts';
import { META_SIGNATURE_HEADER, verifyMetaSignature } from '../../../shared/webhooks/meta-signature.ts';
import { QUEUES } from '../jobs.ts';
import { VerifyQuery } from '../schemas.ts';
import type { createSignatureGuard } from '../signature-guard.ts';
import { type BatchResult, batchStatementCount, insertWebhookBatch } from '../store.ts';
import { readWebhookBatch, type WebhookBatch } from '../webhook-batch.ts';

export interface WebhookRouteDeps {
  db: Database;
  queue: Queue;
  metrics: ServiceMetrics;
  guard: ReturnType<typeof createSignatureGuard>;
  verifyToken: string;
  appSecret: string;
  bodyLimitBytes: number;
  trustProxy?: string;
  /** Hand text/interactive messages to the agent (only with an AGENT_URL). */
  agent: boolean;
  /** Download inbound media. */
  media: boolean;
}

/**
 * The rows and their follow-up jobs commit together or not at all. A delivery that is a single
 * statement with no job to enqueue (the common case without an agent) needs no BEGIN/COMMIT.
 */
function storeDelivery(deps: WebhookRouteDeps, batch: WebhookBatch): Promise<BatchResult> {
  const options = { agent: deps.agent, media: deps.media };
  const jobs = batch.messages.some((m) => (deps.agent && m.forAgent) || (deps.media && m.mediaId !== null));
  if (!jobs && batchStatementCount(batch) <= 1) return insertWebhookBatch(deps.db, batch, options);
  return deps.db.transaction(async (tx) => {
    const result = await insertWebhookBatch(tx, batch, options);
    for (const message of result.inserted) {
      if (message.agent) {
        await deps.queue.sendInTransaction(
          tx,
          QUEUES.agent,
          { inboundId: message.id },
          { dedupeKey: message.wamid },
        );
      }
      if (message.media) {
        await deps.queue.sendInTransaction(
          tx,
          QUEUES.media,
          { inboundId: message.id },
          { dedupeKey: message.wamid },
        );
      }
    }
    return result;
  });
}

/**
 * GET /webhook: Meta's verification handshake. POST /webhook: signed deliveries, stored durably
 * before the 200 (Meta retries anything else for days, so a 503 is how we ask for a retry).
 */
export function registerWebhookRoutes(app: Hono<AppEnv>, deps: WebhookRouteDeps): void {
  app.get('/webhook', (c) => {
    const query = parseInput(VerifyQuery, c.req.query(), 'query');
    const token = query['hub.verify_token'];
    if (query['hub.mode'] === 'subscribe' && token !== undefined && safeEqual(token, deps.verifyToken)) {
      return c.text(query['hub.challenge'] ?? '', 200);
    }
    return problem(c, {
      status: 403,
      title: 'Forbidden',
      detail: 'verification token or mode does not match',
    });
  });

  app.post('/webhook', maxBody(deps.bodyLimitBytes), async function receiveWebhook(c) {
    // The signature covers the raw bytes: verify them before anything parses the body.
    const raw = new Uint8Array(await c.req.arrayBuffer());
    const signature = verifyMetaSignature(raw, c.req.header(META_SIGNATURE_HEADER), deps.appSecret);
    if (!signature.ok) {
      // Only bad signatures meet the guard: behind a proxy every caller may share one address, and a
      // correctly signed delivery from Meta must never be refused because someone else guessed there.
      const ip = clientIp(c, deps.trustProxy);
      deps.guard.assertNotBlocked(ip);
      deps.metrics.webhookSignatureFailures.inc({ provider: 'meta' });
      c.get('logger').warn({ ip, reason: signature.reason }, 'webhook signature rejected');
      await deps.guard.recordFailure(ip);
      return problem(c, {
        status: 401,
        title: 'Unauthorized',
        detail: `X-Hub-Signature-256 is ${signature.reason === 'missing' ? 'missing' : 'not valid'}`,
      });
    }

    const batch = readWebhookBatch(parseJsonText(new TextDecoder().decode(raw)));
    let result: BatchResult;
    try {
      result = await storeDelivery(deps, batch);
    } catch (error) {
      c.get('logger').error({ err: error }, 'webhook delivery not stored; asking Meta to retry');
      return problem(c, {
        status: 503,
        title: 'Service Unavailable',
        detail: 'the event could not be stored; retry later',
        headers: { 'Retry-After': '5' },
      });
    }
    return c.json({
      received: true,
      messages: result.inserted.length,
      duplicates: result.duplicates,
      statuses: result.statusEvents,
      events: result.otherEvents,
    });
  });
}
