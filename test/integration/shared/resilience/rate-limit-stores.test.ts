import { randomUUID } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppEnv } from '../../../../shared/http/app-env.ts';
import { errorHandler, notFoundHandler } from '../../../../shared/http/error-handlers.ts';
import { createMetrics } from '../../../../shared/observability/metrics.ts';
import {
  createRateLimiterFactory,
  type RateLimitPolicy,
  rateLimit,
} from '../../../../shared/resilience/index.ts';
import { listen, type TestServer } from '../../../support/http.ts';
import { closedPort, type TcpProxy, tcpProxy } from './store-harness.ts';

const POLICY: RateLimitPolicy = { name: 'store', points: 3, duration: 60, key: 'ip' };

/** A real app on a real socket, limited by `limiter`; returns what each call answered. */
async function serveLimited(limiter: RateLimiterAbstract) {
  const metrics = createMetrics({ service: 'test' });
  const app = new Hono<AppEnv>();
  app.notFound(notFoundHandler);
  app.onError(errorHandler);
  app.use(rateLimit({ policy: POLICY, limiter, metrics }));
  app.get('/ping', (c) => c.json({ ok: true }));
  const server: TestServer = await listen(app);
  const call = async () => {
    const res = await fetch(`${server.url}/ping`, { signal: AbortSignal.timeout(5000) });
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      remaining: res.headers.get('ratelimit-remaining'),
      retryAfter: res.headers.get('retry-after'),
      body: await res.json(),
    };
  };
  const statuses = async (n: number) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await call()).status);
    return out;
  };
  return { server, call, statuses, metrics };
}

/** Three allowed, the fourth refused the way every store must refuse it. */
async function expectPolicyEnforced(limiter: RateLimiterAbstract): Promise<void> {
  const app = await serveLimited(limiter);
  try {
    for (const remaining of ['2', '1', '0']) {
      const res = await app.call();
      expect(res).toMatchObject({ status: 200, remaining });
    }
    const rejected = await app.call();
    expect(rejected.status).toBe(429);
    expect(rejected.type).toBe('application/problem+json');
    expect(Number(rejected.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(rejected.body.retryAfter).toBe(Number(rejected.retryAfter));
    expect(await app.metrics.registry.metrics()).toMatch(
      /rate_limit_rejections_total\{[^}]*policy="store"[^}]*\} 1/,
    );
  } finally {
    await app.server.close();
  }
}

describe('memory store', () => {
  it('enforces the policy', async () => {
    await expectPolicyEnforced(createRateLimiterFactory({ store: 'memory' })(POLICY));
  });
});

describe.skipIf(!process.env.REDIS_URL)('redis store', () => {
  const prefix = `rl-test-${randomUUID()}`;
  let redis: Redis;

  const connect = async () => {
    const client = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
    await client.ping(); // rejectIfRedisNotReady: use it only once it is ready
    return client;
  };

  beforeAll(async () => {
    redis = await connect();
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('enforces the policy and keeps its counters in Redis', async () => {
    const limiter = createRateLimiterFactory({ store: 'redis', redis, prefix })(POLICY);
    await expectPolicyEnforced(limiter);
    expect(await redis.get(`${prefix}:store:ip:127.0.0.1`)).toBe('4');
  });

  it('shares one budget between processes', async () => {
    const shared = `${prefix}-shared`;
    const first = createRateLimiterFactory({ store: 'redis', redis, prefix: shared })(POLICY);
    const second = createRateLimiterFactory({ store: 'redis', redis, prefix: shared })(POLICY);
    await first.consume('ip:198.51.100.1', 2);
    await second.consume('ip:198.51.100.1');
    await expect(second.consume('ip:198.51.100.1')).rejects.toMatchObject({ remainingPoints: 0 });
    await redis.del(`${shared}:store:ip:198.51.100.1`);
  });

  it('falls back to the in-memory insurance when Redis goes away mid-run: 429s, never a 500', async () => {
    const client = await connect();
    const limiter = createRateLimiterFactory({ store: 'redis', redis: client, prefix: `${prefix}-down` })(
      POLICY,
    );
    const app = await serveLimited(limiter);
    try {
      expect(await app.statuses(2)).toEqual([200, 200]);
      client.disconnect();
      // The insurance limiter starts its own count with the same budget: 3 more, then refused.
      const started = performance.now();
      expect(await app.statuses(5)).toEqual([200, 200, 200, 429, 429]);
      expect(performance.now() - started).toBeLessThan(1000);
    } finally {
      await app.server.close();
    }
  });
});

describe('redis store that is unreachable from the start', () => {
  it('limits on the insurance limiter without waiting for Redis', async () => {
    const client = new Redis({ host: '127.0.0.1', port: await closedPort(), retryStrategy: () => null });
    client.on('error', () => {}); // expected: nothing listens there
    try {
      const limiter = createRateLimiterFactory({ store: 'redis', redis: client })(POLICY);
      await expectPolicyEnforced(limiter);
    } finally {
      client.disconnect();
    }
  });
});

/** Real Postgres when DATABASE_URL is set, else an embedded PGlite served over a loopback socket. */
describe('postgres store', () => {
  let target: { host: string; port: number; user: string; password?: string; database: string; max: number };
  let pglite: { db: PGlite; server: PGLiteSocketServer } | undefined;
  let pools: pg.Pool[] = [];
  let proxies: TcpProxy[] = [];
  const tables: string[] = [];

  beforeAll(async () => {
    const url = process.env.DATABASE_URL;
    if (url) {
      const parsed = new URL(url);
      target = {
        host: parsed.hostname,
        port: Number(parsed.port || 5432),
        user: decodeURIComponent(parsed.username),
        password: decodeURIComponent(parsed.password) || undefined,
        database: parsed.pathname.slice(1),
        max: 2,
      };
    } else {
      const db = await PGlite.create();
      const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1' });
      await server.start();
      pglite = { db, server };
      const port = Number(server.getServerConn().split(':').at(-1));
      // PGlite serves one connection at a time.
      target = { host: '127.0.0.1', port, user: 'postgres', database: 'postgres', max: 1 };
    }
  }, 60_000);

  afterAll(async () => {
    if (process.env.DATABASE_URL && tables.length > 0) {
      const admin = new pg.Pool({ ...target, max: 1 });
      for (const table of tables) await admin.query(`DROP TABLE IF EXISTS "${table}"`);
      await admin.end();
    }
    await pglite?.server.stop();
    await pglite?.db.close();
  }, 30_000);

  // PGlite takes one connection at a time: each test lets go of its pool before the next connects.
  afterEach(async () => {
    await Promise.all(pools.map((pool) => pool.end().catch(() => {})));
    await Promise.all(proxies.map((proxy) => proxy.kill()));
    pools = [];
    proxies = [];
  });

  /** A pool through a proxy we can kill, and a table of its own for this test. */
  async function storeFixture(): Promise<{ pool: pg.Pool; proxy: TcpProxy; tableName: string }> {
    const proxy = await tcpProxy(target);
    const pool = new pg.Pool({
      host: '127.0.0.1',
      port: proxy.port,
      user: target.user,
      password: target.password,
      database: target.database,
      max: target.max,
      connectionTimeoutMillis: 2000,
    });
    pool.on('error', () => {}); // idle clients die with the proxy; the limiter's insurance takes over
    pools.push(pool);
    proxies.push(proxy);
    const tableName = `rl_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    tables.push(tableName);
    return { pool, proxy, tableName };
  }

  it('enforces the policy through a table it creates, with row-level security on', async () => {
    const { pool, tableName } = await storeFixture();
    const limiterFor = createRateLimiterFactory({ store: 'postgres', pgPool: pool, tableName, prefix: 'rl' });
    const limiter = limiterFor(POLICY);
    await limiterFor.ready();
    await expectPolicyEnforced(limiter);

    const rows = await pool.query(`SELECT key, points FROM "${tableName}"`);
    expect(rows.rows).toEqual([{ key: 'rl:store:ip:127.0.0.1', points: 4 }]);
    const rls = await pool.query('SELECT relrowsecurity FROM pg_class WHERE oid = to_regclass($1)', [
      `"${tableName}"`,
    ]);
    expect(rls.rows).toEqual([{ relrowsecurity: true }]);
  });

  it('shares one table between policies and between processes', async () => {
    const { pool, tableName } = await storeFixture();
    const first = createRateLimiterFactory({ store: 'postgres', pgPool: pool, tableName });
    const second = createRateLimiterFactory({ store: 'postgres', pgPool: pool, tableName });
    const a = first(POLICY);
    const other = first({ name: 'other', points: 1, duration: 60 });
    const b = second(POLICY);
    await Promise.all([first.ready(), second.ready()]);
    await a.consume('ip:198.51.100.1', 3);
    await expect(b.consume('ip:198.51.100.1')).rejects.toMatchObject({ remainingPoints: 0 });
    await other.consume('ip:198.51.100.1'); // its own budget in the same table
  });

  it('falls back to the in-memory insurance when Postgres goes away mid-run: 429s, never a 500', async () => {
    const { pool, proxy, tableName } = await storeFixture();
    const limiterFor = createRateLimiterFactory({ store: 'postgres', pgPool: pool, tableName });
    const limiter = limiterFor(POLICY);
    await limiterFor.ready();
    const app = await serveLimited(limiter);
    try {
      expect(await app.statuses(2)).toEqual([200, 200]);
      await proxy.kill();
      expect(await app.statuses(5)).toEqual([200, 200, 200, 429, 429]);
    } finally {
      await app.server.close();
    }
  });

  it('limits on the insurance while its table cannot be created, and ready() says why', async () => {
    const pool = new pg.Pool({ host: '127.0.0.1', port: await closedPort(), connectionTimeoutMillis: 1000 });
    pools.push(pool);
    const limiterFor = createRateLimiterFactory({ store: 'postgres', pgPool: pool, tableName: 'rl_never' });
    const limiter = limiterFor(POLICY);
    await expect(limiterFor.ready()).rejects.toThrow(/ECONNREFUSED/);
    await expectPolicyEnforced(limiter);
  });
});
