import type { OutputUrlSigner } from './output-url-signer.ts';
import type { OutputInfo } from './render/probe.ts';
import type { RenderRow } from './store.ts';

/** The public shape of a render (GET /renders/:id, SSE events, callbacks). */
export interface RenderView {
  id: string;
  status: RenderRow['status'];
  progress: number;
  attempts: number;
  error: { code: string; message: string } | null;
  timings: {
    createdAt: string;
    startedAt: string | null;
    finishedAt: string | null;
    /** Created → first attempt started. */
    queuedMs: number | null;
    /** First attempt started → finished (retries included). */
    processingMs: number | null;
    /** Stage durations of the last attempt: download, probe, render, upload, total. */
    lastAttempt: Record<string, number>;
  };
  output:
    | (OutputInfo & {
        url: string;
        posterUrl: string;
        contentType: 'video/mp4';
        renditions: { name: string; url: string; width: number; height: number; sizeBytes: number }[];
        sprite: { url: string; columns: number; rows: number; tileWidth: number; everyS: number } | null;
      })
    | null;
  callback: {
    url: string;
    status: string;
    attempts: number;
    error: string | null;
    deliveredAt: string | null;
  } | null;
  links: { self: string; events: string };
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
const between = (a: Date | null, b: Date | null) =>
  a && b ? new Date(b).getTime() - new Date(a).getTime() : null;

export function toRenderView(row: RenderRow, signer: OutputUrlSigner, publicUrl: string): RenderView {
  const completed = row.status === 'completed' && row.output_key;
  return {
    id: row.id,
    status: row.status,
    progress: row.progress,
    attempts: row.attempts,
    // A requeued attempt's error stays visible while the retry waits: it says why.
    error: row.error_code ? { code: row.error_code, message: row.error_message ?? '' } : null,
    timings: {
      createdAt: iso(row.created_at)!,
      startedAt: iso(row.started_at),
      finishedAt: iso(row.finished_at),
      queuedMs: between(row.created_at, row.started_at),
      processingMs: between(row.started_at, row.finished_at),
      lastAttempt: row.timings ?? {},
    },
    output: completed
      ? {
          url: signer.url(row.id, 'output'),
          posterUrl: signer.url(row.id, 'poster'),
          contentType: 'video/mp4',
          durationS: row.output_duration_s ?? 0,
          sizeBytes: row.output_size_bytes ?? 0,
          width: row.output_width ?? 0,
          height: row.output_height ?? 0,
          videoCodec: row.output_video_codec ?? '',
          audioCodec: row.output_audio_codec ?? '',
          renditions: (row.renditions ?? []).map(({ key: _key, ...r }) => ({
            ...r,
            url: signer.url(row.id, `renditions/${r.name}`),
          })),
          sprite: row.sprite
            ? {
                url: signer.url(row.id, 'sprite'),
                columns: row.sprite.columns,
                rows: row.sprite.rows,
                tileWidth: row.sprite.tileWidth,
                everyS: row.sprite.everyS,
              }
            : null,
        }
      : null,
    callback: row.callback_url
      ? {
          url: row.callback_url,
          status: row.callback_status,
          attempts: row.callback_attempts,
          error: row.callback_error,
          deliveredAt: iso(row.callback_delivered_at),
        }
      : null,
    links: { self: `${publicUrl}/renders/${row.id}`, events: `${publicUrl}/renders/${row.id}/events` },
  };
}
