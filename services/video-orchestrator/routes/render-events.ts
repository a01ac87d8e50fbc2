import type { Hono, MiddlewareHandler } from 'hono';
import { type SSEStreamingApi, streamSSE } from 'hono/streaming';
import { type AppEnv, ProblemError, parseInput } from '../../../shared/http/index.ts';
import type { ServiceMetrics } from '../../../shared/observability/index.ts';
import { type ConcurrencySlots, rateLimitKey } from '../../../shared/resilience/index.ts';
import type { OutputUrlSigner } from '../output-url-signer.ts';
import { toRenderView } from '../render-view.ts';
import { IdParams } from '../schemas.ts';
import { type RenderRow, TERMINAL_STATUSES, type VideoStore } from '../store.ts';

export interface RenderEventDeps {
  store: VideoStore;
  signer: OutputUrlSigner;
  publicUrl: string;
  guard: MiddlewareHandler<AppEnv>;
  /** How often the row is read; workers write progress at most about this often. */
  pollMs: number;
  /** A comment line this often keeps proxies from closing a quiet stream. */
  keepAliveMs?: number;
  /** Longest a stream stays open (clients reconnect). */
  maxStreamMs?: number;
  /** Open streams per API key (VIDEO_MAX_SSE_STREAMS_PER_KEY): each holds a socket and a poll loop. */
  streamSlots: ConcurrencySlots;
  metrics: Pick<ServiceMetrics, 'rateLimitRejections'>;
}

/**
 * GET /renders/:id/events: Server-Sent Events. `status` when the status changes, `progress` when
 * only the percentage moves, each carrying the whole render view; the stream ends after the
 * terminal status. The row is polled rather than LISTENed to: API and worker may be separate
 * processes, and PGlite has no cross-process notifications.
 */
export function registerRenderEvents(app: Hono<AppEnv>, deps: RenderEventDeps): void {
  const keepAliveMs = deps.keepAliveMs ?? 15_000;
  const maxStreamMs = deps.maxStreamMs ?? 30 * 60_000;

  const policy = 'video-sse-streams';
  app.get('/renders/:id/events', deps.guard, async (c) => {
    const { id } = parseInput(IdParams, c.req.param(), 'params');
    const first = await deps.store.getRender(id);
    if (!first) throw new ProblemError({ status: 404, title: 'Not Found', detail: `no render ${id}` });
    const release = deps.streamSlots.tryAcquire(await rateLimitKey(c, 'apiKey'));
    if (!release) {
      deps.metrics.rateLimitRejections.inc({ policy });
      throw new ProblemError({
        status: 429,
        title: 'Too Many Requests',
        detail: `${deps.streamSlots.max} event streams are already open for this API key; close one first`,
        headers: { 'Retry-After': '5' },
        extensions: { retryAfter: 5, policy, limit: deps.streamSlots.max },
      });
    }
    c.header('Cache-Control', 'no-cache');
    c.header('X-Accel-Buffering', 'no');
    // The slot is held for the stream's life, not the handler's: released when the loop ends or the
    // client goes away.
    return streamSSE(c, async (stream) => {
      stream.onAbort(release);
      try {
        await followRender(stream, first);
      } finally {
        release();
      }
    });
  });

  async function followRender(stream: SSEStreamingApi, first: RenderRow): Promise<void> {
    const id = first.id;
    let sequence = 0;
    let lastStatus: string | undefined;
    let lastProgress = -1;
    let lastSent = Date.now();
    const opened = Date.now();
    let row = first;
    while (!stream.aborted) {
      if (row.status !== lastStatus || row.progress !== lastProgress) {
        const event = row.status !== lastStatus ? 'status' : 'progress';
        lastStatus = row.status;
        lastProgress = row.progress;
        await stream.writeSSE({
          id: String(++sequence),
          event,
          data: JSON.stringify(toRenderView(row, deps.signer, deps.publicUrl)),
        });
        lastSent = Date.now();
      } else if (Date.now() - lastSent >= keepAliveMs) {
        await stream.write(': keep-alive\n\n');
        lastSent = Date.now();
      }
      if (TERMINAL_STATUSES.includes(row.status) || Date.now() - opened > maxStreamMs) break;
      await stream.sleep(deps.pollMs);
      const next = await deps.store.getRender(id);
      if (!next) break;
      row = next;
    }
  }
}
