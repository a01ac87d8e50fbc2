import { join } from 'node:path';
import type { Database } from './database.ts';
import { migrate } from './migrate.ts';
import { fromPglite, openPglite } from './pglite-adapter.ts';
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

/**
 * @example
 * const db = await openDatabase({ url: config.DATABASE_URL, dataDir: `${config.DATA_DIR}/voice-bridge` });
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const db = options.url
    ? fromPostgresJs({ url: options.url, prepare: options.prepare, max: options.max, schema: options.schema })
    : fromPglite(await openPglite(options.dataDir ? join(options.dataDir, 'pgdata') : undefined));
  if (options.migrate || db.kind === 'pglite') await migrate(db);
  return db;
}
