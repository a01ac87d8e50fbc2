import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { requestIdOf } from './request-context.ts';

/** One offending input: `field` is a dotted path such as `body.to` or `query.hub.mode`. */
export interface FieldError {
  field: string;
  message: string;
}

export interface ProblemInit {
  status: ContentfulStatusCode;
  title: string;
  detail?: string;
  /** A URI reference naming the problem type; defaults to about:blank as RFC 9457 says. */
  type?: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
  /** Extension members (e.g. `retryAfter`) merged into the body. */
  extensions?: Record<string, unknown>;
}

/** Thrown anywhere in a request; the app's error handler renders it as application/problem+json. */
export class ProblemError extends Error {
  readonly problem: ProblemInit;
  constructor(problem: ProblemInit) {
    super(problem.detail ?? problem.title);
    this.name = 'ProblemError';
    this.problem = problem;
  }
}

/**
 * The one way this project answers an error (RFC 9457).
 *
 * @example
 * return problem(c, { status: 404, title: 'Not Found', detail: `no call ${id}` });
 */
export function problem(c: Context, init: ProblemInit): Response {
  const requestId = requestIdOf(c);
  // Extensions first: they never replace RFC 9457's own members (a `status` extension would turn the
  // HTTP status into something else and break every client that reads it).
  const body: Record<string, unknown> = {
    ...(init.extensions ?? {}),
    type: init.type ?? 'about:blank',
    title: init.title,
    status: init.status,
    ...(init.detail ? { detail: init.detail } : {}),
    ...(init.errors ? { errors: init.errors } : {}),
    instance: c.req.path,
    ...(requestId ? { requestId } : {}),
  };
  // Through the context, so headers set earlier in the chain (X-Request-Id, RateLimit-*) are kept.
  return c.body(JSON.stringify(body), init.status, {
    ...(init.headers ?? {}),
    'content-type': 'application/problem+json',
  });
}
