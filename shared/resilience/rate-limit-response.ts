import type { RateLimiterRes } from 'rate-limiter-flexible';
import type { ProblemInit } from '../http/problem.ts';

/** Whole seconds until the window resets; never 0 for a rejection, so clients do not retry at once. */
export function secondsUntilReset(res: Pick<RateLimiterRes, 'msBeforeNext'>, atLeast = 0): number {
  return Math.max(atLeast, Math.ceil(Math.max(res.msBeforeNext, 0) / 1000));
}

/** The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers) for one policy. */
export function rateLimitHeaders(
  limit: number,
  res: Pick<RateLimiterRes, 'msBeforeNext' | 'remainingPoints'>,
): Record<string, string> {
  return {
    'RateLimit-Limit': String(limit),
    'RateLimit-Remaining': String(Math.max(res.remainingPoints, 0)),
    'RateLimit-Reset': String(secondsUntilReset(res)),
  };
}

/** The 429 problem for a rejected consume: `retryAfter` in the body, `Retry-After` and RateLimit headers. */
export function tooManyRequests(
  policyName: string,
  limit: number,
  res: Pick<RateLimiterRes, 'msBeforeNext' | 'remainingPoints'>,
): ProblemInit {
  const retryAfter = secondsUntilReset(res, 1);
  return {
    status: 429,
    title: 'Too Many Requests',
    detail: `rate limit "${policyName}" exceeded; retry in ${retryAfter}s`,
    headers: { ...rateLimitHeaders(limit, res), 'Retry-After': String(retryAfter) },
    extensions: { retryAfter, policy: policyName },
  };
}
