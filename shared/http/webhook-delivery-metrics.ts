import type { MiddlewareHandler } from 'hono';
import type { Counter } from 'prom-client';
import { type BusinessMetrics, webhookDeliveryCounters } from '../observability/index.ts';

export interface WebhookDeliveryMetrics {
  /** Put first on a webhook route: counts 4xx answers as `rejected` and 5xx as `failed`. */
  count: MiddlewareHandler;
  /** The handler marks a 2xx delivery as one of these (pre-bound: no label lookup per event). */
  stored: Counter.Internal;
  duplicate: Counter.Internal;
}

/**
 * `webhook_deliveries_total{provider,result}` for one provider's webhook route. The middleware reads
 * the answer's status after the handler (and the error handler) ran, so signature failures, body
 * limits and malformed payloads count as `rejected` without a line in the handler; only the handler
 * knows whether a stored delivery was new, so it marks `stored` or `duplicate` itself.
 *
 * @example
 * const deliveries = webhookDeliveryMetrics(metrics, 'twilio');
 * app.post('/webhooks/voice/status', deliveries.count, verified, async (c) => {
 *   (result.stored ? deliveries.stored : deliveries.duplicate).inc();
 * });
 */
export function webhookDeliveryMetrics(
  metrics: Pick<BusinessMetrics, 'webhookDeliveries'>,
  provider: string,
): WebhookDeliveryMetrics {
  const counters = webhookDeliveryCounters(metrics, provider);
  return {
    count: async function countWebhookDelivery(c, next) {
      await next();
      const status = c.res.status;
      if (status >= 500) counters.failed.inc();
      else if (status >= 400) counters.rejected.inc();
    },
    stored: counters.stored,
    duplicate: counters.duplicate,
  };
}
