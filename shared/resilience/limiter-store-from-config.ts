import { Redis } from 'ioredis';
import pg from 'pg';
import type { Logger } from '../observability/logger.ts';
import {
  createRateLimiterFactory,
  type RateLimiterFactory,
  type RateLimitStore,
} from './rate-limiter-factory.ts';

export interface LimiterStoreConfig {
  RATE_LIMIT_STORE: RateLimitStore;
  REDIS_URL?: string;
  DATABASE_URL?: string;
}

export interface ConfiguredLimiters {
  limiterFor: RateLimiterFactory;
  close(): Promise<void>;
}

/**
 * The limiter factory a service's config asks for, with the client its store needs: memory
 * (default), Redis (REDIS_URL) or Postgres (DATABASE_URL, a `pg` pool of its own, since the
 * library's named prepared statements need a session, not a transaction pooler).
 *
 * @example
 * const { limiterFor, close } = createLimitersFromConfig(config, logger);
 */
export function createLimitersFromConfig(config: LimiterStoreConfig, logger: Logger): ConfiguredLimiters {
  if (config.RATE_LIMIT_STORE === 'redis') {
    if (!config.REDIS_URL) throw new Error('RATE_LIMIT_STORE=redis needs REDIS_URL');
    const redis = new Redis(config.REDIS_URL, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      // A Redis that accepts but stalls must not stall requests: fail over to the insurance limiter.
      commandTimeout: 500,
    });
    redis.on('error', (error) =>
      logger.warn({ err: error }, 'rate-limit redis error; insurance limiter in use'),
    );
    return {
      limiterFor: createRateLimiterFactory({ store: 'redis', redis }),
      close: async () => {
        redis.disconnect();
      },
    };
  }
  if (config.RATE_LIMIT_STORE === 'postgres') {
    if (!config.DATABASE_URL) throw new Error('RATE_LIMIT_STORE=postgres needs DATABASE_URL');
    const pgPool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 2 });
    pgPool.on('error', (error) => logger.warn({ err: error }, 'rate-limit postgres error'));
    return {
      limiterFor: createRateLimiterFactory({ store: 'postgres', pgPool }),
      close: () => pgPool.end(),
    };
  }
  return { limiterFor: createRateLimiterFactory({ store: 'memory' }), close: async () => {} };
}
