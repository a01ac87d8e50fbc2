import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureHttp } from '../../../bench/support/measure-http.ts';
import { createGroupCommitWriter, type Database, type Sql } from '../../../shared/db/index.ts';
import { createMetrics, observeGroupCommit } from '../../../shared/observability/index.ts';
import { createTestDatabase } from '../../support/database.ts';
import { listen, type TestServer } from '../../support/http.ts';

async function insertEvents(tx: Sql, keys: string[]): Promise<number[]> {
  const rows = await tx.query<{ k: string }>(
    'insert into bench_gc_events (k) select unnest($1::text[]) on conflict (k) do nothing returning k',
    [keys],
  );
  return keys.map(() => rows.length);
}

/** A service as the bench sees one: POST /events answered after its group commit, and its /metrics. */
function groupCommitServer(db: Database) {
  const metrics = createMetrics({ service: 'bench-stub' });
  const writer = createGroupCommitWriter({
    name: 'events',
    db,
    flush: insertEvents,
    ...observeGroupCommit(metrics),
  });
  const app = new Hono();
  app.post('/events', async (c) => {
    await writer.submit(await c.req.text());
    return c.json({ ok: true });
  });
  app.get('/metrics', async (c) => c.text(await metrics.registry.metrics()));
  return { app, writer };
}

describe('measureHttp with groupCommitMetricsUrl (PGlite by default, PostgreSQL when DATABASE_URL is set)', () => {
  let db: Database;
  let server: TestServer;
  let service: ReturnType<typeof groupCommitServer>;
  beforeAll(async () => {
    db = await createTestDatabase();
    await db.query('create table bench_gc_events (k text primary key)');
    service = groupCommitServer(db);
    server = await listen(service.app);
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  const stored = async () =>
    (await db.query<{ n: number }>('select count(*)::int as n from bench_gc_events'))[0].n;

  it("reports the rows the service's writer flushed in the measured seconds, and how it grouped them", async () => {
    let n = 0;
    const connections = 8;
    const nextRequest = () => {
      const key = `event-${n++}`;
      return { method: 'POST' as const, path: '/events', body: key, key };
    };
    const { figures, acknowledgedKeys } = await measureHttp({
      url: server.url,
      connections,
      durationSeconds: 1,
      warmUpSeconds: 1,
      nextRequest,
      groupCommitMetricsUrl: `${server.url}/metrics`,
    });
    await service.writer.drain();
    const events = figures.groupCommit?.events;
    expect(events, JSON.stringify(figures.groupCommit)).toBeDefined();
    if (!events) return;
    // Every measured answer came after its row's flush, which began after the first scrape; beyond them,
    // only requests of the warm-up's last moment or cut at the end may have flushed in between.
    expect(figures.non2xx).toBe(0);
    expect(events.items).toBeGreaterThanOrEqual(figures.requests);
    expect(events.items).toBeLessThanOrEqual(figures.requests + 2 * connections);
    // Fewer rows than the whole run stored: the warm-up's are not in the figures.
    expect(events.items).toBeLessThan(await stored());
    expect(acknowledgedKeys.length).toBeLessThanOrEqual(await stored());
    expect(events.flushes).toBeGreaterThan(0);
    expect(events.flushes).toBeLessThanOrEqual(events.items);
    expect(events.meanBatch).toBeCloseTo(events.items / events.flushes, 1);
    expect(events.meanFlushMs).toBeGreaterThan(0);
  });

  it('reports nothing of group commit when no metrics URL is given', async () => {
    let n = 0;
    const { figures } = await measureHttp({
      url: server.url,
      connections: 2,
      durationSeconds: 1,
      warmUpSeconds: 0,
      nextRequest: () => ({ method: 'POST', path: '/events', body: `plain-${n++}` }),
    });
    expect(figures.requests).toBeGreaterThan(0);
    expect(figures.groupCommit).toBeUndefined();
  });
});
