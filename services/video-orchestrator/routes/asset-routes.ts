import { randomUUID } from 'node:crypto';
import { rename } from 'node:fs/promises';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { type AppEnv, ProblemError, parseInput, requestLogger } from '../../../shared/http/index.ts';
import type { ServiceMetrics } from '../../../shared/observability/index.ts';
import type { ConcurrencySlots } from '../../../shared/resilience/index.ts';
import { ACCEPTED_MIME_TYPES, type AssetKind, type SniffedType, sniffFile } from '../inputs/asset-sniff.ts';
import { receiveMultipartFile } from '../inputs/multipart-upload.ts';
import type { MediaTools, ProbeResult } from '../render/ffmpeg.ts';
import { mediaInfoFor, readMedia } from '../render/probe.ts';
import { RenderFailure } from '../render-failure.ts';
import { ASSET_SRC_PREFIX, IdParams } from '../schemas.ts';
import { type ObjectStorage, objectKeys } from '../storage/object-storage.ts';
import type { AssetRow, VideoStore } from '../store.ts';
import type { TempWorkspaces } from '../temp-workspace.ts';

export interface AssetRouteDeps {
  store: VideoStore;
  storage: ObjectStorage;
  workspaces: TempWorkspaces;
  tools: MediaTools;
  publicUrl: string;
  maxInputBytes: number;
  /** RENDER_MAX_INPUT_PIXELS: larger pictures are refused (422). */
  maxInputPixels: number;
  /** Uploads running at once in this process (VIDEO_MAX_CONCURRENT_UPLOADS). */
  uploadSlots: ConcurrencySlots;
  metrics: Pick<ServiceMetrics, 'rateLimitRejections'>;
  /** Authentication + the write rate limit (POST). */
  writeGuard: MiddlewareHandler<AppEnv>;
  /** Authentication + the read rate limit. */
  readGuard: MiddlewareHandler<AppEnv>;
}

export function assetView(row: AssetRow) {
  return {
    id: row.id,
    src: `${ASSET_SRC_PREFIX}${row.id}`,
    kind: row.kind,
    mimeType: row.mime_type,
    sizeBytes: Number(row.size_bytes),
    sha256: row.sha256,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

/**
 * What the bytes are, by ffprobe: a picture without a duration is an image; a container with only
 * audio (an .m4a sniffs as MP4) is audio. Throws RenderFailure for unreadable media.
 */
function kindOf(probe: ProbeResult, sniffed: AssetKind): AssetKind {
  if (sniffed === 'image') return 'image';
  const hasVideo = probe.streams.some((s) => s.codecType === 'video');
  const hasAudio = probe.streams.some((s) => s.codecType === 'audio');
  return hasVideo ? 'video' : hasAudio ? 'audio' : sniffed;
}

/** Multipart overhead allowed on top of the file itself. */
const MULTIPART_SLACK_BYTES = 64 * 1024;

/**
 * POST /assets: multipart field `file`, at most RENDER_MAX_INPUT_BYTES, streamed to disk (never held in
 * memory), accepted by its bytes (JPEG, PNG, WebP, MP4/MOV/WebM/MKV, MP3/M4A/AAC/OGG/WAV), probed by
 * the demuxer its type pins, stored, answered 201 with the id a clip uses as `"src": "asset:<id>"`.
 * At most VIDEO_MAX_CONCURRENT_UPLOADS run at once in a process; past that 503 with Retry-After.
 */
export function registerAssetRoutes(app: Hono<AppEnv>, deps: AssetRouteDeps): void {
  const policy = 'video-upload-concurrency';
  app.post('/assets', deps.writeGuard, async function uploadAsset(c) {
    const contentType = c.req.header('content-type') ?? '';
    if (!/^multipart\/form-data/i.test(contentType)) {
      throw new ProblemError({
        status: 415,
        title: 'Unsupported Media Type',
        detail: 'send multipart/form-data with the file in the field "file"',
      });
    }
    // A declared length over the limit is refused before a byte is read; a chunked body is cut off by
    // the stream's own limit below (hono's body limit would buffer it whole).
    const declared = Number(c.req.header('content-length') ?? Number.NaN);
    if (declared > deps.maxInputBytes + MULTIPART_SLACK_BYTES) {
      throw new ProblemError({
        status: 413,
        title: 'Payload Too Large',
        detail: `the file exceeds RENDER_MAX_INPUT_BYTES (${deps.maxInputBytes} bytes)`,
        extensions: { limit: deps.maxInputBytes },
      });
    }
    const release = deps.uploadSlots.tryAcquire();
    if (!release) {
      deps.metrics.rateLimitRejections.inc({ policy });
      throw new ProblemError({
        status: 503,
        title: 'Service Unavailable',
        detail: `${deps.uploadSlots.max} uploads are already running here; retry shortly`,
        headers: { 'Retry-After': '1' },
        extensions: { retryAfter: 1, policy, limit: deps.uploadSlots.max },
      });
    }
    try {
      return await receiveAsset(c);
    } finally {
      release();
    }
  });

  async function receiveAsset(c: Context<AppEnv>): Promise<Response> {
    const id = randomUUID();
    const key = objectKeys.asset(id);
    const workspace = await deps.workspaces.create(`upload-${id}`);
    let probe: ProbeResult | null = null;
    let type: SniffedType | undefined;
    let received: { size: number; sha256: string };
    try {
      const partial = workspace.path('upload.part');
      received = await receiveMultipartFile(c.req.raw, {
        field: 'file',
        maxBytes: deps.maxInputBytes,
        dest: partial,
      });
      type = await sniffFile(partial);
      if (!type) {
        throw new ProblemError({
          status: 415,
          title: 'Unsupported Media Type',
          detail: 'the file content is not an image, video or audio format we accept',
          errors: [{ field: 'body.file', message: `accepted: ${ACCEPTED_MIME_TYPES.join(', ')}` }],
        });
      }
      // Named by its sniffed type: the extension is what pins ffmpeg's demuxer for it.
      const staged = workspace.path(`asset.${type.ext}`);
      await rename(partial, staged);
      // Probed once here, on the bytes we store: a corrupt file is refused now, and renders
      // reuse this reading instead of probing the same immutable asset again. Where ffprobe cannot
      // run (the edge function has no binaries) the asset is stored unprobed and the worker probes it.
      try {
        probe = await readMedia(deps.tools, staged, 'body.file');
        mediaInfoFor(probe, kindOf(probe, type.kind), 'body.file', deps.maxInputPixels);
      } catch (error) {
        if (error instanceof RenderFailure && !error.retryable) {
          throw new ProblemError({
            status: 422,
            title: 'Unprocessable media',
            detail: error.message,
            errors: [{ field: 'body.file', message: error.message.replace(/^body\.file: /, '') }],
          });
        }
        if (!(error instanceof RenderFailure)) throw error;
        probe = null;
        requestLogger(c).warn({ err: error }, 'ffprobe unavailable at upload; the worker will probe');
      }
      await deps.storage.put(key, staged, type.mime);
    } finally {
      await workspace.dispose();
    }
    const row = await deps.store.insertAsset({
      id,
      kind: probe ? kindOf(probe, type.kind) : type.kind,
      mime_type: type.mime,
      size_bytes: received.size,
      sha256: received.sha256,
      storage_key: key,
      probe,
    });
    return c.json(assetView(row), 201, { Location: `${deps.publicUrl}/assets/${id}` });
  }

  app.get('/assets/:id', deps.readGuard, async (c) => {
    const { id } = parseInput(IdParams, c.req.param(), 'params');
    const row = await deps.store.getAsset(id);
    if (!row) throw new ProblemError({ status: 404, title: 'Not Found', detail: `no asset ${id}` });
    return c.json(assetView(row));
  });
}
