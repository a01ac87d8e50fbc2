import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodeCursor, encodeCursor, pageOf, pageQueryShape } from '../../../../shared/http/index.ts';

const id = '2f1c9a44-3b7e-4f0a-9d1e-5c6b7a8d9e0f';

describe('cursor pages', () => {
  it('round-trips a cursor with microseconds and refuses anything it did not issue', () => {
    const cursor = { createdAt: '2026-12-01T10:00:00.123456Z', id };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
    for (const bad of [
      'garbage',
      Buffer.from('[1,2]').toString('base64url'),
      Buffer.from(JSON.stringify(['2026-12-01T10:00:00Z', 'not-a-uuid'])).toString('base64url'),
      Buffer.from(JSON.stringify(['yesterday', id])).toString('base64url'),
      Buffer.from(JSON.stringify(["2026-12-01T10:00:00Z'; drop table x; --", id])).toString('base64url'),
    ]) {
      expect(decodeCursor(bad), bad).toBeNull();
    }
  });

  it('parses limit (default, bounds) and cursor into a PageCursor', () => {
    const Query = z.strictObject(pageQueryShape);
    expect(Query.parse({})).toEqual({ limit: 20 });
    expect(Query.parse({ limit: '100' }).limit).toBe(100);
    for (const limit of ['0', '101', '2.5', 'ten']) expect(Query.safeParse({ limit }).success).toBe(false);
    const cursor = encodeCursor({ createdAt: '2026-12-01T10:00:00.000001Z', id });
    expect(Query.parse({ cursor }).cursor).toEqual({ createdAt: '2026-12-01T10:00:00.000001Z', id });
    const bad = Query.safeParse({ cursor: 'nope' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0].path).toEqual(['cursor']);
  });

  it('pages from limit + 1 rows: a next cursor only when there is a next page', () => {
    const rows = [1, 2, 3].map((n) => ({ n, at: `2026-12-01T10:00:0${n}.000000Z`, id }));
    const cursorOf = (r: (typeof rows)[number]) => ({ createdAt: r.at, id: r.id });
    const view = (r: (typeof rows)[number]) => r.n;
    const first = pageOf(rows, 2, cursorOf, view);
    expect(first.items).toEqual([1, 2]);
    expect(decodeCursor(first.nextCursor!)).toEqual({ createdAt: rows[1].at, id });
    expect(pageOf(rows.slice(0, 2), 2, cursorOf, view)).toEqual({ items: [1, 2], nextCursor: null });
    expect(pageOf([], 2, cursorOf, view)).toEqual({ items: [], nextCursor: null });
  });
});
