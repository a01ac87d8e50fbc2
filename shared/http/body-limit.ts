import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import type { AppEnv } from './app-env.ts';
import { declaredBodyLength } from './node-request.ts';
import { problem } from './problem.ts';

/**
 * A body limit answering 413 as problem+json. A body whose Content-Length bounds it is judged by that
 * header alone (Node's parser never delivers more), without building the web Request; a chunked body goes
 * through Hono's limit, which counts the stream as it arrives and cuts it off past the limit.
 *
 * @example
 * app.post('/webhook', maxBody(3 * 1024 * 1024), handler);
 */
export function maxBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  const tooLarge = (c: Context) =>
    problem(c, {
      status: 413,
      title: 'Payload Too Large',
      detail: `the body exceeds ${maxBytes} bytes`,
      extensions: { limit: maxBytes },
    });
  const streamed = honoBodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async function maxBodyMiddleware(c, next) {
    const declared = declaredBodyLength(c);
    if (declared === undefined) return streamed(c, next);
    if (declared > maxBytes) return tooLarge(c);
    await next();
  };
}
