import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rateLimitHeaders, tooManyRequests } from '../../../../shared/resilience/rate-limit-response.ts';

describe('rateLimitHeaders', () => {
  it('reports limit, remaining and whole seconds to reset', () => {
    expect(rateLimitHeaders(10, { remainingPoints: 3, msBeforeNext: 1500 })).toEqual({
      'RateLimit-Limit': '10',
      'RateLimit-Remaining': '3',
      'RateLimit-Reset': '2',
    });
    expect(rateLimitHeaders(10, { remainingPoints: -2, msBeforeNext: -1 })).toMatchObject({
      'RateLimit-Remaining': '0',
      'RateLimit-Reset': '0',
    });
  });
});

describe('tooManyRequests', () => {
  it('never tells a client to retry sooner than the window allows, nor at once', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1, max: 86_400_000 }), (msBeforeNext) => {
        const init = tooManyRequests('p', 5, { remainingPoints: 0, msBeforeNext });
        const retryAfter = init.extensions?.retryAfter as number;
        expect(Number.isInteger(retryAfter)).toBe(true);
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter * 1000).toBeGreaterThanOrEqual(msBeforeNext);
        expect(init.headers?.['Retry-After']).toBe(String(retryAfter));
      }),
    );
  });

  it('is a 429 naming the policy', () => {
    expect(tooManyRequests('login', 5, { remainingPoints: 0, msBeforeNext: 30_000 })).toMatchObject({
      status: 429,
      title: 'Too Many Requests',
      extensions: { retryAfter: 30, policy: 'login' },
      headers: {
        'RateLimit-Limit': '5',
        'RateLimit-Remaining': '0',
        'RateLimit-Reset': '30',
        'Retry-After': '30',
      },
    });
  });
});
