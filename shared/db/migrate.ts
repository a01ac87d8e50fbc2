import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.ts';

/** Supabase CLI layout: `<timestamp>_<name>.sql`, applied in name order. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../supabase/migrations/', import.meta.url));

const MIGRATION_FILE = /^(\d{14})_[\w-]+\.sql$/;

export interface Migration {
  version: string;
  name: string;
  sql: string;
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => MIGRATION_FILE.test(f)).sort();
  return Promise.all(
    files.map(async (name) => ({
      version: name.slice(0, 14),
      name,
      sql: await readFile(`${dir}/${name}`, 'utf8'),
    })),
  );
}

/**
 * Applies every migration not yet recorded in `schema_migrations`, each in its own transaction,
 * and returns the names applied. Safe to run from several processes at once.
 *
 * @example
 * const applied = await migrate(db);
 */
export async function migrate(db: Database, dir = MIGRATIONS_DIR): Promise<string[]> {
  await db.query(
    `create table if not exists schema_migrations (
       version text primary key,
       name text not null,
       applied_at timestamptz not null default now()
     )`,
  );
  await db.query('alter table schema_migrations enable row level security');
  const applied: string[] = [];
  for (const migration of await readMigrations(dir)) {
    // One transaction per migration: a failing one leaves nothing half-applied. The advisory lock
    // serializes processes that start at once; the check under it makes the later one skip.
    await db
      .transaction(async (tx) => {
        await tx.query(`select pg_advisory_xact_lock(hashtext('easymo_migrations:' || current_schema()))`);
        const rows = await tx.query('select 1 from schema_migrations where version = $1', [
          migration.version,
        ]);
        if (rows.length > 0) return;
        await tx.execScript(migration.sql);
        await tx.query('insert into schema_migrations (version, name) values ($1, $2)', [
          migration.version,
          migration.name,
        ]);
        applied.push(migration.name);
      })
      .catch((error: unknown) => {
        throw new Error(`migration ${migration.name} failed: ${(error as Error).message}`);
      });
  }
  return applied;
}
