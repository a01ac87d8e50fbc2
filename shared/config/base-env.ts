import { envBool, envEnum, envInt, envOptionalString, envString, envUrl } from './env-fields.ts';

/** Settings every service shares; spread into a service's own schema. */
export const baseEnvShape = {
  /** `production` makes every service refuse public dev secrets (see envSecret). */
  NODE_ENV: envOptionalString(),
  LOG_LEVEL: envEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  /** Supabase Postgres (direct or pooler URL). Unset: embedded PGlite under DATA_DIR. */
  DATABASE_URL: envUrl(),
  /** false behind a transaction-mode pooler (Supavisor :6543), which cannot keep prepared statements. */
  DATABASE_PREPARE: envBool(true),
  DATABASE_POOL_MAX: envInt(10, { min: 1, max: 200 }),
  DATA_DIR: envString('./.data'),
  REDIS_URL: envUrl(),
  RATE_LIMIT_STORE: envEnum(['memory', 'redis', 'postgres'], 'memory'),
  /** Header name of a trusted proxy's client-IP header (e.g. x-forwarded-for); unset: the socket address. */
  TRUST_PROXY: envOptionalString(),
  BODY_LIMIT_BYTES: envInt(1024 * 1024, { min: 1024 }),
  SHUTDOWN_GRACE_MS: envInt(10_000, { min: 0 }),
  HOST: envString('0.0.0.0'),
  /** Group commit on the hot write paths (shared/db/group-commit.ts): the longest a write waits for company. */
  GROUP_COMMIT_MAX_DELAY_MS: envInt(1, { min: 0, max: 2 }),
  /** A group is flushed as soon as this many writes wait. */
  GROUP_COMMIT_MAX_BATCH: envInt(256, { min: 1, max: 10_000 }),
  /** Writes accepted and not yet committed beyond which requests get 503 + Retry-After. */
  GROUP_COMMIT_MAX_QUEUED: envInt(4096, { min: 1, max: 1_000_000 }),
};
