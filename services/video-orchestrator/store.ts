import {
  createGroupCommitWriter,
  type Database,
  type GroupCommitOptions,
  type GroupCommitSettings,
  type Sql,
} from '../../shared/db/index.ts';
import type { AssetKind } from './inputs/asset-sniff.ts';
import type { ProbeResult } from './render/ffmpeg.ts';
import type { OutputInfo } from './render/probe.ts';
import type { RenderSpec } from './schemas.ts';

// All of the video orchestrator's SQL. Every state change is a conditional UPDATE, so the API
// (cancel) and workers (claim, progress, settle) never overwrite each other's outcome.

export type RenderStatus = 'queued' | 'processing' | 'completed' | 'failed' | 'canceled';
export const TERMINAL_STATUSES: readonly RenderStatus[] = ['completed', 'failed', 'canceled'];

export interface AssetRow {
  id: string;
  kind: AssetKind;
  mime_type: string;
  size_bytes: number;
  sha256: string;
  storage_key: string;
  probe: ProbeResult | null;
  created_at: Date;
}

export interface LutRow {
  id: string;
  size: number;
  storageKey: string;
  sha256: string;
  createdAt: Date;
}

export interface RenderRow {
  id: string;
  status: RenderStatus;
  spec: RenderSpec;
  idempotency_key: string | null;
  request_hash: string | null;
  queue_job_id: string | null;
  progress: number;
  attempts: number;
  worker_id: string | null;
  queue_retry_count: number | null;
  error_code: string | null;
  error_message: string | null;
  output_key: string | null;
  poster_key: string | null;
  output_duration_s: number | null;
  output_size_bytes: number | null;
  output_width: number | null;
  output_height: number | null;
  output_video_codec: string | null;
  output_audio_codec: string | null;
  renditions: StoredRendition[];
  sprite: StoredSprite | null;
  timings: Record<string, number>;
  callback_url: string | null;
  callback_status: 'none' | 'pending' | 'delivered' | 'failed';
  callback_attempts: number;
  callback_error: string | null;
  callback_delivered_at: Date | null;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface StoredRendition {
  name: string;
  key: string;
  width: number;
  height: number;
  sizeBytes: number;
}

export interface StoredSprite {
  key: string;
  columns: number;
  rows: number;
  tileWidth: number;
  everyS: number;
}

export interface RenderOutputRecord extends OutputInfo {
  outputKey: string;
  posterKey: string;
  renditions: StoredRendition[];
  sprite: StoredSprite | null;
}

const ASSET_COLUMNS =
  'id, kind, mime_type, size_bytes::float8 as size_bytes, sha256, storage_key, probe, created_at';

const RENDER_COLUMNS = `id, status, spec, idempotency_key, request_hash, queue_job_id, progress::int as progress,
  attempts::int as attempts, worker_id, queue_retry_count::int as queue_retry_count, error_code, error_message,
  output_key, poster_key, output_duration_s::float8 as output_duration_s, output_size_bytes::float8 as output_size_bytes,
  output_width::int as output_width, output_height::int as output_height, output_video_codec, output_audio_codec,
  renditions, sprite, timings, callback_url, callback_status, callback_attempts::int as callback_attempts, callback_error,
  callback_delivered_at, created_at, updated_at, started_at, finished_at`;

export interface RenderListFilter {
  status?: RenderStatus;
  since?: string;
  /** Strictly older than this (created_at, id): the previous page's last row. */
  before?: { createdAt: string; id: string };
  limit: number;
}

/** created_at to the microsecond, for the list cursor. */
export type ListedRender = RenderRow & { cursorAt: string };

interface ProgressWrite {
  id: string;
  workerId: string;
  progress: number;
}

/**
 * Every running render's progress in one statement (the group-commit flush): progress only grows, only the
 * render's own worker writes it, and each write learns the render's status (anything but `processing`
 * tells the worker to stop: canceled).
 */
async function writeProgress(tx: Sql, writes: ProgressWrite[]): Promise<(RenderStatus | null)[]> {
  // `= any(array(...))`: an index lookup of the group's renders, not a hash join over a scan of every
  // render the planner would pick for a jsonb_to_recordset it takes for 100 rows.
  const rows = await tx.query<{ ord: number; status: RenderStatus | null }>(
    `with input as (
       select * from jsonb_to_recordset($1::jsonb) as p(ord int, id uuid, worker_id text, progress int)
     ),
     furthest as (
       select distinct on (id, worker_id) id, worker_id, progress from input order by id, worker_id, progress desc
     ),
     updated as (
       update video_renders r set progress = greatest(r.progress, f.progress), updated_at = now()
         from furthest f
        where r.id = any(array(select id from furthest)) and r.id = f.id and r.worker_id = f.worker_id
          and r.status = 'processing'
        returning r.id, r.status
     )
     select i.ord, coalesce(u.status, r.status) as status
       from input i left join updated u on u.id = i.id
       left join video_renders r on r.id = i.id and r.id = any(array(select id from input))
      order by i.ord`,
    [
      JSON.stringify(
        writes.map((w, ord) => ({ ord, id: w.id, worker_id: w.workerId, progress: w.progress })),
      ),
    ],
  );
  return rows.map((r) => r.status);
}

export interface VideoStoreOptions {
  /** Batching of progress writes from concurrent renders (defaults when omitted). */
  groupCommit?: GroupCommitSettings;
  /** Writer metrics (observeGroupCommit). */
  observe?: Pick<GroupCommitOptions<ProgressWrite, RenderStatus | null>, 'onFlush' | 'onReject' | 'onDepth'>;
}

export function createVideoStore(db: Database, options: VideoStoreOptions = {}) {
  const progress = createGroupCommitWriter({
    name: 'video-progress',
    db,
    ...options.groupCommit,
    ...options.observe,
    singleStatement: true,
    flush: writeProgress,
  });

  async function one<T>(text: string, params: unknown[]): Promise<T | null> {
    const rows = await db.query<T>(text, params);
    return rows[0] ?? null;
  }

  return {
    async insertAsset(asset: Omit<AssetRow, 'created_at'>): Promise<AssetRow> {
      const row = await one<AssetRow>(
        `insert into video_assets (id, kind, mime_type, size_bytes, sha256, storage_key, probe)
         values ($1, $2, $3, $4, $5, $6, $7::jsonb)
         returning ${ASSET_COLUMNS}`,
        [
          asset.id,
          asset.kind,
          asset.mime_type,
          asset.size_bytes,
          asset.sha256,
          asset.storage_key,
          asset.probe ? JSON.stringify(asset.probe) : null,
        ],
      );
      return row!;
    },

    async insertLut(lut: { id: string; size: number; storageKey: string; sha256: string }): Promise<LutRow> {
      return (await one<LutRow>(
        `insert into video_luts (id, size, storage_key, sha256) values ($1, $2, $3, $4)
         returning id, size::int as size, storage_key as "storageKey", sha256, created_at as "createdAt"`,
        [lut.id, lut.size, lut.storageKey, lut.sha256],
      ))!;
    },

    getLut(id: string): Promise<LutRow | null> {
      return one<LutRow>(
        `select id, size::int as size, storage_key as "storageKey", sha256, created_at as "createdAt"
         from video_luts where id = $1`,
        [id],
      );
    },

    getAsset(id: string): Promise<AssetRow | null> {
      return one<AssetRow>(`select ${ASSET_COLUMNS} from video_assets where id = $1`, [id]);
    },

    /** The assets among `ids` that exist, in one statement. */
    getAssets(ids: string[]): Promise<AssetRow[]> {
      if (ids.length === 0) return Promise.resolve([]);
      return db.query<AssetRow>(`select ${ASSET_COLUMNS} from video_assets where id = any($1::uuid[])`, [
        ids,
      ]);
    },

    /**
     * The row and its queue job in one transaction: the job exists exactly when the row does, and
     * the render is queued in one commit. null when the idempotency key is already taken (the
     * caller then reads that render), as when a client-chosen id exists already. `queueJobId` is derived from the render id, so it is known
     * before the job is sent.
     */
    insertRender(
      input: {
        id: string;
        spec: RenderSpec;
        idempotencyKey?: string;
        requestHash?: string;
        callbackUrl?: string;
        queueJobId: string;
      },
      enqueue: (tx: Sql) => Promise<unknown>,
    ): Promise<RenderRow | null> {
      return db.transaction(async (tx) => {
        const [row] = await tx.query<RenderRow>(
          `insert into video_renders (id, spec, idempotency_key, request_hash, callback_url, callback_status, queue_job_id)
           values ($1, $2::jsonb, $3, $4, $5, case when $5::text is null then 'none' else 'pending' end, $6)
           on conflict do nothing
           returning ${RENDER_COLUMNS}`,
          [
            input.id,
            JSON.stringify(input.spec),
            input.idempotencyKey ?? null,
            input.requestHash ?? null,
            input.callbackUrl ?? null,
            input.queueJobId,
          ],
        );
        if (row) await enqueue(tx);
        return row ?? null;
      });
    },

    getRenderByIdempotencyKey(key: string): Promise<RenderRow | null> {
      return one<RenderRow>(`select ${RENDER_COLUMNS} from video_renders where idempotency_key = $1`, [key]);
    },

    getRender(id: string): Promise<RenderRow | null> {
      return one<RenderRow>(`select ${RENDER_COLUMNS} from video_renders where id = $1`, [id]);
    },

    /**
     * A worker takes the render for one attempt. `processing` is claimable too: a worker that died
     * mid-attempt left it so, and the queue has handed the job to us because of exactly that.
     */
    claimRender(
      id: string,
      workerId: string,
      job: { id: string; retryCount: number },
    ): Promise<RenderRow | null> {
      return one<RenderRow>(
        `update video_renders
         set status = 'processing', worker_id = $2, queue_retry_count = $3, queue_job_id = $4, attempts = attempts + 1,
             progress = 0, error_code = null, error_message = null, timings = '{}'::jsonb,
             started_at = coalesce(started_at, now()), updated_at = now()
         where id = $1 and status in ('queued', 'processing')
         returning ${RENDER_COLUMNS}`,
        [id, workerId, job.retryCount, job.id],
      );
    },

    /** Returns the row's status after the write; anything but `processing` means stop (canceled). */
    updateProgress(id: string, workerId: string, percent: number): Promise<RenderStatus | null> {
      return progress.submit({ id, workerId, progress: percent });
    },

    async getStatus(id: string): Promise<{ status: RenderStatus; worker_id: string | null } | null> {
      return one(`select status, worker_id from video_renders where id = $1`, [id]);
    },

    completeRender(
      id: string,
      workerId: string,
      output: RenderOutputRecord,
      timings: Record<string, number>,
    ): Promise<RenderRow | null> {
      return one<RenderRow>(
        `update video_renders
         set status = 'completed', progress = 100, output_key = $3, poster_key = $4, output_duration_s = $5,
             output_size_bytes = $6, output_width = $7, output_height = $8, output_video_codec = $9,
             output_audio_codec = $10, timings = $11::jsonb, renditions = $12::jsonb, sprite = $13::jsonb,
             finished_at = now(), updated_at = now()
         where id = $1 and worker_id = $2 and status = 'processing'
         returning ${RENDER_COLUMNS}`,
        [
          id,
          workerId,
          output.outputKey,
          output.posterKey,
          output.durationS,
          output.sizeBytes,
          output.width,
          output.height,
          output.videoCodec,
          output.audioCodec,
          JSON.stringify(timings),
          JSON.stringify(output.renditions),
          output.sprite ? JSON.stringify(output.sprite) : null,
        ],
      );
    },

    /**
     * An attempt failed. `final`: no retry follows (invalid input or retries exhausted) → `failed`,
     * kept as the dead letter. Otherwise the row goes back to `queued` until the retry runs.
     */
    failAttempt(
      id: string,
      workerId: string,
      failure: { code: string; message: string; final: boolean; timings: Record<string, number> },
    ): Promise<RenderRow | null> {
      return one<RenderRow>(
        `update video_renders
         set status = case when $5 then 'failed' else 'queued' end, error_code = $3, error_message = $4,
             timings = $6::jsonb, progress = case when $5 then progress else 0 end,
             finished_at = case when $5 then now() else null end, updated_at = now()
         where id = $1 and worker_id = $2 and status = 'processing'
         returning ${RENDER_COLUMNS}`,
        [
          id,
          workerId,
          failure.code,
          failure.message.slice(0, 2000),
          failure.final,
          JSON.stringify(failure.timings),
        ],
      );
    },

    /** Queued or running renders stop here; terminal ones are left alone (null). */
    cancelRender(id: string): Promise<RenderRow | null> {
      return one<RenderRow>(
        `update video_renders
         set status = 'canceled', error_code = 'canceled', error_message = 'canceled by request',
             finished_at = now(), updated_at = now()
         where id = $1 and status in ('queued', 'processing')
         returning ${RENDER_COLUMNS}`,
        [id],
      );
    },

    /** Attempts left `processing` by workers of this host (`<host>--…`); the caller checks their pids. */
    listProcessingOnHost(
      hostPrefix: string,
    ): Promise<Pick<RenderRow, 'id' | 'worker_id' | 'queue_job_id' | 'queue_retry_count'>[]> {
      return db.query(
        `select id, worker_id, queue_job_id, queue_retry_count::int as queue_retry_count
         from video_renders where status = 'processing' and worker_id like $1`,
        [`${hostPrefix.replace(/[\\%_]/g, '\\$&')}%`],
      );
    },

    /** The queue gave up on the job (retries exhausted, e.g. by expiry): a render still open fails. */
    failDeadLettered(id: string): Promise<RenderRow | null> {
      return one<RenderRow>(
        `update video_renders
         set status = 'failed', error_code = coalesce(error_code, 'retries_exhausted'),
             error_message = coalesce(error_message, 'the render queue gave up on this job'),
             finished_at = now(), updated_at = now()
         where id = $1 and status in ('queued', 'processing')
         returning ${RENDER_COLUMNS}`,
        [id],
      );
    },

    /**
     * Newest first, keyset-paginated on (created_at, id); only the filters given become conditions,
     * so each shape has its index (migration 20261201120000_list_indexes). Rows keep RENDER_COLUMNS'
     * shape, so a listed render is viewed exactly as GET /renders/:id views it.
     */
    listRenders(filter: RenderListFilter): Promise<ListedRender[]> {
      const params: unknown[] = [];
      const where: string[] = [];
      const param = (value: unknown) => {
        params.push(value);
        return `$${params.length}`;
      };
      if (filter.status) where.push(`status = ${param(filter.status)}`);
      if (filter.since) where.push(`created_at >= ${param(filter.since)}::timestamptz`);
      if (filter.before) {
        where.push(
          `(created_at, id) < (${param(filter.before.createdAt)}::timestamptz, ${param(filter.before.id)}::uuid)`,
        );
      }
      return db.query<ListedRender>(
        `select ${RENDER_COLUMNS},
                to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "cursorAt"
           from video_renders
          ${where.length > 0 ? `where ${where.join(' and ')}` : ''}
          order by created_at desc, id desc
          limit ${param(filter.limit)}`,
        params,
      );
    },

    async recordCallback(
      id: string,
      outcome: { status: 'pending' | 'delivered' | 'failed'; error?: string },
    ): Promise<void> {
      await db.query(
        `update video_renders
         set callback_status = $2, callback_attempts = callback_attempts + 1, callback_error = $3,
             callback_delivered_at = case when $2 = 'delivered' then now() else callback_delivered_at end,
             updated_at = now()
         where id = $1`,
        [id, outcome.status, outcome.error?.slice(0, 1000) ?? null],
      );
    },
  };
}

export type VideoStore = ReturnType<typeof createVideoStore>;
