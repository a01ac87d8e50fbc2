import type { MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import type { AppEnv } from './app-env.ts';
import { problem } from './problem.ts';

/**
 * Hono's body limit (it counts the stream as it arrives, so an oversized chunked body is cut off
 * before it is read whole) answering 413 as problem+json.
 *
 * @example
 * app.post('/webhook', maxBody(3 * 1024 * 1024), handler);
 */
export function maxBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  return honoBodyLimit({
    maxSize: maxBytes,
    onError: (c) =>
      problem(c, {
        status: 413,
        title: 'Payload Too Large',
        detail: `the body exceeds ${maxBytes} bytes`,
        extensions: { limit: maxBytes },
      }),
  });
}
