import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Database,
  migrate,
  migrationHistoryTable,
  readMigrations,
} from '../../../../shared/db/index.ts';
import { createTestDatabase } from '../../../support/database.ts';

describe('database (PGlite by default, PostgreSQL when DATABASE_URL is set)', () => {
  let db: Database;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.close();
  });

  it('records every migration once and re-running applies nothing', async () => {
    const files = await readMigrations();
    const rows = await db.query<{ version: string }>(
      `select version from ${migrationHistoryTable(db)} order by version`,
    );
    expect(rows.map((r) => r.version)).toEqual(files.map((f) => f.version));
    expect(await migrate(db)).toEqual([]);
  });

  it('runs parameterized queries with json parameters and returns dates', async () => {
    await db.query(
      'create table kv (k text primary key, v jsonb not null, at timestamptz not null default now())',
    );
    await db.query('insert into kv (k, v) values ($1, $2::jsonb)', ['a', JSON.stringify({ n: 1 })]);
    const [row] = await db.query<{ k: string; v: { n: number }; at: Date }>('select * from kv where k = $1', [
      'a',
    ]);
    expect(row.v).toEqual({ n: 1 });
    expect(row.at).toBeInstanceOf(Date);
  });

  it('rolls back a failed transaction entirely', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query('insert into kv (k, v) values ($1, $2::jsonb)', ['b', '{}']);
        await tx.query('insert into kv (k, v) values ($1, $2::jsonb)', ['b', '{}']);
      }),
    ).rejects.toThrow();
    expect(await db.query('select * from kv where k = $1', ['b'])).toHaveLength(0);
    // The connection is usable afterwards (PGlite has only one).
    expect(await db.query<{ n: number }>('select 1::int as n')).toEqual([{ n: 1 }]);
  });

  it('enables row level security on every table, with service-role access only', async () => {
    const tables = await db.query<{ relname: string; relrowsecurity: boolean }>(
      `select c.relname, c.relrowsecurity from pg_class c
         join pg_namespace n on n.oid = c.relnamespace
        where c.relkind = 'r' and n.nspname = current_schema()`,
    );
    expect(tables.length).toBeGreaterThan(0);
    for (const table of tables) {
      if (table.relname === 'kv') continue;
      expect(table.relrowsecurity, table.relname).toBe(true);
    }
    // A schema-scoped database (tests on PostgreSQL) keeps its history beside its tables.
    if (db.schema)
      expect(tables.map((t) => t.relname)).toEqual(expect.arrayContaining(['schema_migrations']));
    const policies = await db.query<{ tablename: string; roles: string[] | string }>(
      `select tablename, roles from pg_policies where schemaname = current_schema()`,
    );
    for (const table of tables) {
      if (table.relname === 'kv') continue;
      const own = policies.filter((p) => p.tablename === table.relname);
      // schema_migrations has no policy at all: nobody but the owner reads it.
      if (table.relname === 'schema_migrations') {
        expect(own, table.relname).toEqual([]);
        continue;
      }
      expect(own.length, `${table.relname} has a policy`).toBeGreaterThan(0);
      for (const policy of own) expect(String(policy.roles), table.relname).toMatch(/^\{?service_role\}?$/);
    }
    const roles = await db.query<{ rolname: string }>(
      `select rolname from pg_roles where rolname in ('anon','authenticated','service_role') order by rolname`,
    );
    expect(roles.map((r) => r.rolname)).toEqual(['anon', 'authenticated', 'service_role']);
  });

  it('lets the anon role read nothing from tables that hold rows', async () => {
    const all = await db.query<{ relname: string }>(
      `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind = 'r' and n.nspname = current_schema() and c.relname <> 'kv'`,
    );
    const tables: { relname: string }[] = [];
    for (const table of all) {
      const [row] = await db.query<{ n: number }>(`select count(*)::int as n from "${table.relname}"`);
      if (row.n > 0) tables.push(table);
    }
    if (db.schema) expect(tables.map((t) => t.relname)).toContain('schema_migrations');
    await db
      .transaction(async (tx) => {
        await tx.query(
          `grant usage on schema "${(await tx.query<{ s: string }>('select current_schema() as s'))[0].s}" to anon`,
        );
        await tx.query('set local role anon');
        for (const table of tables) {
          // Either no privilege at all or RLS filtering every row: both leave anon with nothing.
          const rows = await tx.query(`select * from "${table.relname}" limit 1`).catch(() => []);
          expect(rows, table.relname).toEqual([]);
        }
        throw new Error('rollback');
      })
      .catch((error: Error) => {
        if (error.message !== 'rollback') throw error;
      });
  });

  it('ping throws once the database is closed', async () => {
    const other = await createTestDatabase();
    await other.ping();
    await other.close();
    await expect(other.ping()).rejects.toThrow();
  });
});
