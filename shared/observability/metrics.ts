import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type BusinessMetrics, createBusinessMetrics } from './business-metrics.ts';

/**
 * Every metric a service exports, on a registry of its own so several apps can live in one process:
 * the HTTP and resilience ones here, the business ones from business-metrics.ts.
 */
export interface ServiceMetrics extends BusinessMetrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  /** 0 closed, 1 half-open, 2 open. */
  breakerState: Gauge<'breaker'>;
  breakerOpens: Counter<'breaker'>;
  breakerFallbacks: Counter<'breaker'>;
  breakerTimeouts: Counter<'breaker'>;
  breakerRejects: Counter<'breaker'>;
  rateLimitRejections: Counter<'policy'>;
  queueDepth: Gauge<'queue'>;
  webhookSignatureFailures: Counter<'provider'>;
  /** Group-commit writers (shared/db/group-commit.ts): rows per flush, flush time, rows waiting. */
  groupCommitBatchSize: Histogram<'writer'>;
  groupCommitFlushDuration: Histogram<'writer' | 'result'>;
  groupCommitQueueDepth: Gauge<'writer'>;
  groupCommitRejections: Counter<'writer'>;
}

const UNLINTED_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export interface MetricsOptions {
  service: string;
  /** Process metrics (memory, event loop lag); off in tests that build many apps. */
  defaultMetrics?: boolean;
}

/**
 * @example
 * const metrics = createMetrics({ service: 'whatsapp-webhook' });
 * const text = await metrics.registry.metrics();
 */
export function createMetrics(options: MetricsOptions): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  if (options.defaultMetrics) {
    collectDefaultMetrics({ register: registry });
    // Gauges named *_total break Prometheus naming (`promtool check metrics` fails them; prom-client
    // issue #283); each is only the sum of the by-type gauge beside it (nodejs_active_handles{type}).
    for (const name of UNLINTED_DEFAULT_METRICS) registry.removeSingleMetric(name);
  }
  const registers = [registry];
  return {
    registry,
    ...createBusinessMetrics(registry),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    breakerState: new Gauge({
      name: 'circuit_breaker_state',
      help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
      labelNames: ['breaker'],
      registers,
    }),
    breakerOpens: new Counter({
      name: 'circuit_breaker_open_total',
      help: 'Times a circuit breaker opened',
      labelNames: ['breaker'],
      registers,
    }),
    breakerFallbacks: new Counter({
      name: 'circuit_breaker_fallback_total',
      help: 'Calls answered by a breaker fallback',
      labelNames: ['breaker'],
      registers,
    }),
    breakerTimeouts: new Counter({
      name: 'circuit_breaker_timeout_total',
      help: 'Calls that timed out inside a breaker',
      labelNames: ['breaker'],
      registers,
    }),
    breakerRejects: new Counter({
      name: 'circuit_breaker_reject_total',
      help: 'Calls rejected without reaching the dependency because the breaker was open',
      labelNames: ['breaker'],
      registers,
    }),
    rateLimitRejections: new Counter({
      name: 'rate_limit_rejections_total',
      help: 'Requests rejected with 429 by rate-limit policy',
      labelNames: ['policy'],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'queue_depth',
      help: 'Jobs waiting in a durable queue',
      labelNames: ['queue'],
      registers,
    }),
    webhookSignatureFailures: new Counter({
      name: 'webhook_signature_failures_total',
      help: 'Webhook requests rejected for a missing or wrong signature',
      labelNames: ['provider'],
      registers,
    }),
    groupCommitBatchSize: new Histogram({
      name: 'group_commit_batch_size',
      help: 'Items written by one group-commit flush (one transaction)',
      labelNames: ['writer'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers,
    }),
    groupCommitFlushDuration: new Histogram({
      name: 'group_commit_flush_duration_seconds',
      help: 'Time from BEGIN to COMMIT (or failure) of one group-commit flush',
      labelNames: ['writer', 'result'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    groupCommitQueueDepth: new Gauge({
      name: 'group_commit_queue_depth',
      help: 'Items accepted by a group-commit writer and not yet committed',
      labelNames: ['writer'],
      registers,
    }),
    groupCommitRejections: new Counter({
      name: 'group_commit_rejections_total',
      help: 'Submissions refused because the writer queue was full (answered 503)',
      labelNames: ['writer'],
      registers,
    }),
  };
}
