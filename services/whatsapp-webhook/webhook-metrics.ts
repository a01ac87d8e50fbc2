import { webhookDeliveryMetrics } from '../../shared/http/index.ts';
import { messageTypeLabel, type ServiceMetrics } from '../../shared/observability/index.ts';
import type { BatchResult } from './store.ts';
import type { WebhookBatch } from './webhook-batch.ts';

/**
 * The business counters of POST /webhook, bound once at route registration so a delivery costs a
 * few increments: deliveries by result (`count` is the route's first middleware and counts the
 * rejected and failed ones), inbound messages by type, Meta's status events by status.
 *
 * @example
 * const webhookMetrics = createWebhookMetrics(metrics);
 * app.post('/webhook', webhookMetrics.count, async (c) => { … webhookMetrics.recordStored(batch, result); });
 */
export function createWebhookMetrics(metrics: ServiceMetrics) {
  const deliveries = webhookDeliveryMetrics(metrics, 'meta');
  return {
    count: deliveries.count,
    /** A delivery that committed: `duplicate` when it carried events and every one was already stored. */
    recordStored(batch: WebhookBatch, result: BatchResult): void {
      const fresh = result.inserted.length + result.statusEvents + result.otherEvents;
      const carried = batch.messages.length + batch.statuses.length + batch.others.length;
      if (fresh === 0 && carried > 0) {
        deliveries.duplicate.inc();
        return;
      }
      deliveries.stored.inc();
      if (result.inserted.length > 0) {
        const typeOf = new Map(batch.messages.map((m) => [m.wamid, m.type]));
        for (const message of result.inserted) {
          const type = messageTypeLabel(typeOf.get(message.wamid) ?? 'other');
          metrics.whatsappMessages.inc({ direction: 'in', type, status: 'received' });
        }
      }
      // A retried delivery stores no status event again, so these count each event once.
      if (result.statusEvents > 0) {
        for (const event of batch.statuses) {
          // Unranked statuses (deleted, warning, …) count as `other`: a bounded label set.
          metrics.whatsappStatusEvents.inc({ status: event.rank === null ? 'other' : event.status });
        }
      }
    },
  };
}
