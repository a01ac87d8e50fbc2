import { join } from 'node:path';
import type { Database } from './database.ts';
import { migrate } from './migrate.ts';
import { fromPostgresJs } from './postgres-adapter.ts';

export interface OpenDatabaseOptions {
  /** A Postgres URL (Supabase direct or pooler). Without it: embedded PGlite. */
  url?: string;
  /** PGlite data directory root; the database lives in `<dataDir>/pgdata`. Omitted: in memory. */
  dataDir?: string;
  prepare?: boolean;
  max?: number;
  schema?: string;
  /** Apply pending migrations after opening (always on for the embedded database). */
  migrate?: boolean;
}

/** The database settings every service reads from its environment (see baseEnvShape). */
export interface DatabaseEnv {
  DATABASE_URL?: string;
  DATABASE_PREPARE: boolean;
  DATABASE_POOL_MAX: number;
  DATA_DIR: string;
}

/** How a service's group-commit writers batch (see baseEnvShape). */
export interface GroupCommitSettings {
  maxDelayMs: number;
  maxBatch: number;
  maxQueued: number;
}

export function groupCommitSettings(env: {
  GROUP_COMMIT_MAX_DELAY_MS: number;
  GROUP_COMMIT_MAX_BATCH: number;
  GROUP_COMMIT_MAX_QUEUED: number;
}): GroupCommitSettings {
  return {
    maxDelayMs: env.GROUP_COMMIT_MAX_DELAY_MS,
    maxBatch: env.GROUP_COMMIT_MAX_BATCH,
    maxQueued: env.GROUP_COMMIT_MAX_QUEUED,
  };
}

/**
 * A service's database options from its environment: the server at DATABASE_URL, or its own embedded
 * database under DATA_DIR/<service>.
 *
 * @example
 * const db = await openDatabase(serviceDatabaseOptions(config, 'voice-bridge'));
 */
export function serviceDatabaseOptions(env: DatabaseEnv, service: string): OpenDatabaseOptions {
  return {
    url: env.DATABASE_URL,
    dataDir: join(env.DATA_DIR, service),
    prepare: env.DATABASE_PREPARE,
    max: env.DATABASE_POOL_MAX,
  };
}

// Loaded only when used, so a process on a server database (or an edge function) never loads PGlite.
async function openEmbedded(dataDir?: string): Promise<Database> {
  const { fromPglite, openPglite } = await import('./pglite-adapter.ts');
  return fromPglite(await openPglite(dataDir ? join(dataDir, 'pgdata') : undefined));
}

/**
 * @example
 * const db = await openDatabase({ url: config.DATABASE_URL, dataDir: `${config.DATA_DIR}/voice-bridge` });
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const db = options.url
    ? fromPostgresJs({ url: options.url, prepare: options.prepare, max: options.max, schema: options.schema })
    : await openEmbedded(options.dataDir);
  if (options.migrate || db.kind === 'pglite') await migrate(db);
  return db;
}
