import type { Context, MiddlewareHandler } from 'hono';
import type { RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import { problem } from '../http/problem.ts';
import type { ServiceMetrics } from '../observability/metrics.ts';
import { clientIp } from './client-ip.ts';
import { rateLimitHeaders, tooManyRequests } from './rate-limit-response.ts';
import { isRateLimiterRes, type LimiterPolicy } from './rate-limiter-factory.ts';

/**
 * How a request is bucketed: `ip` by client address; `apiKey` by a SHA-256 of the bearer token (the raw
 * key never reaches the store; requests without one fall back to their IP); or a function of the context.
 */
export type RateLimitKey = 'ip' | 'apiKey' | ((c: Context) => string | Promise<string>);

export interface RateLimitPolicy extends LimiterPolicy {
  key: RateLimitKey;
}

export interface RateLimitOptions {
  policy: RateLimitPolicy;
  /** From `createRateLimiterFactory(...)(policy)`. */
  limiter: RateLimiterAbstract;
  metrics: Pick<ServiceMetrics, 'rateLimitRejections'>;
  /** Header naming the client IP behind a trusted proxy (`TRUST_PROXY`); unset = socket address only. */
  trustProxy?: string;
}

/** Store keys stay short (the Postgres key column is varchar(255)) whatever a custom key returns. */
const MAX_KEY_LENGTH = 128;

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

// Keys are hashed so the store never holds a secret; the few keys a service knows repeat on every request.
const TOKEN_DIGEST_CACHE_SIZE = 1024;
const tokenDigests = new Map<string, string>();
async function tokenDigest(token: string): Promise<string> {
  const known = tokenDigests.get(token);
  if (known) return known;
  const digest = await sha256Hex(token);
  if (tokenDigests.size >= TOKEN_DIGEST_CACHE_SIZE) tokenDigests.clear();
  tokenDigests.set(token, digest);
  return digest;
}

function bearerToken(c: Context): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
  return match?.[1];
}

/** The store key for this request under `key`; exported for guards that consume outside a middleware. */
export async function rateLimitKey(c: Context, key: RateLimitKey, trustProxy?: string): Promise<string> {
  if (typeof key === 'function') {
    const custom = await key(c);
    return custom.length > MAX_KEY_LENGTH ? `h:${await sha256Hex(custom)}` : custom;
  }
  if (key === 'apiKey') {
    const token = bearerToken(c);
    if (token) return `key:${await tokenDigest(token)}`;
  }
  return `ip:${clientIp(c, trustProxy)}`;
}

/**
 * Limits requests per key under one policy. Every response carries `RateLimit-Limit`,
 * `RateLimit-Remaining` and `RateLimit-Reset` (seconds); over the limit the answer is a 429
 * `application/problem+json` with `retryAfter` and `Retry-After`, counted in
 * `rate_limit_rejections_total{policy}`. A store error that the limiter cannot absorb (the factory's
 * limiters always can, through their insurance) propagates to the app's error handler.
 *
 * @example
 * const policy = { name: 'outbound-calls', points: 30, duration: 60, key: 'apiKey' } as const;
 * app.use('/v1/calls/*', rateLimit({ policy, limiter: limiterFor(policy), metrics, trustProxy: config.TRUST_PROXY }));
 */
export function rateLimit(options: RateLimitOptions): MiddlewareHandler {
  const { policy, limiter, metrics, trustProxy } = options;
  // The limiter's own points are what is enforced, so that is what the headers announce.
  const limit = limiter.points;

  return async function rateLimitMiddleware(c, next) {
    const key = await rateLimitKey(c, policy.key, trustProxy);
    let res: RateLimiterRes;
    try {
      res = await limiter.consume(key);
    } catch (error) {
      if (!isRateLimiterRes(error)) throw error;
      metrics.rateLimitRejections.inc({ policy: policy.name });
      return problem(c, tooManyRequests(policy.name, limit, error));
    }
    // Set before the handler: Hono applies them to whatever response the chain builds through the
    // context (handlers, problem+json errors, 404s). Setting them afterwards would force
    // @hono/node-server to materialize a full Response per request, halving throughput.
    for (const [name, value] of Object.entries(rateLimitHeaders(limit, res))) c.header(name, value);
    await next();
  };
}
