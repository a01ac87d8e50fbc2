import type { Database } from '../../../shared/db/index.ts';
import { fromPostgresJs } from '../../../shared/db/index.ts';
import { createMetrics, type Logger, type ServiceMetrics } from '../../../shared/observability/index.ts';
import {
  type BreakerRegistry,
  createBreakerRegistry,
  createLimitersFromConfig,
  type RateLimiterFactory,
  type RateLimitStore,
} from '../../../shared/resilience/index.ts';
import { requireDatabaseUrl } from './edge-env.ts';
import { createEdgeLogger } from './edge-logger.ts';

/** The base settings every service schema carries (`baseEnvShape`), as far as the edge uses them. */
export interface EdgePlatformConfig {
  LOG_LEVEL: string;
  DATABASE_URL?: string;
  DATABASE_PREPARE: boolean;
  DATABASE_POOL_MAX: number;
  RATE_LIMIT_STORE: RateLimitStore;
  REDIS_URL?: string;
}

/** What every service's deps are built from on the edge, and how to let go of it. */
export interface EdgePlatform {
  logger: Logger;
  metrics: ServiceMetrics;
  db: Database;
  breakers: BreakerRegistry;
  limiterFor: RateLimiterFactory;
  close(): Promise<void>;
}

export interface EdgePlatformOptions {
  /** Where `BREAKER_<NAME>_*` overrides are read; defaults to the isolate's environment. */
  env?: Record<string, string | undefined>;
  /** A Postgres schema to run in (search_path), as a service's own config may ask (VIDEO_DB_SCHEMA). */
  schema?: string;
}

/**
 * The same building blocks a Node `main.ts` makes, for an isolate: logs through console, metrics without
 * process collectors (an isolate is not a process), and always a Postgres server — never the embedded
 * PGlite, and no migrations at boot (apply them with `supabase db push`). Nothing connects until the
 * first query.
 *
 * @example
 * const platform = openEdgePlatform('voice-bridge', config, { env });
 */
export function openEdgePlatform(
  service: string,
  config: EdgePlatformConfig,
  options: EdgePlatformOptions = {},
): EdgePlatform {
  const url = requireDatabaseUrl(service, config.DATABASE_URL);
  const logger = createEdgeLogger(service, config.LOG_LEVEL);
  const metrics = createMetrics({ service });
  const db = fromPostgresJs({
    url,
    prepare: config.DATABASE_PREPARE,
    max: config.DATABASE_POOL_MAX,
    schema: options.schema,
  });
  const breakers = createBreakerRegistry({ logger, metrics, env: options.env });
  const limiters = createLimitersFromConfig({ ...config, DATABASE_URL: url }, logger);
  return {
    logger,
    metrics,
    db,
    breakers,
    limiterFor: limiters.limiterFor,
    close: async () => {
      breakers.shutdown();
      await limiters.close();
      await db.close();
    },
  };
}
