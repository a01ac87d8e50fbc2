import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Database, Sql } from './database.ts';

/** Supabase CLI layout: `<timestamp>_<name>.sql`, applied in name order. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../supabase/migrations/', import.meta.url));

const MIGRATION_FILE = /^(\d{14})_([\w-]+)\.sql$/;

export interface Migration {
  version: string;
  /** The file name, e.g. `20261123000100_whatsapp.sql`. */
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
 * Where the migration history lives. By default the Supabase CLI's own table,
 * `supabase_migrations.schema_migrations`, so `supabase db push` and `npm run db:migrate` each see what the
 * other applied. A database scoped to a schema (tests: one schema per file) keeps its history beside its
 * tables, in `<schema>.schema_migrations` with the same columns, so schemas never share one history.
 */
export function migrationHistoryTable(db: Pick<Database, 'schema'>): string {
  return db.schema
    ? `${quoteIdentifier(db.schema)}.schema_migrations`
    : 'supabase_migrations.schema_migrations';
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Applies every migration not yet in the history, each in its own transaction, and returns the file names
 * applied. Safe to run from several processes at once: every step, creating the history table included,
 * runs under one advisory lock per history table; the check under it makes the later process skip.
 *
 * The history rows use the CLI's format: `version` (the timestamp), `name` (the part after it, without
 * `.sql`) and `statements` (we store the whole file as one element: the CLI only compares versions).
 *
 * @example
 * const applied = await migrate(db);
 */
export async function migrate(db: Database, dir = MIGRATIONS_DIR): Promise<string[]> {
  const history = migrationHistoryTable(db);
  const lock = `select pg_advisory_xact_lock(hashtext('easymo_migrations:' || $1))`;
  const lockKey = db.schema ?? 'supabase_migrations';
  await db
    .transaction(async (tx) => {
      await tx.query(lock, [lockKey]);
      await createHistoryTable(tx, db.schema);
    })
    .catch((error: unknown) => {
      throw new Error(`migration history ${history} could not be created: ${(error as Error).message}`);
    });
  const applied: string[] = [];
  for (const migration of await readMigrations(dir)) {
    // One transaction per migration: a failing one leaves nothing half-applied.
    await db
      .transaction(async (tx) => {
        await tx.query(lock, [lockKey]);
        const rows = await tx.query(`select 1 from ${history} where version = $1`, [migration.version]);
        if (rows.length > 0) return;
        await tx.execScript(migration.sql);
        await tx.query(`insert into ${history} (version, name, statements) values ($1, $2, $3)`, [
          migration.version,
          migration.name.match(MIGRATION_FILE)?.[2] ?? migration.name,
          [migration.sql],
        ]);
        applied.push(migration.name);
      })
      .catch((error: unknown) => {
        throw new Error(`migration ${migration.name} failed: ${(error as Error).message}`);
      });
  }
  return applied;
}

async function createHistoryTable(tx: Sql, schema: string | undefined): Promise<void> {
  if (schema) {
    const table = `${quoteIdentifier(schema)}.schema_migrations`;
    await tx.query(
      `create table if not exists ${table} (version text not null primary key, statements text[], name text)`,
    );
    // Beside the service's tables, where the API could reach it: owner only, like every table there.
    await tx.query(`alter table ${table} enable row level security`);
    return;
  }
  // What the Supabase CLI itself creates (and adds to older histories), so either tool reads the other's.
  await tx.query('create schema if not exists supabase_migrations');
  await tx.query(
    'create table if not exists supabase_migrations.schema_migrations (version text not null primary key)',
  );
  await tx.query(
    'alter table supabase_migrations.schema_migrations add column if not exists statements text[]',
  );
  await tx.query('alter table supabase_migrations.schema_migrations add column if not exists name text');
  // Databases migrated before the history moved: carry their versions over, so nothing is applied twice.
  const [legacy] = await tx.query<{ exists: boolean }>(
    `select exists (select 1 from information_schema.columns
                     where table_schema = 'public' and table_name = 'schema_migrations'
                       and column_name = 'applied_at') as exists`,
  );
  if (legacy?.exists) {
    await tx.query(
      `insert into supabase_migrations.schema_migrations (version, name)
       select version, regexp_replace(name, '^\\d{14}_|\\.sql$', '', 'g') from public.schema_migrations
       on conflict (version) do nothing`,
    );
  }
}
