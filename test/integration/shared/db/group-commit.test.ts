import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createGroupCommitWriter,
  type Database,
  type FlushReport,
  type Sql,
  WriterOverloadedError,
} from '../../../../shared/db/index.ts';
import { createTestDatabase } from '../../../support/database.ts';

/** One multi-row statement for the whole group; each key's result says whether this item stored it. */
async function insertItems(
  tx: Sql,
  items: { k: string; v: number }[],
): Promise<('inserted' | 'duplicate')[]> {
  const rows = await tx.query<{ k: string }>(
    `insert into gc_items (k, v) select k, v from jsonb_to_recordset($1::jsonb) as i(k text, v int)
     on conflict (k) do nothing returning k`,
    [JSON.stringify(items)],
  );
  const stored = new Set(rows.map((r) => r.k));
  return items.map((item) => {
    if (!stored.has(item.k)) return 'duplicate';
    stored.delete(item.k); // a second item with the same key in this group is the duplicate
    return 'inserted';
  });
}

function deferred() {
  let open: () => void = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe('group-commit writer (PGlite by default, PostgreSQL when DATABASE_URL is set)', () => {
  let db: Database;
  beforeAll(async () => {
    db = await createTestDatabase();
    await db.query('create table gc_items (k text primary key, v int not null)');
  });
  afterAll(async () => {
    await db.close();
  });

  const count = async (prefix: string) => {
    const [row] = await db.query<{ n: number }>('select count(*)::int as n from gc_items where k like $1', [
      `${prefix}%`,
    ]);
    return row.n;
  };

  it('writes concurrent callers in few transactions and answers each with its own result after commit', async () => {
    const reports: FlushReport[] = [];
    const writer = createGroupCommitWriter({
      name: 'items',
      db,
      flush: insertItems,
      onFlush: (r) => reports.push(r),
    });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        writer.submit({ k: `a${i % 150}`, v: i }).then(async (result) => {
          // Resolved only after COMMIT: any other statement sees the row now.
          const [row] = await db.query<{ n: number }>(
            'select count(*)::int as n from gc_items where k = $1',
            [`a${i % 150}`],
          );
          return { result, visible: row.n };
        }),
      ),
    );
    expect(results.every((r) => r.visible === 1)).toBe(true);
    // 150 distinct keys: the first caller of each key stored it, the 50 repeats are duplicates.
    expect(results.filter((r) => r.result === 'inserted')).toHaveLength(150);
    expect(results.slice(0, 150).every((r) => r.result === 'inserted')).toBe(true);
    expect(results.slice(150).every((r) => r.result === 'duplicate')).toBe(true);
    expect(await count('a')).toBe(150);
    expect(reports.reduce((n, r) => n + r.items, 0)).toBe(200);
    expect(reports.length).toBeLessThan(200);
    expect(reports.every((r) => r.ok)).toBe(true);
    expect(writer.depth).toBe(0);
  });

  it('never puts more than maxBatch items in one transaction', async () => {
    const reports: FlushReport[] = [];
    const writer = createGroupCommitWriter({
      name: 'items',
      db,
      flush: insertItems,
      maxBatch: 8,
      onFlush: (r) => reports.push(r),
    });
    await Promise.all(Array.from({ length: 50 }, (_, i) => writer.submit({ k: `b${i}`, v: i })));
    expect(Math.max(...reports.map((r) => r.items))).toBeLessThanOrEqual(8);
    expect(await count('b')).toBe(50);
  });

  it('fails every caller of a failed flush and stores none of them', async () => {
    const gate = deferred();
    let flushes = 0;
    const writer = createGroupCommitWriter({
      name: 'items',
      db,
      flush: async (tx, items: { k: string; v: number | null }[]) => {
        flushes += 1;
        if (flushes === 1) await gate.promise; // holds the first group so the next three gather into one
        return insertItems(tx, items as { k: string; v: number }[]);
      },
    });
    const first = writer.submit({ k: 'c0', v: 0 });
    const group = Promise.allSettled([
      writer.submit({ k: 'c1', v: 1 }),
      writer.submit({ k: 'c2', v: null }), // violates NOT NULL: the whole group's statement fails
      writer.submit({ k: 'c3', v: 3 }),
    ]);
    gate.open();
    await expect(first).resolves.toBe('inserted');
    const settled = await group;
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(await count('c')).toBe(1);
  });

  it('refuses with WriterOverloadedError once maxQueued writes wait, and accepts again after the flush', async () => {
    const gate = deferred();
    let rejected = 0;
    const writer = createGroupCommitWriter({
      name: 'slow',
      db,
      maxQueued: 5,
      onReject: () => {
        rejected += 1;
      },
      flush: async (tx, items: { k: string; v: number }[]) => {
        await gate.promise;
        return insertItems(tx, items);
      },
    });
    const accepted = Array.from({ length: 5 }, (_, i) => writer.submit({ k: `d${i}`, v: i }));
    const refused = await writer.submit({ k: 'd-over', v: 0 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(WriterOverloadedError);
    expect((refused as WriterOverloadedError).retryAfterSeconds).toBeGreaterThan(0);
    expect(rejected).toBe(1);
    expect(writer.depth).toBe(5);
    gate.open();
    expect(await Promise.all(accepted)).toEqual(Array(5).fill('inserted'));
    await expect(writer.submit({ k: 'd-after', v: 0 })).resolves.toBe('inserted');
    expect(await count('d')).toBe(6);
  });

  it('writes a group again when PostgreSQL aborts it as a deadlock victim', async () => {
    let attempts = 0;
    const writer = createGroupCommitWriter({
      name: 'victim',
      db,
      flush: async (tx, items: { k: string; v: number }[]) => {
        const results = await insertItems(tx, items);
        attempts += 1;
        if (attempts === 1) throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
        return results;
      },
    });
    await expect(writer.submit({ k: 'e1', v: 1 })).resolves.toBe('inserted');
    expect(attempts).toBe(2);
    expect(await count('e')).toBe(1);
  });

  it('drain resolves once everything accepted is committed', async () => {
    const writer = createGroupCommitWriter({ name: 'items', db, flush: insertItems });
    const pending = Array.from({ length: 20 }, (_, i) => writer.submit({ k: `f${i}`, v: i }));
    await writer.drain();
    expect(writer.depth).toBe(0);
    expect(await count('f')).toBe(20);
    await Promise.all(pending);
  });
});
