import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DependencyError, isCallerError } from '../../../../shared/resilience/dependency-error.ts';

describe('DependencyError', () => {
  it('treats exactly the 4xx answers other than 408 and 429 as caller errors', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), (status) => {
        const expected = status >= 400 && status < 500 && status !== 408 && status !== 429;
        const error = new DependencyError('x', { status });
        expect(isCallerError(error)).toBe(expected);
        expect(error.retryable).toBe(!expected);
      }),
    );
  });

  it('counts a failure without an answer (network, timeout) as the dependency’s and retryable', () => {
    const error = new DependencyError('socket hang up', { code: 'ECONNRESET' });
    expect(isCallerError(error)).toBe(false);
    expect(error.retryable).toBe(true);
    expect(error).toMatchObject({ name: 'DependencyError', code: 'ECONNRESET', status: undefined });
  });

  it('lets the client override retryable and keeps the cause', () => {
    const cause = new Error('boom');
    const error = new DependencyError('template rejected', {
      status: 400,
      code: 132000,
      retryable: true,
      cause,
    });
    expect(error.retryable).toBe(true);
    expect(error.cause).toBe(cause);
    expect(error).toBeInstanceOf(Error);
  });

  it('never calls anything but a DependencyError a caller error', () => {
    expect(isCallerError(Object.assign(new Error('x'), { status: 400 }))).toBe(false);
    expect(isCallerError({ status: 400 })).toBe(false);
    expect(isCallerError(undefined)).toBe(false);
  });
});
