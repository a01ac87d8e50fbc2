import { createHmac, randomBytes } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie';
import { type AppEnv, ProblemError } from '../shared/http/index.ts';

export const SESSION_COOKIE = 'console_session';
const SESSION_SECONDS = 12 * 60 * 60;

export type ConsoleEnv = AppEnv & { Variables: AppEnv['Variables'] & { operator: string } };

/** Signs session cookies with a secret derived from the operator key: a new key ends every session. */
export function sessionSecret(operatorKey: string, salt: Buffer = randomBytes(16)): string {
  return createHmac('sha256', salt).update(operatorKey).digest('base64url');
}

/** Operator names go to logs: letters, digits and a few separators, nothing else. */
export const OPERATOR_NAME = /^[\p{L}\p{N} ._@-]{1,64}$/u;

export async function startSession(c: Parameters<MiddlewareHandler>[0], secret: string, operator: string) {
  const expires = Math.floor(Date.now() / 1000) + SESSION_SECONDS;
  await setSignedCookie(c, SESSION_COOKIE, `${expires}.${operator}`, secret, {
    httpOnly: true,
    sameSite: 'Strict',
    path: '/',
    maxAge: SESSION_SECONDS,
  });
}

export function endSession(c: Parameters<MiddlewareHandler>[0]) {
  deleteCookie(c, SESSION_COOKIE, { path: '/' });
}

/**
 * Pages without a session go to the sign-in page; API and stream routes answer 401 problem+json.
 *
 * @example
 * app.use('/api/*', requireOperator({ secret, api: true }));
 */
export function requireOperator(options: { secret: string; api: boolean }): MiddlewareHandler<ConsoleEnv> {
  return async function operatorSession(c, next) {
    const value = await getSignedCookie(c, options.secret, SESSION_COOKIE);
    const dot = typeof value === 'string' ? value.indexOf('.') : -1;
    const expires = dot > 0 ? Number((value as string).slice(0, dot)) : 0;
    if (!value || expires * 1000 < Date.now()) {
      if (!options.api) return c.redirect(`/sign-in?next=${encodeURIComponent(c.req.path)}`, 303);
      throw new ProblemError({
        status: 401,
        title: 'Unauthorized',
        detail: 'sign in with the operator key',
        headers: { 'WWW-Authenticate': 'Cookie realm="console"' },
      });
    }
    c.set('operator', (value as string).slice(dot + 1));
    await next();
  };
}
