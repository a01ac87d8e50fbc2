import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from './app-env.ts';
import { ProblemError, problem } from './problem.ts';

export const notFoundHandler: NotFoundHandler<AppEnv> = (c) =>
  problem(c, { status: 404, title: 'Not Found', detail: `no route for ${c.req.method} ${c.req.path}` });

/**
 * Renders every thrown error as problem+json: ProblemError as it says, Hono's HTTPException with
 * its status, anything else as a 500 that names the request id and never the stack.
 */
export const errorHandler: ErrorHandler<AppEnv> = (error, c: Context<AppEnv>) => {
  if (error instanceof ProblemError) return problem(c, error.problem);
  if (error instanceof HTTPException) {
    const status = error.status as ContentfulStatusCode;
    return problem(c, { status, title: error.message || 'Request failed' });
  }
  const logger = c.get('logger');
  logger?.error({ err: error, method: c.req.method, path: c.req.path }, 'unhandled error');
  return problem(c, {
    status: 500,
    title: 'Internal Server Error',
    detail: `the request failed; quote request id ${c.get('requestId') ?? 'unknown'} when reporting it`,
  });
};
