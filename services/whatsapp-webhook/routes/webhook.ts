import type { Hono } from 'hono';
import {
  type AppEnv,
  maxBody,
  parseInput,
  parseJsonText,
  problem,
  readBodyBytes,
  requestHeader,
  requestLogger,
  safeEqual,
  storeUnavailable,
} from '../../../shared/http/index.ts';
import type { ServiceMetrics } from '../../../shared/observability/index.ts';
import { clientIp } from '../../../shared/resilience/index.ts';
import { META_SIGNATURE_HEADER, verifyMetaSignature } from '../../../shared/webhooks/meta-signature.ts';
import { VerifyQuery } from '../schemas.ts';
import type { createSignatureGuard } from '../signature-guard.ts';
import type { BatchResult } from '../store.ts';
import { rawDelivery, readWebhookBatch } from '../webhook-batch.ts';
import type { WebhookIntake } from '../webhook-intake.ts';
import { createWebhookMetrics } from '../webhook-metrics.ts';

const utf8 = new TextDecoder();

export interface WebhookRouteDeps {
  /** Group commit: the delivery's rows (and their jobs) commit with concurrent deliveries'. */
  intake: WebhookIntake;
  metrics: ServiceMetrics;
  guard: ReturnType<typeof createSignatureGuard>;
  verifyToken: string;
  appSecret: string;
  bodyLimitBytes: number;
  trustProxy?: string;
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

  const webhookMetrics = createWebhookMetrics(deps.metrics);

  app.post('/webhook', webhookMetrics.count, maxBody(deps.bodyLimitBytes), async function receiveWebhook(c) {
    // The signature covers the raw bytes: verify them before anything parses the body.
    const raw = await readBodyBytes(c);
    const signature = verifyMetaSignature(raw, requestHeader(c, META_SIGNATURE_HEADER), deps.appSecret);
    if (!signature.ok) {
      // Only bad signatures meet the guard: behind a proxy every caller may share one address, and a
      // correctly signed delivery from Meta must never be refused because someone else guessed there.
      const ip = clientIp(c, deps.trustProxy);
      deps.guard.assertNotBlocked(ip);
      deps.metrics.webhookSignatureFailures.inc({ provider: 'meta' });
      requestLogger(c).warn({ ip, reason: signature.reason }, 'webhook signature rejected');
      await deps.guard.recordFailure(ip);
      return problem(c, {
        status: 401,
        title: 'Unauthorized',
        detail: `X-Hub-Signature-256 is ${signature.reason === 'missing' ? 'missing' : 'not valid'}`,
      });
    }

    const text = utf8.decode(raw);
    // Kept raw with its rows, so it can be replayed through this same ingest (POST /deliveries/:id/replay).
    const batch = { ...readWebhookBatch(parseJsonText(text)), delivery: rawDelivery(text) };
    let result: BatchResult;
    try {
      result = await deps.intake.submit(batch);
    } catch (error) {
      // Meta retries a 503 for days: nothing refused here is lost.
      return storeUnavailable(c, error, 'webhook delivery');
    }
    webhookMetrics.recordStored(batch, result);
    return c.json({
      received: true,
      messages: result.inserted.length,
      duplicates: result.duplicates,
      statuses: result.statusEvents,
      events: result.otherEvents,
    });
  });
}
