import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Database, fromPostgresJs } from '../../../../shared/db/index.ts';
import {
  createService,
  ProblemError,
  readJsonBody,
  requestIdOf,
  requestLogger,
  requireBearer,
  serveNode,
} from '../../../../shared/http/index.ts';
import { createLogger } from '../../../../shared/observability/logger.ts';
import { createMetrics } from '../../../../shared/observability/metrics.ts';
import { createTestDatabase } from '../../../support/database.ts';
import { closedPort, listen, type TestServer } from '../../../support/http.ts';
import { sampleValue } from '../../../support/metrics-text.ts';

const logger = createLogger({ service: 'kit-test', level: 'silent' });

describe('createService over a real socket', () => {
  let db: Database;
  let server: TestServer;
  let databaseDown = false;
  const metrics = createMetrics({ service: 'kit-test' });

  beforeAll(async () => {
    db = await createTestDatabase();
    const flakyDb: Database = {
      ...db,
      ping: async () => {
        if (databaseDown) throw new Error('connection refused');
        await db.ping();
      },
    };
    const app = createService({
      name: 'kit-test',
      db: flakyDb,
      logger,
      metrics,
      bodyLimitBytes: 1024,
      breakers: { states: () => ({ graph: 'closed' }) },
    });
    app.post('/echo', requireBearer('s3cret'), async (c) => {
      const body = await readJsonBody(
        c,
        z.object({ to: z.string().regex(/^\+\d{8,15}$/), n: z.number().int() }),
      );
      return c.json(body, 201);
    });
    app.get('/boom', () => {
      throw new Error('secret internal detail');
    });
    // A real refused connection: what a route's query throws while PostgreSQL is down.
    app.get('/db-down', async () => {
      const unreachable = fromPostgresJs({
        url: `postgres://postgres@127.0.0.1:${await closedPort()}/x`,
        max: 1,
      });
      try {
        await unreachable.query('select 1');
      } finally {
        await unreachable.close().catch(() => {});
      }
    });
    app.get('/teapot', () => {
      throw new ProblemError({ status: 418, title: 'Teapot', detail: 'short and stout' });
    });
    server = await listen(app);
  });
  afterAll(async () => {
    await server.close();
    await db.close();
  });

  it('answers /health with exactly the documented shape plus breakers', async () => {
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(Object.keys(body).sort()).toEqual(['breakers', 'service', 'status', 'timestamp', 'uptime']);
    expect(body).toMatchObject({ status: 'ok', service: 'kit-test', breakers: { graph: 'closed' } });
    expect(typeof body.uptime).toBe('number');
    expect(new Date(body.timestamp).toISOString()).toBe(body.timestamp);
  });

  it('answers /ready 200 while the database answers and 503 problem+json when it does not', async () => {
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    databaseDown = true;
    try {
      const res = await fetch(`${server.url}/ready`);
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect((await res.json()).errors[0].field).toBe('database');
    } finally {
      databaseDown = false;
    }
  });

  it('echoes a caller X-Request-Id and generates one otherwise', async () => {
    const echoed = await fetch(`${server.url}/health`, { headers: { 'x-request-id': 'abc-123' } });
    expect(echoed.headers.get('x-request-id')).toBe('abc-123');
    const generated = await fetch(`${server.url}/health`, {
      headers: { 'x-request-id': 'bad id with spaces' },
    });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // Every kind of answer carries it once: a 404, a problem from a thrown error, a 413.
    for (const [path, init] of [
      ['/nope', {}],
      ['/boom', {}],
      ['/echo', { method: 'POST', body: 'x'.repeat(2048), headers: { authorization: 'Bearer s3cret' } }],
    ] as const) {
      const res = await fetch(`${server.url}${path}`, {
        ...init,
        headers: { ...('headers' in init ? init.headers : {}), 'x-request-id': `id-${path.slice(1)}` },
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.headers.get('x-request-id')).toBe(`id-${path.slice(1)}`);
    }
  });

  it('turns validation failures into 400 problem+json naming each field', async () => {
    const res = await fetch(`${server.url}/echo`, {
      method: 'POST',
      headers: { authorization: 'Bearer s3cret', 'content-type': 'application/json' },
      body: JSON.stringify({ to: '12', n: 1.5 }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const body = await res.json();
    expect(body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['body.n', 'body.to']);
  });

  it('rejects malformed JSON with 400 and a missing or wrong bearer with 401', async () => {
    const malformed = await fetch(`${server.url}/echo`, {
      method: 'POST',
      headers: { authorization: 'Bearer s3cret' },
      body: '{"to":',
    });
    expect(malformed.status).toBe(400);
    expect((await malformed.json()).errors[0].field).toBe('body');
    for (const authorization of [undefined, 'Bearer nope', 's3cret']) {
      const res = await fetch(`${server.url}/echo`, {
        method: 'POST',
        headers: authorization ? { authorization } : {},
        body: '{}',
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    }
  });

  it('answers 413 problem+json past the body limit', async () => {
    const res = await fetch(`${server.url}/echo`, {
      method: 'POST',
      headers: { authorization: 'Bearer s3cret' },
      body: 'x'.repeat(4096),
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });

  it('answers unknown routes with 404 JSON and thrown errors with 500 problem+json without internals', async () => {
    const missing = await fetch(`${server.url}/nope`);
    expect(missing.status).toBe(404);
    expect((await missing.json()).title).toBe('Not Found');
    const boom = await fetch(`${server.url}/boom`, { headers: { 'x-request-id': 'req-500' } });
    expect(boom.status).toBe(500);
    const text = await boom.text();
    expect(text).not.toContain('secret internal detail');
    expect(text).not.toMatch(/at .*\.ts:\d+/);
    expect(JSON.parse(text).requestId).toBe('req-500');
    const down = await fetch(`${server.url}/db-down`);
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('5');
    expect(down.headers.get('content-type')).toBe('application/problem+json');
    expect((await down.json()).title).toBe('Service Unavailable');
    const teapot = await fetch(`${server.url}/teapot`);
    expect(teapot.status).toBe(418);
    expect((await teapot.json()).detail).toBe('short and stout');
  });

  it('exports request durations by route template on /metrics', async () => {
    await fetch(`${server.url}/health`);
    const res = await fetch(`${server.url}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(
      /http_request_duration_seconds_count\{[^}]*route="\/health"[^}]*status="200"[^}]*\} \d+/,
    );
  });
});

describe("the kit's request context", () => {
  const lines: Record<string, unknown>[] = [];
  const capturing = createLogger({
    service: 'context-test',
    level: 'info',
    destination: { write: (line: string) => lines.push(JSON.parse(line)) },
  });
  const metrics = createMetrics({ service: 'context-test' });
  let db: Database;
  let app: ReturnType<typeof createService>;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = createService({ name: 'context-test', db, logger: capturing, metrics, bodyLimitBytes: 64 });
    app.get('/items/:id', (c) => {
      requestLogger(c).info({ item: c.req.param('id') }, 'item read');
      return c.json({ id: c.req.param('id'), requestId: requestIdOf(c) });
    });
    app.post('/items', async (c) => c.json(await c.req.json(), 201));
    // A response whose headers cannot change, as one passed through from fetch.
    app.get('/passed-through', () => Response.redirect('http://elsewhere.test/', 302));
  });
  afterAll(async () => {
    await db.close();
  });

  const durations = async (labels: Record<string, string>): Promise<number> =>
    sampleValue(await metrics.registry.metrics(), 'http_request_duration_seconds_count', labels);

  it('answers a single-handler GET route synchronously, with its request id', () => {
    const answer = app.fetch(
      new Request('http://kit.test/health', { headers: { 'x-request-id': 'sync-1' } }),
    );
    // A promise here means the route went through Hono's middleware chain: every answer then waits a turn.
    expect(answer).toBeInstanceOf(Response);
    expect((answer as Response).headers.get('x-request-id')).toBe('sync-1');
  });

  it("binds the request's logger and id for the route, under its route template", async () => {
    const before = await durations({ method: 'GET', route: '/items/:id', status: '200' });
    const res = await app.request('/items/42', { headers: { 'x-request-id': 'item-42' } });
    expect(await res.json()).toEqual({ id: '42', requestId: 'item-42' });
    expect(res.headers.get('x-request-id')).toBe('item-42');
    expect(lines.find((l) => l.msg === 'item read')).toMatchObject({ requestId: 'item-42', item: '42' });
    expect(await durations({ method: 'GET', route: '/items/:id', status: '200' })).toBe(before + 1);
  });

  it('labels unknown routes "unmatched" and a body past the limit under its route', async () => {
    const unmatched = await durations({ method: 'POST', route: 'unmatched', status: '404' });
    expect((await app.request('/nowhere', { method: 'POST', body: '{}' })).status).toBe(404);
    expect(await durations({ method: 'POST', route: 'unmatched', status: '404' })).toBe(unmatched + 1);

    const tooLarge = await durations({ method: 'POST', route: '/items', status: '413' });
    const res = await app.request('/items', {
      method: 'POST',
      body: JSON.stringify({ pad: 'x'.repeat(100) }),
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await durations({ method: 'POST', route: '/items', status: '413' })).toBe(tooLarge + 1);
    expect((await app.request('/items', { method: 'POST', body: '{"a":1}' })).status).toBe(201);
  });

  it('gives HEAD the GET route and its label, and tags an answer whose headers are immutable', async () => {
    const head = await durations({ method: 'HEAD', route: '/items/:id', status: '200' });
    const res = await app.request('/items/7', { method: 'HEAD', headers: { 'x-request-id': 'head-7' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('head-7');
    expect(await durations({ method: 'HEAD', route: '/items/:id', status: '200' })).toBe(head + 1);

    const passed = await app.request('/passed-through', { headers: { 'x-request-id': 'frozen-1' } });
    expect(passed.headers.get('x-request-id')).toBe('frozen-1');
  });
});

describe('serveNode graceful shutdown', () => {
  it('finishes an in-flight request, refuses new ones, then runs onClose', async () => {
    const db = await createTestDatabase();
    const app = createService({ name: 'drain', db, logger, metrics: createMetrics({ service: 'drain' }) });
    app.get('/slow', async (c) => {
      await new Promise((r) => setTimeout(r, 300));
      return c.json({ done: true });
    });
    let closed = false;
    const running = await serveNode(app, {
      port: 0,
      hostname: '127.0.0.1',
      logger,
      graceMs: 2000,
      onClose: async () => {
        closed = true;
        await db.close();
      },
    });
    const inFlight = fetch(`${running.url}/slow`);
    await new Promise((r) => setTimeout(r, 50));
    const closing = running.close();
    await expect(fetch(`${running.url}/health`)).rejects.toThrow();
    const res = await inFlight;
    expect(await res.json()).toEqual({ done: true });
    await closing;
    expect(closed).toBe(true);
  });
});
