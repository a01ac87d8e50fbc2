import type CircuitBreaker from 'opossum';
import type { Logger } from './logger.ts';
import type { ServiceMetrics } from './metrics.ts';

export type BreakerMetrics = Pick<
  ServiceMetrics,
  'breakerState' | 'breakerOpens' | 'breakerFallbacks' | 'breakerTimeouts' | 'breakerRejects'
>;

export interface ObserveBreakerDeps {
  logger: Logger;
  metrics: BreakerMetrics;
}

/** Gauge values as documented on `circuit_breaker_state`. */
const STATE_GAUGE = { closed: 0, halfOpen: 1, open: 2 } as const;

const observed = new WeakSet<CircuitBreaker>();

/**
 * The one place that turns opossum's events into logs and metrics, so business code never logs breaker
 * state itself. State transitions are logged once each (opossum only emits on a real change); per-call
 * events (fallback, timeout, reject) are only counted, since logging them would flood the logs exactly
 * when a dependency is down. Observing the same breaker twice is a no-op.
 *
 * @example
 * const breaker = new CircuitBreaker(sendSms, { name: 'twilio' });
 * observeBreaker(breaker, { logger, metrics });
 */
export function observeBreaker(breaker: CircuitBreaker, deps: ObserveBreakerDeps): void {
  if (observed.has(breaker)) return;
  observed.add(breaker);
  const { logger, metrics } = deps;
  const labels = { breaker: breaker.name };
  const log = logger.child({ breaker: breaker.name });

  // Start at a known state so /metrics lists the breaker before anything happens to it.
  metrics.breakerState.set(labels, breaker.opened ? STATE_GAUGE.open : STATE_GAUGE.closed);

  breaker.on('open', () => {
    metrics.breakerState.set(labels, STATE_GAUGE.open);
    metrics.breakerOpens.inc(labels);
    const { failures, fires } = breaker.stats;
    log.warn({ event: 'breaker.open', failures, fires }, `circuit breaker ${breaker.name} opened`);
  });
  breaker.on('halfOpen', (resetTimeoutMs) => {
    metrics.breakerState.set(labels, STATE_GAUGE.halfOpen);
    log.info({ event: 'breaker.half_open', resetTimeoutMs }, `circuit breaker ${breaker.name} half-open`);
  });
  breaker.on('close', () => {
    metrics.breakerState.set(labels, STATE_GAUGE.closed);
    log.info({ event: 'breaker.close' }, `circuit breaker ${breaker.name} closed`);
  });
  breaker.on('fallback', () => metrics.breakerFallbacks.inc(labels));
  breaker.on('timeout', () => metrics.breakerTimeouts.inc(labels));
  breaker.on('reject', () => metrics.breakerRejects.inc(labels));
}
