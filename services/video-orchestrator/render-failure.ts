/**
 * Why a render attempt stopped. `retryable` decides between another attempt (the queue's backoff)
 * and a final `failed`: hostile or broken input never gets better by trying again.
 */
export type RenderFailureCode =
  | 'invalid_input'
  | 'input_too_large'
  | 'input_refused'
  | 'download_failed'
  | 'render_failed'
  | 'render_killed'
  | 'render_timeout'
  | 'output_check_failed'
  | 'storage_failed'
  | 'canceled'
  | 'shutdown';

export class RenderFailure extends Error {
  readonly code: RenderFailureCode;
  readonly retryable: boolean;
  constructor(code: RenderFailureCode, message: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'RenderFailure';
    this.code = code;
    this.retryable = options.retryable;
  }
}

/** Unknown errors (a bug, a dropped connection) are retried: the queue's retry limit bounds the cost. */
export function asRenderFailure(error: unknown): RenderFailure {
  if (error instanceof RenderFailure) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new RenderFailure('render_failed', message, { retryable: true, cause: error });
}
