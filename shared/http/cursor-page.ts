import { z } from 'zod';

/*
 * Keyset pagination on (created_at, id), newest first. The cursor is opaque to callers: base64url of
 * the last row's exact created_at (ISO text with microseconds, formatted by Postgres: a JS Date would
 * drop the microseconds and repeat or skip rows) and id. Every table listed has uuid ids.
 */

/** Where the next page starts: strictly older than this row. */
export interface PageCursor {
  createdAt: string;
  id: string;
}

export const MAX_PAGE_LIMIT = 100;
export const DEFAULT_PAGE_LIMIT = 20;

export function encodeCursor(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id])).toString('base64url');
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** null when the text is not a cursor we issued (the caller answers 400 naming `query.cursor`). */
export function decodeCursor(text: string): PageCursor | null {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(value) || value.length !== 2) return null;
    const [createdAt, id] = value as unknown[];
    if (typeof createdAt !== 'string' || typeof id !== 'string') return null;
    if (!ISO_INSTANT.test(createdAt) || Number.isNaN(Date.parse(createdAt)) || !UUID.test(id)) return null;
    return { createdAt, id };
  } catch {
    return null;
  }
}

/** `since`: an ISO 8601 date-time with an offset; rows created at or after it. */
export const SinceParam = z.iso
  .datetime({ offset: true, error: 'must be an ISO 8601 date-time, e.g. 2026-12-01T00:00:00Z' })
  .meta({ description: 'Only rows created at or after this instant (ISO 8601).' });

/** `limit` and `cursor` (parsed to a PageCursor), to spread into a list endpoint's query schema. */
export const pageQueryShape = {
  limit: z.coerce
    .number({ error: `must be an integer from 1 to ${MAX_PAGE_LIMIT}` })
    .int({ error: `must be an integer from 1 to ${MAX_PAGE_LIMIT}` })
    .min(1, { error: `must be an integer from 1 to ${MAX_PAGE_LIMIT}` })
    .max(MAX_PAGE_LIMIT, { error: `must be an integer from 1 to ${MAX_PAGE_LIMIT}` })
    .default(DEFAULT_PAGE_LIMIT)
    .meta({ description: `Items per page (default ${DEFAULT_PAGE_LIMIT}, at most ${MAX_PAGE_LIMIT}).` }),
  cursor: z
    .string()
    .max(512)
    .transform((text, ctx) => {
      const cursor = decodeCursor(text);
      if (!cursor) ctx.addIssue({ code: 'custom', message: 'is not a cursor this endpoint issued' });
      return cursor ?? z.NEVER;
    })
    .optional()
    .meta({ description: 'The `nextCursor` of the previous page; omit for the first page.' }),
};

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * A page from rows fetched with `limit + 1`: the extra row only says there is a next page.
 *
 * @example
 * const { cursor, limit, ...filters } = parseInput(ListCallsQuery, c.req.query(), 'query');
 * const rows = await store.listCalls({ ...filters, before: cursor, limit: limit + 1 });
 * return c.json(pageOf(rows, limit, (r) => ({ createdAt: r.cursorAt, id: r.id }), callView));
 */
export function pageOf<R, T>(
  rows: R[],
  limit: number,
  cursorOf: (row: R) => PageCursor,
  view: (row: R) => T,
): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map(view),
    nextCursor: rows.length > limit && last ? encodeCursor(cursorOf(last)) : null,
  };
}
