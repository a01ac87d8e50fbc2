export { observeBreaker } from './breaker-events.ts';
export {
  type BusinessMetrics,
  messageTypeLabel,
  recordRenderStatus,
  WEBHOOK_RESULTS,
  type WebhookResult,
  webhookDeliveryCounters,
} from './business-metrics.ts';
export { type GroupCommitMetrics, observeGroupCommit } from './group-commit-events.ts';
export {
  createLogger,
  type Logger,
  type LoggerOptions,
  maskPhone,
  maskPhonesInText,
  REDACT_PATHS,
  serializeError,
} from './logger.ts';
export { createMetrics, type MetricsOptions, type ServiceMetrics } from './metrics.ts';
export { parsePrometheusText, type Sample } from './prometheus-text.ts';
