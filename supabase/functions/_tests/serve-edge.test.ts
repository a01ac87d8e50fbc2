/**
 * The edge wiring under Deno, with the kit alone (no service): base-path mounting, Deno.serve over a real
 * loopback socket, WebSocket upgrades through the mount, and the edge's environment defaults.
 * Run by scripts/deno-check.ts (`deno test`); kept under supabase/functions (outside tsc and vitest) because
 * it needs the Deno globals. The leading underscore keeps the Supabase CLI from deploying it.
 */
import assert from 'node:assert/strict';
import type { Hono } from 'hono';
import { ConfigError } from '../../../shared/config/index.ts';
import type { Database } from '../../../shared/db/index.ts';
import { createService, maxBody } from '../../../shared/http/index.ts';
import { createLogger, createMetrics } from '../../../shared/observability/index.ts';
import { edgeEnv, requireDatabaseUrl } from '../_shared/edge-env.ts';
import { mountAtFunctionPath } from '../_shared/mount-at-function-path.ts';
import { serveEdge } from '../_shared/serve-edge.ts';
import { upgradeWebSocket } from '../_shared/upgrade-web-socket.ts';

const logger = createLogger({ service: 'edge-test', level: 'silent' });

/** Enough of a Database for /health and /ready; these tests are about HTTP, not SQL. */
const answeringDb: Database = {
  kind: 'postgres',
  query: async () => [],
  execScript: async () => {},
  transaction: (fn) => fn({ query: async () => [], execScript: async () => {} }),
  ping: async () => {},
  close: async () => {},
};

function kitApp(): Hono {
  const app = createService({
    name: 'edge-test',
    db: answeringDb,
    logger,
    metrics: createMetrics({ service: 'edge-test' }),
    bodyLimitBytes: 1024,
    bodyLimitExempt: ['/upload'],
  }) as unknown as Hono;
  app.post('/upload', maxBody(64 * 1024), (c) => c.json({ path: c.req.path }));
  app.post('/echo', async (c) => c.json({ bytes: (await c.req.text()).length }));
  app.get(
    '/ws',
    upgradeWebSocket(() => ({
      onMessage: (event, ws) => ws.send(`echo:${String(event.data)}`),
    })),
  );
  return app;
}

Deno.test('mounted under /<name>: the app answers its own paths there', async () => {
  const { fetch } = mountAtFunctionPath('edge-test', kitApp());
  const health = await fetch(new Request('http://edge.local/edge-test/health'));
  assert.equal(health.status, 200);
  const body = await health.json();
  assert.equal(body.status, 'ok');
  assert.equal(body.service, 'edge-test');
  assert.ok(health.headers.get('x-request-id'));

  const ready = await fetch(new Request('http://edge.local/edge-test/ready'));
  assert.equal(ready.status, 200);
});

Deno.test('mounted: paths outside the base path and unknown routes are 404 problem+json', async () => {
  const { fetch } = mountAtFunctionPath('edge-test', kitApp());
  const outside = await fetch(new Request('http://edge.local/health'));
  assert.equal(outside.status, 404);
  assert.equal(outside.headers.get('content-type'), 'application/problem+json');
  await outside.body?.cancel();

  const lookalike = await fetch(new Request('http://edge.local/edge-testing/health'));
  assert.equal(lookalike.status, 404);
  await lookalike.body?.cancel();

  const unknown = await fetch(new Request('http://edge.local/edge-test/nope'));
  assert.equal(unknown.status, 404);
  assert.equal(unknown.headers.get('content-type'), 'application/problem+json');
  const problem = await unknown.json();
  assert.equal(problem.instance, '/nope');
  assert.ok(problem.requestId, 'the kit middleware ran for the unmatched path');
});

Deno.test('mounted: the app sees Node paths, so body-limit exemptions still apply', async () => {
  const { fetch } = mountAtFunctionPath('edge-test', kitApp());
  const big = 'x'.repeat(8 * 1024);
  const exempt = await fetch(
    new Request('http://edge.local/edge-test/upload', { method: 'POST', body: big }),
  );
  assert.equal(exempt.status, 200);
  assert.deepEqual(await exempt.json(), { path: '/upload' });

  const limited = await fetch(new Request('http://edge.local/edge-test/echo', { method: 'POST', body: big }));
  assert.equal(limited.status, 413);
  await limited.body?.cancel();
});

Deno.test('serveEdge: real HTTP and WebSocket on loopback, then a clean close', async () => {
  let closed = false;
  const running = serveEdge({
    name: 'edge-test',
    app: kitApp(),
    logger,
    port: 0,
    hostname: '127.0.0.1',
    handleShutdown: false,
    onClose: async () => {
      closed = true;
    },
  });
  try {
    const { port } = running.server.addr as Deno.NetAddr;
    const res = await fetch(`http://127.0.0.1:${port}/edge-test/health`);
    assert.equal(res.status, 200);
    assert.equal((await res.json()).service, 'edge-test');

    const socket = new WebSocket(`ws://127.0.0.1:${port}/edge-test/ws`);
    const reply = await new Promise<string>((resolve, reject) => {
      socket.onopen = () => socket.send('hi');
      socket.onmessage = (event) => resolve(String(event.data));
      socket.onerror = () => reject(new Error('websocket failed'));
    });
    assert.equal(reply, 'echo:hi');
    const socketClosed = new Promise<void>((resolve) => {
      socket.onclose = () => resolve();
    });
    socket.close();
    await socketClosed;
  } finally {
    await running.close();
  }
  assert.equal(closed, true);
});

Deno.test('edgeEnv: SUPABASE_DB_URL stands in for DATABASE_URL; pooler and /tmp defaults', () => {
  const env = edgeEnv({ SUPABASE_DB_URL: 'postgres://supabase/db' });
  assert.equal(env.DATABASE_URL, 'postgres://supabase/db');
  assert.equal(env.DATABASE_PREPARE, 'false');
  assert.equal(env.DATABASE_POOL_MAX, '3');
  assert.equal(env.DATA_DIR, '/tmp');

  const explicit = edgeEnv({
    SUPABASE_DB_URL: 'postgres://supabase/db',
    DATABASE_URL: 'postgres://pooler:6543/db',
    DATABASE_PREPARE: 'true',
    DATABASE_POOL_MAX: '8',
  });
  assert.equal(explicit.DATABASE_URL, 'postgres://pooler:6543/db');
  assert.equal(explicit.DATABASE_PREPARE, 'true');
  assert.equal(explicit.DATABASE_POOL_MAX, '8');
});

Deno.test('requireDatabaseUrl: no URL is a configuration error naming DATABASE_URL', () => {
  assert.throws(
    () => requireDatabaseUrl('edge-test', undefined),
    (error: unknown) => error instanceof ConfigError && error.problems[0].variable === 'DATABASE_URL',
  );
  assert.equal(requireDatabaseUrl('edge-test', 'postgres://x/y'), 'postgres://x/y');
});

Deno.test('upgradeWebSocket: an open socket holds EdgeRuntime.waitUntil until it closes', async () => {
  const held: Promise<unknown>[] = [];
  let settled = 0;
  const runtime = globalThis as { EdgeRuntime?: { waitUntil(promise: Promise<unknown>): void } };
  runtime.EdgeRuntime = {
    waitUntil: (promise) => {
      held.push(promise);
      promise.then(() => {
        settled += 1;
      });
    },
  };
  const { fetch: handle } = mountAtFunctionPath('edge-test', kitApp());
  const server = Deno.serve({ port: 0, hostname: '127.0.0.1', onListen: () => {} }, handle);
  try {
    const socket = new WebSocket(`ws://127.0.0.1:${server.addr.port}/edge-test/ws`);
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => socket.send('ping');
      socket.onmessage = () => resolve();
      socket.onerror = () => reject(new Error('websocket failed'));
    });
    assert.equal(held.length, 1, 'the open socket registered one waitUntil promise');
    assert.equal(settled, 0, 'and it is pending while the socket is open');
    const closed = new Promise<void>((resolve) => {
      socket.onclose = () => resolve();
    });
    socket.close();
    await closed;
    await held[0];
    assert.equal(settled, 1, 'closing the socket released it');
  } finally {
    delete runtime.EdgeRuntime;
    await server.shutdown();
  }
});
