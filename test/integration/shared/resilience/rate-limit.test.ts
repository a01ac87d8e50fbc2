import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppEnv } from '../../../../shared/http/app-env.ts';
import { errorHandler, notFoundHandler } from '../../../../shared/http/error-handlers.ts';
import { createMetrics, type ServiceMetrics } from '../../../../shared/observability/metrics.ts';
import {
  clientIp,
  consumeOrThrow,
  createRateLimiterFactory,
  type RateLimitPolicy,
  rateLimit,
} from '../../../../shared/resilience/index.ts';
import { listen, type TestServer } from '../../../support/http.ts';

let metrics: ServiceMetrics;
let server: TestServer | undefined;

beforeEach(() => {
  metrics = createMetrics({ service: 'test' });
});

afterEach(async () => {
  await server?.close();
  server = undefined;
});

function baseApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.notFound(notFoundHandler);
  app.onError(errorHandler);
  return app;
}

/** An app whose every route sits under one policy; `/whoami` echoes the IP the limiter keyed on. */
async function serveLimited(policy: RateLimitPolicy, trustProxy?: string): Promise<TestServer> {
  const limiterFor = createRateLimiterFactory({ store: 'memory' });
  const app = baseApp();
  app.use(rateLimit({ policy, limiter: limiterFor(policy), metrics, trustProxy }));
  app.get('/ping', (c) => c.json({ ok: true }));
  app.get('/whoami', (c) => c.json({ ip: clientIp(c, trustProxy) }));
  app.get('/boom', () => {
    throw new Error('handler failed');
  });
  server = await listen(app);
  return server;
}

async function rejectionCount(policy: string): Promise<number> {
  const text = await metrics.registry.metrics();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('rate_limit_rejections_total{') && l.includes(`policy="${policy}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('rateLimit middleware over a real socket (memory store)', () => {
  it('announces the budget on every response and answers 429 problem+json past it', async () => {
    const { url } = await serveLimited({ name: 'api', points: 3, duration: 60, key: 'ip' });

    for (const remaining of [2, 1, 0]) {
      const res = await fetch(`${url}/ping`);
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-limit')).toBe('3');
      expect(res.headers.get('ratelimit-remaining')).toBe(String(remaining));
      const reset = Number(res.headers.get('ratelimit-reset'));
      expect(reset).toBeGreaterThan(0);
      expect(reset).toBeLessThanOrEqual(60);
    }

    const rejected = await fetch(`${url}/ping`);
    expect(rejected.status).toBe(429);
    expect(rejected.headers.get('content-type')).toBe('application/problem+json');
    const retryAfter = Number(rejected.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(rejected.headers.get('ratelimit-limit')).toBe('3');
    expect(rejected.headers.get('ratelimit-remaining')).toBe('0');
    const body = await rejected.json();
    expect(body).toMatchObject({
      status: 429,
      title: 'Too Many Requests',
      retryAfter,
      policy: 'api',
      instance: '/ping',
    });
    expect(await rejectionCount('api')).toBe(1);

    await fetch(`${url}/ping`);
    expect(await rejectionCount('api')).toBe(2);
  });

  it('puts the headers on 404s and on error responses too', async () => {
    const { url } = await serveLimited({ name: 'all', points: 10, duration: 60, key: 'ip' });
    const missing = await fetch(`${url}/nowhere`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('ratelimit-remaining')).toBe('9');
    const failed = await fetch(`${url}/boom`);
    expect(failed.status).toBe(500);
    expect(failed.headers.get('content-type')).toBe('application/problem+json');
    expect(failed.headers.get('ratelimit-remaining')).toBe('8');
  });

  it('keys apiKey policies on a hash of the bearer token, never the raw key', async () => {
    const policy: RateLimitPolicy = { name: 'keys', points: 2, duration: 60, key: 'apiKey' };
    const limiterFor = createRateLimiterFactory({ store: 'memory' });
    const limiter = limiterFor(policy);
    const app = baseApp();
    app.use(rateLimit({ policy, limiter, metrics }));
    app.get('/ping', (c) => c.json({ ok: true }));
    server = await listen(app);
    const call = (token?: string) =>
      fetch(`${server!.url}/ping`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

    expect((await call('key-a')).status).toBe(200);
    expect((await call('key-a')).status).toBe(200);
    expect((await call('key-a')).status).toBe(429);
    // Another key has its own budget; no key at all falls back to the IP.
    expect((await call('key-b')).status).toBe(200);
    expect((await call()).status).toBe(200);

    const hashA = createHash('sha256').update('key-a').digest('hex');
    expect((await limiter.get(`key:${hashA}`))?.consumedPoints).toBe(3);
    expect(await limiter.get('key:key-a')).toBeNull();
    expect((await limiter.get('ip:127.0.0.1'))?.consumedPoints).toBe(1);
  });

  it('accepts a custom key function', async () => {
    const { url } = await serveLimited({
      name: 'tenant',
      points: 1,
      duration: 60,
      key: async (c) => `tenant:${c.req.header('x-tenant') ?? 'none'}`,
    });
    const call = (tenant: string) => fetch(`${url}/ping`, { headers: { 'x-tenant': tenant } });
    expect((await call('a')).status).toBe(200);
    expect((await call('b')).status).toBe(200);
    expect((await call('a')).status).toBe(429);
  });
});

describe('client IP: socket address unless TRUST_PROXY names a header', () => {
  it('ignores forwarding headers when TRUST_PROXY is unset, so spoofing does not dodge the limit', async () => {
    const { url } = await serveLimited({ name: 'socket', points: 2, duration: 60, key: 'ip' });
    const call = (ip: string) => fetch(`${url}/whoami`, { headers: { 'x-forwarded-for': ip } });
    const first = await call('203.0.113.1');
    expect(await first.json()).toEqual({ ip: '127.0.0.1' });
    expect((await call('203.0.113.2')).status).toBe(200);
    expect((await call('203.0.113.3')).status).toBe(429);
  });

  it('uses the first x-forwarded-for address behind a trusted proxy', async () => {
    const { url } = await serveLimited(
      { name: 'xff', points: 1, duration: 60, key: 'ip' },
      'x-forwarded-for',
    );
    const call = (xff: string) => fetch(`${url}/whoami`, { headers: { 'x-forwarded-for': xff } });
    const res = await call('203.0.113.7, 10.0.0.2');
    expect(await res.json()).toEqual({ ip: '203.0.113.7' });
    expect((await call('203.0.113.8')).status).toBe(200);
    expect((await call('203.0.113.7')).status).toBe(429);
    // Not an address: the socket is used rather than a junk key.
    expect(await (await call('not-an-ip')).json()).toEqual({ ip: '127.0.0.1' });
  });

  it('reads cf-connecting-ip when that is the trusted header', async () => {
    const { url } = await serveLimited(
      { name: 'cf', points: 5, duration: 60, key: 'ip' },
      'cf-connecting-ip',
    );
    const res = await fetch(`${url}/whoami`, {
      headers: { 'cf-connecting-ip': '2001:db8::7', 'x-forwarded-for': '198.51.100.1' },
    });
    expect(await res.json()).toEqual({ ip: '2001:db8::7' });
  });
});

describe('consumeOrThrow', () => {
  it('guards failed webhook signatures with a 429 ProblemError rendered by the error handler', async () => {
    const limiterFor = createRateLimiterFactory({ store: 'memory' });
    const failures = limiterFor({ name: 'webhook-signature', points: 2, duration: 60, blockDuration: 120 });
    const app = baseApp();
    app.post('/webhook', async (c) => {
      // Every request here has a bad signature: count it, then refuse it.
      await consumeOrThrow(failures, clientIp(c), 'webhook-signature', { metrics });
      return c.json({ title: 'bad signature' }, 401);
    });
    server = await listen(app);
    const post = () => fetch(`${server!.url}/webhook`, { method: 'POST' });

    expect((await post()).status).toBe(401);
    expect((await post()).status).toBe(401);
    const blocked = await post();
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('content-type')).toBe('application/problem+json');
    // blockDuration: the key stays out for two minutes, not just the rest of the window.
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(60);
    const body = await blocked.json();
    expect(body.retryAfter).toBe(Number(blocked.headers.get('retry-after')));
    expect(body.policy).toBe('webhook-signature');
    expect(await rejectionCount('webhook-signature')).toBe(1);
  });

  it('rethrows store errors that are not rate-limit rejections', async () => {
    const broken = createRateLimiterFactory({ store: 'memory' })({ name: 'x', points: 1, duration: 1 });
    broken.consume = () => Promise.reject(new Error('store exploded'));
    await expect(consumeOrThrow(broken, 'k', 'x')).rejects.toThrow('store exploded');
  });
});

describe('createRateLimiterFactory', () => {
  it('returns one limiter per policy name and refuses conflicting limits', () => {
    const limiterFor = createRateLimiterFactory({ store: 'memory' });
    const a = limiterFor({ name: 'a', points: 1, duration: 1 });
    expect(limiterFor({ name: 'a', points: 1, duration: 1 })).toBe(a);
    expect(() => limiterFor({ name: 'a', points: 2, duration: 1 })).toThrow(/already exists/);
    expect(() => limiterFor({ name: 'b', points: 0, duration: 1 })).toThrow(/points/);
  });

  it('refuses a remote store without its client', () => {
    expect(() => createRateLimiterFactory({ store: 'redis' })).toThrow(/Redis client/);
    expect(() => createRateLimiterFactory({ store: 'postgres' })).toThrow(/pg Pool/);
    expect(() => createRateLimiterFactory({ store: 'memory', tableName: 'x"; drop' })).toThrow(/identifier/);
  });
});
