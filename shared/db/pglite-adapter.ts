import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import type { Database, Sql } from './database.ts';

/**
 * Opens an embedded PGlite: persisted under `dataDir`, or in memory when it is omitted.
 *
 * @example
 * const pglite = await openPglite('./.data/voice-bridge/pgdata');
 */
export async function openPglite(dataDir?: string): Promise<PGlite> {
  if (dataDir) await mkdir(dataDir, { recursive: true });
  return PGlite.create(dataDir);
}

/**
 * A Database over one PGlite instance. PGlite is a single connection: it runs one statement at a
 * time and holds every other caller while a transaction is open, so access is serialized for us —
 * which is also why code inside `transaction` must use its `tx`, never the outer database (that
 * would wait for the transaction it is part of).
 */
export function fromPglite(pglite: PGlite): Database {
  let closed = false;
  const run = async <T>(
    client: Pick<PGlite, 'query'>,
    text: string,
    params: unknown[] = [],
  ): Promise<T[]> => {
    if (closed) throw new Error('database is closed');
    const result = await client.query<T>(text, params);
    return result.rows;
  };
  return {
    kind: 'pglite',
    pglite,
    query: (text, params) => run(pglite, text, params),
    transaction: async (fn) => {
      if (closed) throw new Error('database is closed');
      return pglite.transaction(async (tx) => {
        const scoped: Sql = {
          query: (text, params) => run(tx, text, params),
          execScript: async (text) => {
            await tx.exec(text);
          },
        };
        return fn(scoped);
      });
    },
    execScript: async (text) => {
      if (closed) throw new Error('database is closed');
      await pglite.exec(text);
    },
    ping: async () => {
      await run(pglite, 'select 1');
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await pglite.close();
    },
  };
}
