import type { Context } from 'hono';
import { WriterOverloadedError } from '../db/group-commit.ts';
import type { AppEnv } from './app-env.ts';
import { problem } from './problem.ts';
import { requestLogger } from './request-context.ts';

/**
 * The answer when an event was not stored: 503 with Retry-After, so the provider (Meta, Twilio) sends it
 * again and nothing accepted is lost. A full group-commit queue is back-pressure, not a fault, and is not
 * logged as an error; anything else (the database is down) is, with its stack.
 *
 * @example
 * try { await intake.submit(event) } catch (error) { return storeUnavailable(c, error, 'status callback') }
 */
export function storeUnavailable<E extends AppEnv>(c: Context<E>, error: unknown, what: string): Response {
  if (error instanceof WriterOverloadedError) {
    return problem(c, {
      status: 503,
      title: 'Service Unavailable',
      detail: `too many ${what}s waiting to be stored; retry later`,
      headers: { 'Retry-After': String(error.retryAfterSeconds) },
    });
  }
  requestLogger(c).error({ err: error }, `${what} not stored; asking the sender to retry`);
  return problem(c, {
    status: 503,
    title: 'Service Unavailable',
    detail: `the ${what} could not be stored; retry later`,
    headers: { 'Retry-After': '5' },
  });
}
