import { createHash, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { Hono, MiddlewareHandler } from 'hono';
import { type AppEnv, maxBody, ProblemError, parseInput } from '../../../shared/http/index.ts';
import { ACCEPTED_MIME_TYPES, type AssetKind, sniffBytes } from '../inputs/asset-sniff.ts';
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
 * POST /assets: multipart field `file`, at most RENDER_MAX_INPUT_BYTES, accepted by its bytes
 * (JPEG, PNG, WebP, MP4/MOV/WebM/MKV, MP3/M4A/AAC/OGG/WAV), stored, answered 201 with the id a
 * clip uses as `"src": "asset:<id>"`.
 */
export function registerAssetRoutes(app: Hono<AppEnv>, deps: AssetRouteDeps): void {
  app.post('/assets', deps.writeGuard, maxBody(deps.maxInputBytes + MULTIPART_SLACK_BYTES), async (c) => {
    const contentType = c.req.header('content-type') ?? '';
    if (!/^multipart\/form-data/i.test(contentType)) {
      throw new ProblemError({
        status: 415,
        title: 'Unsupported Media Type',
        detail: 'send multipart/form-data with the file in the field "file"',
      });
    }
    const form = await c.req.parseBody().catch(() => {
      throw new ProblemError({
        status: 400,
        title: 'Invalid request',
        errors: [{ field: 'body', message: 'malformed multipart body' }],
      });
    });
    const file = form.file;
    if (!(file instanceof File)) {
      throw new ProblemError({
        status: 400,
        title: 'Invalid request',
        detail: 'body failed validation',
        errors: [{ field: 'body.file', message: 'a file is required in the multipart field "file"' }],
      });
    }
    if (file.size > deps.maxInputBytes) {
      throw new ProblemError({
        status: 413,
        title: 'Payload Too Large',
        detail: `the file exceeds RENDER_MAX_INPUT_BYTES (${deps.maxInputBytes} bytes)`,
        extensions: { limit: deps.maxInputBytes },
      });
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    const type = await sniffBytes(bytes);
    if (!type) {
      throw new ProblemError({
        status: 415,
        title: 'Unsupported Media Type',
        detail: 'the file content is not an image, video or audio format we accept',
        errors: [{ field: 'body.file', message: `accepted: ${ACCEPTED_MIME_TYPES.join(', ')}` }],
      });
    }
    const id = randomUUID();
    const key = objectKeys.asset(id);
    const workspace = await deps.workspaces.create(`upload-${id}`);
    let probe: ProbeResult | null = null;
    let kind: AssetKind = type.kind;
    try {
      const staged = workspace.path(`asset.${type.ext}`);
      await writeFile(staged, bytes, { mode: 0o600 });
      // Probed once here, on the bytes we store: a corrupt file is refused now, and renders
      // reuse this reading instead of probing the same immutable asset again. Where ffprobe cannot
      // run (the edge function has no binaries) the asset is stored unprobed and the worker probes it.
      try {
        probe = await readMedia(deps.tools, staged, 'body.file');
        kind = kindOf(probe, type.kind);
        mediaInfoFor(probe, kind, 'body.file');
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
        c.get('logger').warn({ err: error.message }, 'ffprobe unavailable at upload; the worker will probe');
      }
      await deps.storage.put(key, staged, type.mime);
    } finally {
      await workspace.dispose();
    }
    const row = await deps.store.insertAsset({
      id,
      kind,
      mime_type: type.mime,
      size_bytes: bytes.byteLength,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      storage_key: key,
      probe,
    });
    return c.json(assetView(row), 201, { Location: `${deps.publicUrl}/assets/${id}` });
  });

  app.get('/assets/:id', deps.readGuard, async (c) => {
    const { id } = parseInput(IdParams, c.req.param(), 'params');
    const row = await deps.store.getAsset(id);
    if (!row) throw new ProblemError({ status: 404, title: 'Not Found', detail: `no asset ${id}` });
    return c.json(assetView(row));
  });
}
