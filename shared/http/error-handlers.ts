import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from './app-env.ts';
import { ProblemError, problem } from './problem.ts';
import { requestIdOf, requestLogger } from './request-context.ts';

export const notFoundHandler: NotFoundHandler<AppEnv> = (c) =>
  problem(c, { status: 404, title: 'Not Found', detail: `no route for ${c.req.method} ${c.req.path}` });

// Errors that mean "the database cannot be reached right now", not "this request is wrong": socket
// errors, postgres.js's connection errors, and PostgreSQL's connection (08…), shutdown (57P01–57P03) and
// too-many-connections (53300) classes.
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);

/** True when an error says the database (or another dependency's socket) is unreachable for now. */
export function isUnavailableError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (UNREACHABLE_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code));
}

/**
 * Renders every thrown error as problem+json: ProblemError as it says, Hono's HTTPException with
 * its status, an unreachable database as a 503 with Retry-After (the caller may simply retry), anything
 * else as a 500 that names the request id and never the stack.
 */
export const errorHandler: ErrorHandler<AppEnv> = (error, c: Context<AppEnv>) => {
  if (error instanceof ProblemError) return problem(c, error.problem);
  if (error instanceof HTTPException) {
    const status = error.status as ContentfulStatusCode;
    return problem(c, { status, title: error.message || 'Request failed' });
  }
  const logger = requestLogger(c);
  if (isUnavailableError(error)) {
    logger.error({ err: error, method: c.req.method, path: c.req.path }, 'dependency unreachable');
    return problem(c, {
      status: 503,
      title: 'Service Unavailable',
      detail: 'a dependency of this service is unreachable; retry later',
      headers: { 'Retry-After': '5' },
    });
  }
  logger.error({ err: error, method: c.req.method, path: c.req.path }, 'unhandled error');
  return problem(c, {
    status: 500,
    title: 'Internal Server Error',
    detail: `the request failed; quote request id ${requestIdOf(c) ?? 'unknown'} when reporting it`,
  });
};
