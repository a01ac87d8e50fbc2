/** What every list endpoint answers. */
export interface ListPage<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * Follows `nextCursor` to the end, calling `between` after each page (e.g. to insert rows while paging).
 * Bounded: a cursor that never ends fails the test instead of hanging it.
 */
export async function readAllPages<T>(
  fetchPage: (cursor: string | undefined) => Promise<ListPage<T>>,
  between: () => Promise<void> = async () => {},
  maxPages = 200,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let pages = 1; pages <= maxPages; pages += 1) {
    const page = await fetchPage(cursor);
    items.push(...page.items);
    if (page.nextCursor === null) return { items, pages };
    cursor = page.nextCursor;
    await between();
  }
  throw new Error(`more than ${maxPages} pages`);
}

/** Seeded rows' created_at: `groups` instants a few µs apart, `perGroup` rows sharing each (ties on created_at). */
export function seedInstants(
  groups: number,
  perGroup: number,
  start = Date.parse('2026-11-01T00:00:00Z'),
): string[] {
  const out: string[] = [];
  for (let g = 0; g < groups; g += 1) {
    // Microseconds within one millisecond: a cursor that kept only milliseconds would repeat or skip rows.
    const ms = start + Math.floor(g / 3) * 1000;
    const micros = String(100 + (g % 3) * 7).padStart(3, '0');
    const iso = new Date(ms).toISOString().replace('Z', `${micros}Z`);
    for (let r = 0; r < perGroup; r += 1) out.push(iso);
  }
  return out;
}
