import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { fromPostgresJs, readMigrations } from '../../../../shared/db/index.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const SUPABASE_CLI = `${ROOT}node_modules/.bin/supabase`;
const url = process.env.DATABASE_URL;

/** The real Supabase CLI (npm package `supabase`, pinned) pushing supabase/migrations. */
async function supabaseDbPush(dbUrl: string): Promise<string> {
  const { stdout, stderr } = await run(
    SUPABASE_CLI,
    ['db', 'push', '--db-url', `${dbUrl}?sslmode=disable`, '--yes', '--workdir', ROOT],
    {
      cwd: ROOT,
      timeout: 60_000,
      env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
    },
  );
  return stdout + stderr;
}

/** `npm run db:migrate` as a process of its own. */
async function dbMigrate(dbUrl: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['scripts/db-migrate.ts'], {
    cwd: ROOT,
    timeout: 60_000,
    env: { ...process.env, DATABASE_URL: dbUrl },
  });
  return stdout;
}

// Each case gets a scratch database of its own on the server (created and dropped here): the CLI and the
// runner share the default history, `supabase_migrations.schema_migrations`, which is per database.
describe.skipIf(!url)('migrations and the Supabase CLI share one history (PostgreSQL)', () => {
  const created: string[] = [];
  const admin = () => fromPostgresJs({ url: url as string, max: 1 });

  async function scratchDatabase(): Promise<string> {
    const name = `easymo_migrations_${randomBytes(5).toString('hex')}`;
    const db = admin();
    await db.query(`create database ${name}`);
    await db.close();
    created.push(name);
    const target = new URL(url as string);
    target.pathname = `/${name}`;
    target.search = '';
    return target.toString();
  }

  async function history(dbUrl: string) {
    const db = fromPostgresJs({ url: dbUrl, max: 1 });
    try {
      return await db.query<{ version: string; name: string; statements: number }>(
        `select version, name, coalesce(array_length(statements, 1), 0) as statements
           from supabase_migrations.schema_migrations order by version`,
      );
    } finally {
      await db.close();
    }
  }

  afterEach(async () => {
    const db = admin();
    for (const name of created.splice(0)) await db.query(`drop database if exists ${name} with (force)`);
    await db.close();
  });

  it('db:migrate after supabase db push applies nothing', async () => {
    const dbUrl = await scratchDatabase();
    expect(await supabaseDbPush(dbUrl)).toMatch(/Finished supabase db push/);
    const byCli = await history(dbUrl);
    expect(await dbMigrate(dbUrl)).toBe('DATABASE_URL: up to date\n');
    expect(await history(dbUrl)).toEqual(byCli);
    const files = await readMigrations();
    expect(byCli.map((row) => row.version)).toEqual(files.map((file) => file.version));
  }, 120_000);

  it('supabase db push after db:migrate applies nothing', async () => {
    const dbUrl = await scratchDatabase();
    expect(await dbMigrate(dbUrl)).toMatch(/^DATABASE_URL: applied /);
    const ours = await history(dbUrl);
    // The CLI's own format: the version, the name after it, the statements.
    const files = await readMigrations();
    expect(ours.map((row) => [row.version, row.name])).toEqual(
      files.map((file) => [file.version, file.name.replace(/^\d{14}_|\.sql$/g, '')]),
    );
    expect(ours.every((row) => row.statements >= 1)).toBe(true);
    expect(await supabaseDbPush(dbUrl)).toMatch(/Remote database is up to date/);
    expect(await history(dbUrl)).toEqual(ours);
  }, 120_000);

  it('six migrators started at once on a fresh database all succeed with one history', async () => {
    const dbUrl = await scratchDatabase();
    const outputs = await Promise.all(Array.from({ length: 6 }, () => dbMigrate(dbUrl)));
    // Each migration is applied by exactly one of them (whichever holds the lock first for it).
    const applied = outputs.flatMap((out) =>
      out.startsWith('DATABASE_URL: applied ')
        ? out.trim().slice('DATABASE_URL: applied '.length).split(', ')
        : [],
    );
    const files = await readMigrations();
    expect(applied.sort()).toEqual(files.map((file) => file.name));
    expect((await history(dbUrl)).map((row) => row.version)).toEqual(files.map((file) => file.version));
    expect(await supabaseDbPush(dbUrl)).toMatch(/Remote database is up to date/);
  }, 120_000);
});
