import { createHash, randomUUID } from 'node:crypto';
import type { Hono, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import {
  type AppEnv,
  type FieldError,
  ProblemError,
  parseInput,
  readJsonBody,
} from '../../../shared/http/index.ts';
import { type Logger, recordRenderStatus, type ServiceMetrics } from '../../../shared/observability/index.ts';
import { jobIdFor, type Queue } from '../../../shared/queue/index.ts';
import { kindFits } from '../inputs/input-fetcher.ts';
import type { OutputUrlSigner } from '../output-url-signer.ts';
import { RENDER_QUEUE } from '../queues.ts';
import { toRenderView } from '../render-view.ts';
import {
  IdempotencyKeyHeader,
  IdParams,
  parseMediaSource,
  type RenderJobData,
  type RenderSpec,
  type RenderSpecSchema,
} from '../schemas.ts';
import type { RenderRow, VideoStore } from '../store.ts';

export interface RenderRouteDeps {
  store: VideoStore;
  queue: Queue;
  specSchema: RenderSpecSchema;
  signer: OutputUrlSigner;
  publicUrl: string;
  logger: Logger;
  metrics: ServiceMetrics;
  /** Authentication + the write rate limit (POST). */
  writeGuard: MiddlewareHandler<AppEnv>;
  /** Authentication + the read rate limit. */
  readGuard: MiddlewareHandler<AppEnv>;
}

const IdempotencyHeaders = z.object({ 'idempotency-key': IdempotencyKeyHeader.optional() });

/** Referenced assets must exist and be the right kind: a 400 now beats a failed job later. */
async function checkAssetReferences(store: VideoStore, spec: RenderSpec): Promise<void> {
  const uses: { field: string; src: string; role: 'image' | 'video' | 'audio' }[] = spec.clips.map(
    (clip, i) => ({
      field: `body.clips.${i}.src`,
      src: clip.src,
      role: clip.type,
    }),
  );
  if (spec.audio) uses.push({ field: 'body.audio.src', src: spec.audio.src, role: 'audio' });
  const errors: FieldError[] = [];
  const cache = new Map<string, Awaited<ReturnType<VideoStore['getAsset']>>>();
  for (const use of uses) {
    const source = parseMediaSource(use.src);
    if (source.kind !== 'asset') continue;
    if (!cache.has(source.assetId)) cache.set(source.assetId, await store.getAsset(source.assetId));
    const asset = cache.get(source.assetId);
    if (!asset) errors.push({ field: use.field, message: `asset ${source.assetId} does not exist` });
    else if (!kindFits(use.role, asset.kind)) {
      errors.push({ field: use.field, message: `asset ${source.assetId} is ${asset.kind}, not ${use.role}` });
    }
  }
  if (errors.length > 0) {
    throw new ProblemError({
      status: 400,
      title: 'Invalid request',
      detail: 'body failed validation',
      errors,
    });
  }
}

function requestHash(spec: RenderSpec): string {
  // After parsing, keys come out in schema order with defaults filled in: equal requests hash equal.
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex');
}

/** POST /renders, GET /renders/:id, DELETE /renders/:id. */
export function registerRenderRoutes(app: Hono<AppEnv>, deps: RenderRouteDeps): void {
  const { store, queue } = deps;
  const view = (row: RenderRow) => toRenderView(row, deps.signer, deps.publicUrl);

  async function enqueue(row: RenderRow): Promise<void> {
    try {
      const jobId = await queue.send<RenderJobData>(
        RENDER_QUEUE,
        { renderId: row.id },
        { dedupeKey: row.id },
      );
      await store.setQueueJobId(row.id, jobId ?? jobIdFor(RENDER_QUEUE, row.id));
    } catch (error) {
      deps.logger.error({ renderId: row.id, err: error }, 'could not enqueue render');
      await store.failUnqueued(row.id, 'the render could not be queued').catch(() => {});
      throw new ProblemError({
        status: 503,
        title: 'Service Unavailable',
        detail: 'the render queue is not available; retry with the same Idempotency-Key',
        headers: { 'Retry-After': '5' },
      });
    }
  }

  app.post('/renders', deps.writeGuard, async (c) => {
    const { 'idempotency-key': idempotencyKey } = parseInput(
      IdempotencyHeaders,
      { 'idempotency-key': c.req.header('idempotency-key') },
      'headers',
    );
    const spec = await readJsonBody(c, deps.specSchema);
    await checkAssetReferences(store, spec);
    const hash = requestHash(spec);
    let row = await store.insertRender({
      id: randomUUID(),
      spec,
      idempotencyKey,
      requestHash: hash,
      callbackUrl: spec.callbackUrl,
    });
    let replayed = false;
    if (!row) {
      const existing = idempotencyKey ? await store.getRenderByIdempotencyKey(idempotencyKey) : null;
      if (!existing) throw new ProblemError({ status: 409, title: 'Conflict', detail: 'retry the request' });
      if (existing.request_hash !== hash) {
        throw new ProblemError({
          status: 422,
          title: 'Idempotency-Key reused',
          detail: 'this Idempotency-Key was already used for a different render request',
          extensions: { id: existing.id },
        });
      }
      row = existing;
      replayed = true;
    }
    if (!replayed) recordRenderStatus(deps.metrics, 'queued');
    // A first attempt that could not enqueue left the job id empty: the replay finishes the job.
    if (!row.queue_job_id && row.status === 'queued') await enqueue(row);
    const location = `${deps.publicUrl}/renders/${row.id}`;
    return c.json(view((await store.getRender(row.id)) ?? row), 202, {
      Location: location,
      ...(replayed ? { 'Idempotent-Replayed': 'true' } : {}),
    });
  });

  app.get('/renders/:id', deps.readGuard, async (c) => {
    const { id } = parseInput(IdParams, c.req.param(), 'params');
    const row = await store.getRender(id);
    if (!row) throw new ProblemError({ status: 404, title: 'Not Found', detail: `no render ${id}` });
    return c.json(view(row));
  });

  app.delete('/renders/:id', deps.readGuard, async (c) => {
    const { id } = parseInput(IdParams, c.req.param(), 'params');
    const canceled = await store.cancelRender(id);
    if (canceled) {
      recordRenderStatus(deps.metrics, 'canceled', canceled.created_at);
      // A queued job is withdrawn from the queue; a running one is stopped by its worker, which
      // polls the row (signal, grace, kill) and removes its temp files.
      if (canceled.queue_job_id) {
        await queue.boss.cancel(RENDER_QUEUE, canceled.queue_job_id).catch(() => {});
      }
      return c.json(view(canceled));
    }
    const row = await store.getRender(id);
    if (!row) throw new ProblemError({ status: 404, title: 'Not Found', detail: `no render ${id}` });
    if (row.status === 'canceled') return c.json(view(row));
    throw new ProblemError({
      status: 409,
      title: 'Conflict',
      detail: `the render is already ${row.status}`,
      extensions: { renderStatus: row.status },
    });
  });
}
