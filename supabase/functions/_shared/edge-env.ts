import { ConfigError } from '../../../shared/config/index.ts';

export type EnvRecord = Record<string, string | undefined>;

const isBlank = (value: string | undefined) => value === undefined || value.trim() === '';

/**
 * The environment an edge function reads its settings from: the isolate's variables plus the edge's
 * own defaults, so the same config schema as on Node applies unchanged.
 *
 * - `DATABASE_URL` falls back to `SUPABASE_DB_URL`, which Supabase sets in every function (an explicit
 *   `DATABASE_URL`, e.g. the transaction pooler on :6543, wins).
 * - `DATABASE_PREPARE` defaults to `false`: many short-lived isolates should share Supavisor's
 *   transaction mode, which cannot keep named prepared statements. Set it to `true` only for a
 *   direct or session-mode URL.
 * - `DATABASE_POOL_MAX` defaults to 3: each isolate holds its own pool, and there may be many.
 * - `DATA_DIR` defaults to `/tmp`, the only place an isolate may write (ephemeral, per isolate).
 *
 * @example
 * const config = loadConfig('voice-bridge', VoiceEnvSchema, edgeEnv());
 */
export function edgeEnv(source: EnvRecord = Deno.env.toObject()): EnvRecord {
  const env: EnvRecord = { ...source };
  if (isBlank(env.DATABASE_URL) && !isBlank(env.SUPABASE_DB_URL)) env.DATABASE_URL = env.SUPABASE_DB_URL;
  if (isBlank(env.DATABASE_PREPARE)) env.DATABASE_PREPARE = 'false';
  if (isBlank(env.DATABASE_POOL_MAX)) env.DATABASE_POOL_MAX = '3';
  if (isBlank(env.DATA_DIR)) env.DATA_DIR = '/tmp';
  return env;
}

/**
 * The database URL, or a ConfigError: an edge isolate has no disk to keep an embedded database on, so
 * unlike on Node there is no PGlite fallback.
 */
export function requireDatabaseUrl(service: string, url: string | undefined): string {
  if (url) return url;
  throw new ConfigError(service, [
    {
      variable: 'DATABASE_URL',
      reason: 'required on the edge (no embedded database); set it, or SUPABASE_DB_URL must be present',
    },
  ]);
}
