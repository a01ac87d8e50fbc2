import { Counter, Histogram, type Registry } from 'prom-client';

/** What became of one signed webhook delivery. */
export const WEBHOOK_RESULTS = ['stored', 'duplicate', 'rejected', 'failed'] as const;
export type WebhookResult = (typeof WEBHOOK_RESULTS)[number];

/**
 * WhatsApp message types we label by; anything else Meta sends counts as `other`, so a new type
 * on Meta's side cannot grow the series without bound.
 */
const MESSAGE_TYPES = new Set([
  'text',
  'image',
  'audio',
  'video',
  'document',
  'sticker',
  'location',
  'contacts',
  'interactive',
  'button',
  'reaction',
  'template',
  'order',
  'system',
]);

export function messageTypeLabel(type: string): string {
  return MESSAGE_TYPES.has(type) ? type : 'other';
}

/** The product's own counters, beside the HTTP ones; on the service's registry. */
export interface BusinessMetrics {
  webhookDeliveries: Counter<'provider' | 'result'>;
  whatsappMessages: Counter<'direction' | 'type' | 'status'>;
  whatsappStatusEvents: Counter<'status'>;
  voiceCallStatuses: Counter<'status'>;
  videoRenders: Counter<'status'>;
  videoRenderDuration: Histogram<'status'>;
}

export function createBusinessMetrics(registry: Registry): BusinessMetrics {
  const registers = [registry];
  return {
    webhookDeliveries: new Counter({
      name: 'webhook_deliveries_total',
      help: 'Provider webhook deliveries by provider and result (stored, duplicate, rejected, failed)',
      labelNames: ['provider', 'result'],
      registers,
    }),
    whatsappMessages: new Counter({
      name: 'whatsapp_messages_total',
      help: 'WhatsApp messages by direction (in, out), type and status (in: received; out: sent, queued, failed)',
      labelNames: ['direction', 'type', 'status'],
      registers,
    }),
    whatsappStatusEvents: new Counter({
      name: 'whatsapp_status_events_total',
      help: 'Message status events Meta reported in stored deliveries, by status',
      labelNames: ['status'],
      registers,
    }),
    voiceCallStatuses: new Counter({
      name: 'voice_call_status_total',
      help: 'Calls that moved into each status; the terminal ones (completed, busy, no-answer, failed, canceled) are outcomes',
      labelNames: ['status'],
      registers,
    }),
    videoRenders: new Counter({
      name: 'video_renders_total',
      help: 'Renders by status reached (queued, completed, failed, canceled)',
      labelNames: ['status'],
      registers,
    }),
    videoRenderDuration: new Histogram({
      name: 'video_render_duration_seconds',
      help: 'Time from a render being queued to its final status, by that status',
      labelNames: ['status'],
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers,
    }),
  };
}

/**
 * One pre-bound counter per result for a provider's webhook route: the hot path increments a child
 * without hashing labels. Each starts at 0 so a dashboard sees the series before the first event.
 *
 * @example
 * const deliveries = webhookDeliveryCounters(metrics, 'meta');
 * deliveries.stored.inc();
 */
export function webhookDeliveryCounters(
  metrics: Pick<BusinessMetrics, 'webhookDeliveries'>,
  provider: string,
): Record<WebhookResult, Counter.Internal> {
  const children = {} as Record<WebhookResult, Counter.Internal>;
  for (const result of WEBHOOK_RESULTS) {
    children[result] = metrics.webhookDeliveries.labels({ provider, result });
    children[result].inc(0);
  }
  return children;
}

/** A render reached `status`; a final one also observes how long it took since it was queued. */
export function recordRenderStatus(
  metrics: Pick<BusinessMetrics, 'videoRenders' | 'videoRenderDuration'>,
  status: 'queued' | 'completed' | 'failed' | 'canceled',
  queuedAt?: Date,
): void {
  metrics.videoRenders.inc({ status });
  if (status !== 'queued' && queuedAt) {
    metrics.videoRenderDuration.observe({ status }, Math.max(0, Date.now() - queuedAt.getTime()) / 1000);
  }
}
