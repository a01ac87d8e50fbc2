import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';

export interface LiveFeedOptions {
  /** Reads the current state through the services' APIs. */
  read: () => Promise<unknown>;
  intervalMs: number;
  /** Longest a stream stays open; the browser's EventSource reconnects by itself. */
  maxStreamMs?: number;
  /** Stop once the state says it will not change again (a finished call, a terminal render). */
  isFinal?: (state: unknown) => boolean;
}

/**
 * Server-Sent Events from polling: the state is re-read every `intervalMs` and sent as a `snapshot` event
 * only when it changed, so a quiet page costs one small read a second and no browser work.
 */
export function liveFeed(c: Context, options: LiveFeedOptions): Response {
  const maxStreamMs = options.maxStreamMs ?? 10 * 60_000;
  c.header('Cache-Control', 'no-cache');
  c.header('X-Accel-Buffering', 'no');
  return streamSSE(c, async (stream) => {
    const opened = Date.now();
    let last = '';
    let sequence = 0;
    let quietSince = Date.now();
    while (!stream.aborted && Date.now() - opened < maxStreamMs) {
      const state = await options.read();
      const text = JSON.stringify(state);
      if (text !== last) {
        last = text;
        await stream.writeSSE({ id: String(++sequence), event: 'snapshot', data: text });
        quietSince = Date.now();
      } else if (Date.now() - quietSince > 15_000) {
        await stream.write(': keep-alive\n\n');
        quietSince = Date.now();
      }
      if (options.isFinal?.(state)) {
        await stream.writeSSE({ event: 'end', data: '{}' });
        break;
      }
      await stream.sleep(options.intervalMs);
    }
  });
}
