import type { Sql } from './database.ts';

/** A table whose rows expire: `column` is a timestamptz with a btree index (each table's `created_at`). */
export interface RetainedTable {
  table: string;
  column: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * Deletes one batch of at most `batchSize` rows older than `cutoff` and returns how many went. One short
 * statement per batch (its own transaction): locks are held briefly and the index on `column` finds the
 * oldest rows without a scan.
 *
 * @example
 * const deleted = await pruneBatch(db, { table: 'voice_call_events', column: 'created_at' }, cutoff, 1000);
 */
export async function pruneBatch(
  db: Sql,
  target: RetainedTable,
  cutoff: Date,
  batchSize: number,
): Promise<number> {
  if (!IDENTIFIER.test(target.table) || !IDENTIFIER.test(target.column)) {
    throw new Error(`not a plain identifier: ${target.table}.${target.column}`);
  }
  const rows = await db.query<{ n: number }>(
    // ctid = any(array(…)): a TID scan over exactly the rows the index found, whatever the table's key.
    `with deleted as (
       delete from ${target.table}
       where ctid = any(array(
         select ctid from ${target.table} where ${target.column} < $1 order by ${target.column} limit $2
       ))
       returning 1
     )
     select count(*)::int as n from deleted`,
    [cutoff.toISOString(), batchSize],
  );
  return rows[0]?.n ?? 0;
}
