import { rename } from 'node:fs/promises';
import type { ProbeResult } from '../render/ffmpeg.ts';
import { RenderFailure } from '../render-failure.ts';
import { parseMediaSource } from '../schemas.ts';
import { ObjectNotFoundError, type ObjectStorage, StorageError } from '../storage/object-storage.ts';
import type { AssetRow, VideoStore } from '../store.ts';
import type { Workspace } from '../temp-workspace.ts';
import { type AssetKind, acceptedType, type SniffedType, sniffFile } from './asset-sniff.ts';
import { DownloadError, type SafeDownloader } from './safe-download.ts';

export interface FetchedInput {
  /** Name inside the workspace, chosen by us: `input-<n>.<ext from the sniffed type>`. */
  file: string;
  type: SniffedType;
  /** The asset's ffprobe reading from upload time (same immutable bytes); absent for URLs. */
  probe?: ProbeResult;
}

export interface InputFetcherDeps {
  store: Pick<VideoStore, 'getAsset'>;
  storage: ObjectStorage;
  downloader: SafeDownloader;
}

function downloadFailure(error: DownloadError, label: string): RenderFailure {
  const message = `${label}: ${error.message}`;
  switch (error.code) {
    case 'too_large':
      return new RenderFailure('input_too_large', message, { retryable: false, cause: error });
    case 'not_allowed':
    case 'address_refused':
    case 'too_many_redirects':
      return new RenderFailure('input_refused', message, { retryable: false, cause: error });
    default:
      return new RenderFailure('download_failed', message, { retryable: error.retryable, cause: error });
  }
}

/**
 * Brings every distinct `src` of a render into the workspace once: uploaded assets from storage,
 * URLs through the SSRF-safe downloader. The type is decided by the bytes; a file that is not
 * media we accept fails the render without retry.
 */
export function createInputFetcher(deps: InputFetcherDeps) {
  return async function fetchInput(
    src: string,
    index: number,
    workspace: Workspace,
    label: string,
    signal: AbortSignal,
    /** The asset's row when the caller looked every asset of the render up at once (null: none). */
    knownAsset?: AssetRow | null,
  ): Promise<FetchedInput> {
    const source = parseMediaSource(src);
    const staging = workspace.path(`input-${index}.download`);
    let probe: ProbeResult | undefined;
    let type: SniffedType | undefined;
    if (source.kind === 'asset') {
      const asset = knownAsset === undefined ? await deps.store.getAsset(source.assetId) : knownAsset;
      if (!asset)
        throw new RenderFailure('invalid_input', `${label}: asset ${source.assetId} does not exist`, {
          retryable: false,
        });
      try {
        const size = await deps.storage.fetchToFile(asset.storage_key, staging, { signal });
        // The cached probe describes the stored bytes; a short read must not borrow it.
        if (size !== Number(asset.size_bytes)) {
          throw new StorageError(`asset ${source.assetId}: read ${size} of ${asset.size_bytes} bytes`);
        }
        // Its type and probe were read from these immutable bytes at upload (sniffed, never named).
        probe = asset.probe ?? undefined;
        type = acceptedType(asset.mime_type);
      } catch (error) {
        if (error instanceof ObjectNotFoundError) {
          throw new RenderFailure('invalid_input', `${label}: asset ${source.assetId} is gone`, {
            retryable: false,
          });
        }
        if (signal.aborted) throw error;
        throw new RenderFailure('storage_failed', `${label}: ${(error as Error).message}`, {
          retryable: error instanceof StorageError || !(error instanceof RenderFailure),
          cause: error,
        });
      }
    } else {
      try {
        await deps.downloader.download(source.url, staging, { signal });
      } catch (error) {
        if (error instanceof DownloadError) throw downloadFailure(error, label);
        throw error;
      }
    }
    type ??= await sniffFile(staging);
    if (!type)
      throw new RenderFailure('invalid_input', `${label}: not an image, video or audio file we accept`, {
        retryable: false,
      });
    const file = `input-${index}.${type.ext}`;
    await rename(staging, workspace.path(file));
    return { file, type, probe };
  };
}

export type FetchInput = ReturnType<typeof createInputFetcher>;

/** Which sniffed kinds may fill a role: a soundtrack may come from a video's audio track. */
export function kindFits(role: AssetKind, actual: AssetKind): boolean {
  return role === actual || (role === 'audio' && actual === 'video');
}
