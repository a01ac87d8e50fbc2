import { randomBytes } from 'node:crypto';
import { type Database, fromPostgresJs, migrate, type Sql } from '../../shared/db/index.ts';
import { fromPglite, openPglite } from '../../shared/db/pglite-adapter.ts';

/**
 * A migrated database of its own for one test file: in-memory PGlite by default, or a fresh schema
 * on the server named by DATABASE_URL (CI), so files running in parallel never see each other's rows.
 * `close()` drops the schema.
 */
export async function createTestDatabase(): Promise<Database> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const db = fromPglite(await openPglite());
    await migrate(db);
    return db;
  }
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = fromPostgresJs({ url, max: 1 });
  await admin.query(`create schema ${schema}`);
  await admin.close();
  const db = fromPostgresJs({ url, schema, max: 5 });
  await migrate(db);
  const close = db.close;
  return {
    ...db,
    close: async () => {
      await close();
      const cleanup = fromPostgresJs({ url, max: 1 });
      await cleanup.query(`drop schema if exists ${schema} cascade`).catch(() => {});
      await cleanup.query(`drop schema if exists ${schema}_boss cascade`).catch(() => {});
      await cleanup.close();
    },
  };
}

/** A database whose every statement fails while `down` is set, as an unreachable server would. */
export function switchableDatabase(db: Database): Database & { down: boolean } {
  const fail = () =>
    Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
  const state = { down: false };
  const guard = (sql: Sql): Sql => ({
    query: (text, params) => (state.down ? fail() : sql.query(text, params)),
    execScript: (text) => (state.down ? fail() : sql.execScript(text)),
  });
  const wrapped = {
    ...db,
    ...guard(db),
    transaction: <T>(fn: (tx: Sql) => Promise<T>) =>
      state.down ? fail() : db.transaction((tx) => fn(guard(tx))),
    ping: () => (state.down ? fail() : db.ping()),
    close: () => db.close(),
  };
  return Object.defineProperty(wrapped, 'down', {
    get: () => state.down,
    set: (v: boolean) => {
      state.down = v;
    },
  }) as Database & { down: boolean };
}
