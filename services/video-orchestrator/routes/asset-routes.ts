import { createHash, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { Hono, MiddlewareHandler } from 'hono';
import { type AppEnv, maxBody, ProblemError, parseInput } from '../../../shared/http/index.ts';
import { ACCEPTED_MIME_TYPES, sniffBytes } from '../inputs/asset-sniff.ts';
import { ASSET_SRC_PREFIX, IdParams } from '../schemas.ts';
import { type ObjectStorage, objectKeys } from '../storage/object-storage.ts';
import type { AssetRow, VideoStore } from '../store.ts';
import type { TempWorkspaces } from '../temp-workspace.ts';

export interface AssetRouteDeps {
  store: VideoStore;
  storage: ObjectStorage;
  workspaces: TempWorkspaces;
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
    try {
      const staged = workspace.path(`asset.${type.ext}`);
      await writeFile(staged, bytes, { mode: 0o600 });
      await deps.storage.put(key, staged, type.mime);
    } finally {
      await workspace.dispose();
    }
    const row = await deps.store.insertAsset({
      id,
      kind: type.kind,
      mime_type: type.mime,
      size_bytes: bytes.byteLength,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      storage_key: key,
    });
    return c.json(assetView(row), 201, { Location: `/assets/${id}` });
  });

  app.get('/assets/:id', deps.readGuard, async (c) => {
    const { id } = parseInput(IdParams, c.req.param(), 'params');
    const row = await deps.store.getAsset(id);
    if (!row) throw new ProblemError({ status: 404, title: 'Not Found', detail: `no asset ${id}` });
    return c.json(assetView(row));
  });
}
