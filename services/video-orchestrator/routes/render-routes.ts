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
  LUT_SRC_PREFIX,
  parseMediaSource,
  type RenderJobData,
  type RenderSpec,
  type RenderSpecSchema,
} from '../schemas.ts';
import type { RenderRow, VideoStore } from '../store.ts';
import { safeZoneViolation } from '../timeline/safe-zones.ts';

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
  if (spec.voiceOver) uses.push({ field: 'body.voiceOver.src', src: spec.voiceOver.src, role: 'audio' });
  spec.tracks?.forEach((track, t) => {
    track.clips.forEach((clip, k) => {
      uses.push({ field: `body.tracks.${t}.clips.${k}.src`, src: clip.src, role: clip.type });
    });
  });
  spec.overlays?.forEach((overlay, i) => {
    if (overlay.type === 'image')
      uses.push({ field: `body.overlays.${i}.src`, src: overlay.src, role: 'image' });
  });
  const errors: FieldError[] = [];
  const assetIds = new Set<string>();
  for (const use of uses) {
    const source = parseMediaSource(use.src);
    if (source.kind === 'asset') assetIds.add(source.assetId);
  }
  // One round trip for every asset the spec names.
  const cache = new Map((await store.getAssets([...assetIds])).map((asset) => [asset.id, asset]));
  for (const use of uses) {
    const source = parseMediaSource(use.src);
    if (source.kind !== 'asset') continue;
    const asset = cache.get(source.assetId);
    if (!asset) errors.push({ field: use.field, message: `asset ${source.assetId} does not exist` });
    else if (!kindFits(use.role, asset.kind)) {
      errors.push({ field: use.field, message: `asset ${source.assetId} is ${asset.kind}, not ${use.role}` });
    }
  }
  if (spec.look) {
    const lutId = spec.look.lut.slice(LUT_SRC_PREFIX.length).toLowerCase();
    if (!(await store.getLut(lutId)))
      errors.push({ field: 'body.look.lut', message: `LUT ${lutId} does not exist` });
  }
  // An image overlay without a height is as tall as its aspect makes it, known from the asset's probe
  // at upload: check it now, at every size it is drawn at. (With a height the schema checked the box;
  // a URL must have one.) Nothing is accepted whose extent is unknown.
  const frames = [spec.output, ...(spec.renditions ?? [])];
  spec.overlays?.forEach((overlay, i) => {
    if (overlay.type !== 'image' || overlay.height !== undefined) return;
    const source = parseMediaSource(overlay.src);
    if (source.kind !== 'asset' || !cache.has(source.assetId)) return;
    const picture = cache.get(source.assetId)?.probe?.streams.find((s) => s.width && s.height);
    if (!picture?.width || !picture.height) {
      errors.push({
        field: `body.overlays.${i}.height`,
        message: `required: the size of asset ${source.assetId} is not known (it was stored unprobed)`,
      });
      return;
    }
    const aspect = picture.height / picture.width;
    const refusal = safeZoneViolation(frames, (frame) => ({
      x: overlay.x,
      y: overlay.y,
      width: overlay.width,
      height: (overlay.width * frame.width * aspect) / frame.height,
    }));
    if (refusal) errors.push({ field: `body.overlays.${i}`, message: refusal });
  });
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

function queueUnavailable(): ProblemError {
  return new ProblemError({
    status: 503,
    title: 'Service Unavailable',
    detail: 'the render queue is not available; retry with the same Idempotency-Key',
    headers: { 'Retry-After': '5' },
  });
}

/** POST /renders, GET /renders/:id, DELETE /renders/:id, POST /renders/:id/retry. */
export function registerRenderRoutes(app: Hono<AppEnv>, deps: RenderRouteDeps): void {
  const { store, queue } = deps;
  const view = (row: RenderRow) => toRenderView(row, deps.signer, deps.publicUrl);

  /** The row and its queue job in one transaction: null when the id or Idempotency-Key is taken. */
  async function storeAndQueue(
    id: string,
    spec: RenderSpec,
    hash: string,
    idempotencyKey?: string,
  ): Promise<RenderRow | null> {
    try {
      return await store.insertRender(
        {
          id,
          spec,
          idempotencyKey,
          requestHash: hash,
          callbackUrl: spec.callbackUrl,
          queueJobId: jobIdFor(RENDER_QUEUE, id),
        },
        (tx) => queue.sendInTransaction<RenderJobData>(tx, RENDER_QUEUE, { renderId: id }, { dedupeKey: id }),
      );
    } catch (error) {
      deps.logger.error({ renderId: id, err: error }, 'could not store and queue the render');
      throw queueUnavailable();
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
    const id = spec.id ?? randomUUID();
    let row = await storeAndQueue(id, spec, hash, idempotencyKey);
    let replayed = false;
    if (!row) {
      const existing =
        (spec.id ? await store.getRender(spec.id) : null) ??
        (idempotencyKey ? await store.getRenderByIdempotencyKey(idempotencyKey) : null);
      if (!existing) throw new ProblemError({ status: 409, title: 'Conflict', detail: 'retry the request' });
      if (existing.request_hash !== hash) {
        throw new ProblemError({
          status: 409,
          title: 'Conflict',
          detail: spec.id
            ? 'a render with this id was already requested with a different body'
            : 'this Idempotency-Key was already used for a different render request',
          extensions: { id: existing.id },
        });
      }
      row = existing;
      replayed = true;
    }
    if (!replayed) recordRenderStatus(deps.metrics, 'queued');
    const location = `${deps.publicUrl}/renders/${row.id}`;
    // The row as accepted (queued): a worker may already have claimed it, GET says so.
    return c.json(view(row), 202, {
      Location: location,
      ...(replayed ? { 'Idempotent-Replayed': 'true' } : {}),
    });
  });

  // A failed or canceled render again, as a new render with the same spec (its own id, progress and
  // outputs); the old one stays as it ended. The answer names the new render.
  app.post('/renders/:id/retry', deps.writeGuard, async (c) => {
    const { id } = parseInput(IdParams, c.req.param(), 'params');
    const original = await store.getRender(id);
    if (!original) throw new ProblemError({ status: 404, title: 'Not Found', detail: `no render ${id}` });
    if (original.status !== 'failed' && original.status !== 'canceled') {
      throw new ProblemError({
        status: 409,
        title: 'Conflict',
        detail: `render ${id} is ${original.status}: only a failed or canceled render is retried`,
        extensions: { renderStatus: original.status },
      });
    }
    const { id: _chosenId, ...spec } = original.spec as RenderSpec;
    const retryId = randomUUID();
    const row = await storeAndQueue(retryId, spec as RenderSpec, requestHash(spec as RenderSpec));
    if (!row) throw new ProblemError({ status: 409, title: 'Conflict', detail: 'retry the request' });
    recordRenderStatus(deps.metrics, 'queued');
    deps.logger.info({ renderId: retryId, retryOf: id }, 'render retried');
    return c.json(view(row), 202, { Location: `${deps.publicUrl}/renders/${row.id}` });
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
