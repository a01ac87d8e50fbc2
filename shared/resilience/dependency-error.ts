export interface DependencyErrorInit {
  /** HTTP status the dependency answered with; absent for network errors and timeouts. */
  status?: number;
  /** The provider's own error code (Twilio `21211`, Graph API `100`, `ECONNRESET`, …). */
  code?: string | number;
  /** Whether the same call may succeed later; derived from `status` when omitted. */
  retryable?: boolean;
  cause?: unknown;
}

/** 408 and 429 are the dependency saying "not now", not "your request is wrong". */
function isCallerStatus(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/**
 * What provider clients (Twilio, Graph API, AI agent) throw when a call fails. Breakers use it to tell a
 * dependency that is down (counts as a failure) from a request the dependency rejected (does not).
 *
 * @example
 * if (!res.ok) throw new DependencyError(`twilio answered ${res.status}`, { status: res.status, code: body.code });
 */
export class DependencyError extends Error {
  readonly status?: number;
  readonly code?: string | number;
  readonly retryable: boolean;

  constructor(message: string, init: DependencyErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'DependencyError';
    this.status = init.status;
    this.code = init.code;
    // No status means we never got an answer (network, timeout): worth another try.
    this.retryable = init.retryable ?? !isCallerStatus(init.status);
  }
}

/**
 * True for a dependency's 4xx answer other than 408/429: our request was wrong, the dependency is fine,
 * so it must not count towards opening a breaker (used as opossum's `errorFilter`).
 */
export function isCallerError(error: unknown): boolean {
  return error instanceof DependencyError && isCallerStatus(error.status);
}
