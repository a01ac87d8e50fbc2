import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-env.ts';
import { problem } from './problem.ts';

/** Constant-time string equality that does not leak the expected length through early exit. */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

/**
 * `Authorization: Bearer <key>` or 401 problem+json.
 *
 * @example
 * app.post('/calls/outbound', requireBearer(config.VOICE_API_KEY), handler);
 */
export function requireBearer(expectedKey: string): MiddlewareHandler<AppEnv> {
  return async function requireBearerMiddleware(c, next) {
    const header = c.req.header('authorization') ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (!token || !safeEqual(token, expectedKey)) {
      return problem(c, {
        status: 401,
        title: 'Unauthorized',
        detail: 'a valid bearer token is required',
        headers: { 'WWW-Authenticate': 'Bearer' },
      });
    }
    await next();
  };
}
