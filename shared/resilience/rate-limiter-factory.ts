import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { ProblemError } from '../http/problem.ts';
import type { ServiceMetrics } from '../observability/metrics.ts';
import { tooManyRequests } from './rate-limit-response.ts';

/** What a limiter needs to know; a middleware policy adds how to key a request. */
export interface LimiterPolicy {
  /** Unique per service; part of the store key and the `policy` metric label. */
  name: string;
  /** Requests allowed per window. */
  points: number;
  /** Window length in seconds. */
  duration: number;
  /** Seconds a key stays rejected once it exceeded `points` (brute-force guards); 0 = just the window. */
  blockDuration?: number;
}

export type RateLimitStore = 'memory' | 'redis' | 'postgres';

export interface RateLimiterFactoryOptions {
  store: RateLimitStore;
  /** Required for `store: 'redis'`. */
  redis?: Redis;
  /**
   * Required for `store: 'postgres'`. The library uses named prepared statements, so connect it
   * directly or through a session-mode pooler, not a transaction-mode one (Supavisor :6543).
   */
  pgPool?: Pool;
  /** Prepended to every key so services sharing one Redis or table never collide; default `rl`. */
  prefix?: string;
  /** Postgres: the one table every policy shares (created on first use); default `rate_limits`. */
  tableName?: string;
  /** Postgres: schema of that table; default the connection's search_path (normally `public`). */
  schemaName?: string;
}

export interface RateLimiterFactory {
  /** The limiter for `policy`; asking twice for the same name returns the same limiter. */
  (policy: LimiterPolicy): RateLimiterAbstract;
  /**
   * Resolves once every limiter made so far can use its store (Postgres: table created and RLS on).
   * Rejects with the cause otherwise; limiting still works meanwhile through the in-memory insurance.
   */
  ready(): Promise<void>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function assertIdentifier(what: string, value: string | undefined): void {
  if (value !== undefined && !IDENTIFIER.test(value))
    throw new Error(`${what} "${value}" is not a plain SQL identifier`);
}

function assertPolicy(policy: LimiterPolicy): void {
  if (!policy.name) throw new Error('rate-limit policy needs a name');
  if (!Number.isInteger(policy.points) || policy.points < 1) {
    throw new Error(`rate-limit policy "${policy.name}": points must be a positive integer`);
  }
  if (!(policy.duration > 0))
    throw new Error(`rate-limit policy "${policy.name}": duration must be > 0 seconds`);
}

function samePolicy(a: LimiterPolicy, b: LimiterPolicy): boolean {
  return (
    a.points === b.points && a.duration === b.duration && (a.blockDuration ?? 0) === (b.blockDuration ?? 0)
  );
}

/**
 * Builds one rate limiter per policy on the configured store (`RATE_LIMIT_STORE`). Remote stores carry an
 * in-memory insurance limiter with the same points and duration: while Redis or Postgres fails, each
 * process keeps limiting on its own (never a 500, never unlimited) and goes back to the shared store as
 * soon as it answers again.
 *
 * @example
 * const limiterFor = createRateLimiterFactory({ store: 'redis', redis: new Redis(config.REDIS_URL) });
 * const login = limiterFor({ name: 'login', points: 5, duration: 60, blockDuration: 300 });
 */
export function createRateLimiterFactory(options: RateLimiterFactoryOptions): RateLimiterFactory {
  const { store, redis, pgPool } = options;
  const prefix = options.prefix ?? 'rl';
  const tableName = options.tableName ?? 'rate_limits';
  assertIdentifier('tableName', tableName);
  assertIdentifier('schemaName', options.schemaName);
  if (store === 'redis' && !redis) throw new Error('RATE_LIMIT_STORE=redis needs a Redis client');
  if (store === 'postgres' && !pgPool) throw new Error('RATE_LIMIT_STORE=postgres needs a pg Pool');

  const limiters = new Map<string, { policy: LimiterPolicy; limiter: RateLimiterAbstract }>();
  const pending: Promise<void>[] = [];
  let rowSecurity: Promise<void> | undefined;

  // The library creates its table but knows nothing of Supabase: a table in an API-exposed schema
  // without RLS would be readable and writable with the anon key. RLS with no policy shuts that door;
  // the table owner and service_role bypass it.
  const enableRowSecurity = (): Promise<void> => {
    const table = options.schemaName ? `"${options.schemaName}"."${tableName}"` : `"${tableName}"`;
    rowSecurity ??= pgPool!
      .query<{ enabled: boolean }>(
        'SELECT relrowsecurity AS enabled FROM pg_class WHERE oid = to_regclass($1)',
        [table],
      )
      .then(async ({ rows }) => {
        if (!rows[0]?.enabled) await pgPool!.query(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      })
      .catch((error: unknown) => {
        rowSecurity = undefined; // let the next limiter try again
        throw error;
      });
    return rowSecurity;
  };

  const build = (policy: LimiterPolicy): RateLimiterAbstract => {
    const base = {
      keyPrefix: `${prefix}:${policy.name}`,
      points: policy.points,
      duration: policy.duration,
      blockDuration: policy.blockDuration ?? 0,
    };
    if (store === 'memory') return new RateLimiterMemory(base);
    const insuranceLimiter = new RateLimiterMemory(base);
    if (store === 'redis') {
      // ioredis is the library's default client (useRedisPackage is for node-redis v4+). Not-ready
      // rejects at once so a dead Redis costs no request a timeout: insurance answers instead.
      return new RateLimiterRedis({
        ...base,
        storeClient: redis,
        useRedisPackage: false,
        rejectIfRedisNotReady: true,
        insuranceLimiter,
      });
    }
    let settle!: (error?: unknown) => void;
    const created = new Promise<void>((resolve, reject) => {
      settle = (error) => (error ? reject(error) : resolve());
    });
    const limiter = new RateLimiterPostgres(
      {
        ...base,
        storeClient: pgPool,
        storeType: 'pool', // a pg.Pool: query() per statement, nothing to release
        tableName,
        schemaName: options.schemaName,
        // One sweeper of expired rows per table is enough.
        clearExpiredByTimeout: pending.length === 0,
        insuranceLimiter,
      },
      // Table creation is async; until it finishes, consumes go to the insurance limiter. Two processes
      // creating the table at once: `create table if not exists` still lets one of them fail (42P07,
      // 42710 for its row type, or 23505 on pg_type); the table is there, so that one uses it too
      // instead of insurance for good.
      (error?: unknown) => {
        const code = (error as { code?: string } | undefined)?.code;
        if (code === '42P07' || code === '42710' || code === '23505') {
          (limiter as unknown as { tableCreated: boolean }).tableCreated = true; // a public setter its typings omit
          settle();
        } else settle(error);
      },
    );
    const ready = created.then(enableRowSecurity);
    ready.catch(() => {}); // surfaced through ready(); meanwhile insurance limits
    pending.push(ready);
    return limiter;
  };

  const limiterFor = (policy: LimiterPolicy): RateLimiterAbstract => {
    assertPolicy(policy);
    const existing = limiters.get(policy.name);
    if (existing) {
      if (!samePolicy(existing.policy, policy)) {
        throw new Error(`rate-limit policy "${policy.name}" already exists with other limits`);
      }
      return existing.limiter;
    }
    const limiter = build(policy);
    limiters.set(policy.name, { policy, limiter });
    return limiter;
  };

  return Object.assign(limiterFor, {
    ready: async () => {
      await Promise.all(pending);
    },
  });
}

/** A consume that was refused (the library rejects with a RateLimiterRes) rather than a store error. */
export function isRateLimiterRes(value: unknown): value is RateLimiterRes {
  return (
    value instanceof RateLimiterRes ||
    (typeof value === 'object' && value !== null && !(value instanceof Error) && 'msBeforeNext' in value)
  );
}

export interface ConsumeOrThrowOptions {
  /** Points this attempt costs; default 1. */
  points?: number;
  /** When given, a rejection increments `rateLimitRejections{policy}`. */
  metrics?: Pick<ServiceMetrics, 'rateLimitRejections'>;
}

/**
 * Consumes from `limiter` outside a middleware (e.g. count failed webhook signatures per IP) and throws a
 * 429 `ProblemError` (with `Retry-After` and `retryAfter`) once the key is over its limit.
 *
 * @example
 * if (!valid) {
 *   await consumeOrThrow(signatureFailures, clientIp(c, trustProxy), 'webhook-signature', { metrics });
 *   throw new ProblemError({ status: 401, title: 'Unauthorized', detail: 'bad signature' });
 * }
 */
export async function consumeOrThrow(
  limiter: RateLimiterAbstract,
  key: string,
  policyName: string,
  options: ConsumeOrThrowOptions = {},
): Promise<RateLimiterRes> {
  try {
    return await limiter.consume(key, options.points ?? 1);
  } catch (error) {
    if (!isRateLimiterRes(error)) throw error;
    options.metrics?.rateLimitRejections.inc({ policy: policyName });
    throw new ProblemError(tooManyRequests(policyName, limiter.points, error));
  }
}
