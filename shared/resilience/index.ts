export {
  BREAKER_DEFAULTS,
  type BreakerEnv,
  type BreakerOptions,
  type BreakerRegistry,
  type BreakerRegistryDeps,
  type BreakerState,
  breakerEnvPrefix,
  createBreakerRegistry,
  resolveBreakerOptions,
} from './circuit-breaker.ts';
export { clientIp, normalizeIp, UNKNOWN_CLIENT_IP } from './client-ip.ts';
export { type ConcurrencySlots, createConcurrencySlots } from './concurrency-slots.ts';
export { DependencyError, type DependencyErrorInit, isCallerError } from './dependency-error.ts';
export {
  type ConfiguredLimiters,
  createLimitersFromConfig,
  type LimiterStoreConfig,
} from './limiter-store-from-config.ts';
export {
  type RateLimitKey,
  type RateLimitOptions,
  type RateLimitPolicy,
  rateLimit,
  rateLimitKey,
} from './rate-limit.ts';
export { rateLimitHeaders, tooManyRequests } from './rate-limit-response.ts';
export {
  type ConsumeOrThrowOptions,
  consumeOrThrow,
  createRateLimiterFactory,
  isRateLimiterRes,
  type LimiterPolicy,
  type RateLimiterFactory,
  type RateLimiterFactoryOptions,
  type RateLimitStore,
} from './rate-limiter-factory.ts';
