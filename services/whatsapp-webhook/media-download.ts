import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { Database } from '../../shared/db/index.ts';
import type { Logger } from '../../shared/observability/index.ts';
import { DependencyError } from '../../shared/resilience/index.ts';
import type { GraphApiClient } from './graph-api-client.ts';
import { META_MEDIA_ID } from './schemas.ts';
import { getInbound, recordMedia } from './store.ts';

export interface MediaDownloaderDeps {
  db: Database;
  logger: Logger;
  /** Graph media calls, already behind a circuit breaker. */
  getMedia: GraphApiClient['getMedia'];
  downloadMedia: GraphApiClient['downloadMedia'];
  dir: string;
  maxBytes: number;
}

/**
 * Where a media id's file goes: the id must be of Meta's alphabet (digits), and the resolved path must
 * lie inside `dir` (checked, not assumed). Anything else is a permanent failure, never a file.
 */
export function mediaFilePath(dir: string, mediaId: string): string {
  if (!META_MEDIA_ID.test(mediaId)) {
    throw new DependencyError('media id is not a Meta media id (digits only)', { retryable: false });
  }
  const root = resolve(dir);
  const path = resolve(root, mediaId);
  if (!path.startsWith(root + sep)) {
    throw new DependencyError('media path would leave the media directory', { retryable: false });
  }
  return path;
}

/**
 * Downloads an inbound message's media from Meta (its URLs expire, so soon after the webhook) into
 * `dir`, recording path, size and SHA-256. Runs from the queue.
 */
export function createMediaDownloader(deps: MediaDownloaderDeps) {
  return async function downloadInboundMedia(
    inboundId: string,
    options: { lastAttempt: boolean },
  ): Promise<void> {
    const inbound = await getInbound(deps.db, inboundId);
    if (inbound?.mediaState !== 'pending' || !inbound.mediaId) return;
    try {
      // Before any Graph call: the id is also a URL path segment there.
      const path = mediaFilePath(deps.dir, inbound.mediaId);
      const info = await deps.getMedia(inbound.mediaId);
      if (info.fileSize !== null && info.fileSize > deps.maxBytes) {
        throw new DependencyError(`media is ${info.fileSize} bytes, over the ${deps.maxBytes} limit`, {
          retryable: false,
        });
      }
      const bytes = await deps.downloadMedia(info.url, deps.maxBytes);
      await mkdir(deps.dir, { recursive: true });
      // Write then rename: a crash never leaves a half file under the final name.
      await writeFile(`${path}.part`, bytes);
      await rename(`${path}.part`, path);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      await recordMedia(deps.db, inboundId, { state: 'done', path, size: bytes.byteLength, sha256 });
    } catch (error) {
      const retryable = !(error instanceof DependencyError) || error.retryable;
      if (retryable && !options.lastAttempt) throw error;
      deps.logger.warn({ err: error, inboundId }, 'media download failed');
      await recordMedia(deps.db, inboundId, { state: 'failed', error: (error as Error).message });
    }
  };
}
