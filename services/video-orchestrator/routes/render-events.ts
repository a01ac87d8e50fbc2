import type { Hono, MiddlewareHandler } from 'hono';
import { type SSEStreamingApi, streamSSE } from 'hono/streaming';
import { type AppEnv, ProblemError, parseInput } from '../../../shared/http/index.ts';
import type { ServiceMetrics } from '../../../shared/observability/index.ts';
import { type ConcurrencySlots, rateLimitKey } from '../../../shared/resilience/index.ts';
import type { OutputUrlSigner } from '../output-url-signer.ts';
import type { RenderChanges, RenderWatch } from '../render-changes.ts';
import { toRenderView } from '../render-view.ts';
import { IdParams } from '../schemas.ts';
import { type RenderRow, TERMINAL_STATUSES, type VideoStore } from '../store.ts';

export interface RenderEventDeps {
  store: VideoStore;
  signer: OutputUrlSigner;
  publicUrl: string;
  guard: MiddlewareHandler<AppEnv>;
  /** Change notices from the database: the row is read when it changed (without them, every `pollMs`). */
  changes?: RenderChanges;
  /** How often the row is read when no notice came (with notices a fallback, without them the poll). */
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
 * An event id that orders a render's states across reconnects: attempt, phase within it, progress.
 * `queued` after an attempt (waiting for its retry) comes after that attempt's `processing`.
 */
export function renderEventId(row: Pick<RenderRow, 'status' | 'attempts' | 'progress'>): string {
  const phase = TERMINAL_STATUSES.includes(row.status)
    ? 3
    : row.status === 'processing'
      ? 1
      : row.attempts > 0
        ? 2
        : 0;
  return `${row.attempts}-${phase}-${row.progress}`;
}

function parseEventId(id: string | undefined): number[] | null {
  const match = id ? /^(\d{1,9})-([0-3])-(\d{1,3})$/.exec(id.trim()) : null;
  return match ? match.slice(1).map(Number) : null;
}

function isAfter(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] > b[i];
  return false;
}

/**
 * GET /renders/:id/events: Server-Sent Events. `status` when the status changes, `progress` when
 * only the percentage moves, each carrying the whole render view and an `id:` (renderEventId); the
 * stream ends after the terminal status, which is sent exactly once: a client resuming with
 * `Last-Event-ID` gets only later states, one that already has the terminal event gets 204
 * (EventSource stops reconnecting). The row is read again when the database says it changed (a trigger
 * NOTIFYs every status, progress and attempt change, whichever process wrote it), or after `pollMs` without
 * a notice; where the database cannot LISTEN, every `pollMs`.
 */
export function registerRenderEvents(app: Hono<AppEnv>, deps: RenderEventDeps): void {
  const keepAliveMs = deps.keepAliveMs ?? 15_000;
  const maxStreamMs = deps.maxStreamMs ?? 30 * 60_000;

  const policy = 'video-sse-streams';
  app.get('/renders/:id/events', deps.guard, async (c) => {
    const { id } = parseInput(IdParams, c.req.param(), 'params');
    // Watched before the first read, so no change between the two goes unseen.
    const watch = deps.changes?.watch(id);
    let streaming = false;
    try {
      const first = await deps.store.getRender(id);
      if (!first) throw new ProblemError({ status: 404, title: 'Not Found', detail: `no render ${id}` });
      const resumeAfter = parseEventId(c.req.header('last-event-id'));
      if (
        TERMINAL_STATUSES.includes(first.status) &&
        resumeAfter !== null &&
        !isAfter(parseEventId(renderEventId(first))!, resumeAfter)
      ) {
        return c.body(null, 204);
      }
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
      // The slot (and the watch) are held for the stream's life, not the handler's: released when the
      // loop ends or the client goes away.
      streaming = true;
      return streamSSE(c, async (stream) => {
        stream.onAbort(() => {
          release();
          watch?.close();
        });
        try {
          await followRender(stream, first, resumeAfter, watch);
        } finally {
          release();
          watch?.close();
        }
      });
    } finally {
      if (!streaming) watch?.close();
    }
  });

  async function followRender(
    stream: SSEStreamingApi,
    first: RenderRow,
    resumeAfter: number[] | null,
    watch: RenderWatch | undefined,
  ): Promise<void> {
    const id = first.id;
    let sent = resumeAfter;
    let lastSent = Date.now();
    let lastRead = Date.now();
    const opened = Date.now();
    let row = first;
    while (!stream.aborted) {
      const eventId = renderEventId(row);
      const position = parseEventId(eventId)!;
      if (sent === null || isAfter(position, sent)) {
        // Same attempt and phase as the last event sent (or resumed from): only progress moved.
        const event = sent && sent[0] === position[0] && sent[1] === position[1] ? 'progress' : 'status';
        sent = position;
        await stream.writeSSE({
          id: eventId,
          event,
          data: JSON.stringify(toRenderView(row, deps.signer, deps.publicUrl)),
        });
        lastSent = Date.now();
      } else if (Date.now() - lastSent >= keepAliveMs) {
        await stream.write(': keep-alive\n\n');
        lastSent = Date.now();
      }
      if (TERMINAL_STATUSES.includes(row.status) || Date.now() - opened > maxStreamMs) break;
      // Until a notice, the fallback read or the keep-alive, whichever is first.
      const readDue = lastRead + deps.pollMs;
      const waitMs = Math.max(0, Math.min(readDue, lastSent + keepAliveMs) - Date.now());
      let changed = false;
      if (watch) changed = await watch.changed(waitMs);
      else await stream.sleep(waitMs);
      if (stream.aborted) break;
      if (!changed && Date.now() < readDue) continue;
      lastRead = Date.now();
      const next = await deps.store.getRender(id);
      if (!next) break;
      row = next;
    }
  }
}
