import { type CallbackSender, createStandardWebhookSender } from './callbacks/standard-webhook-sender.ts';
import type { VideoConfig } from './config.ts';
import type { AddressPolicy } from './inputs/address-policy.ts';
import { createInputFetcher, type FetchInput } from './inputs/input-fetcher.ts';
import type { LookupAll } from './inputs/pinned-agent.ts';
import { createSafeDownloader, type SafeDownloader } from './inputs/safe-download.ts';
import { createOutputUrlSigner, type OutputUrlSigner } from './output-url-signer.ts';
import type { RenderQueueSettings } from './queues.ts';
import { createMediaTools, type MediaTools } from './render/ffmpeg.ts';
import type { RenderAttemptSettings } from './render/render-job.ts';
import { createRenderSpecSchema, type RenderSpecSchema } from './schemas.ts';
import { createFilesystemStorage } from './storage/filesystem-storage.ts';
import type { ObjectStorage } from './storage/object-storage.ts';
import { createSupabaseStorage } from './storage/supabase-storage.ts';
import type { VideoStore } from './store.ts';
import { createTempWorkspaces, type TempWorkspaces } from './temp-workspace.ts';
import { createWorkerIdentity, type WorkerIdentity } from './worker-identity.ts';

/** What tests (and the bench) swap: the network policy, storage, clocks. Production passes nothing. */
export interface VideoComponentOverrides {
  /** Default: public unicast addresses only. Tests allow loopback with `loopbackAllowedForTests`. */
  addressPolicy?: AddressPolicy;
  lookup?: LookupAll;
  /** Extra CA for https servers in tests. */
  ca?: string | Buffer;
  storage?: ObjectStorage;
  /** supabase-js's fetch (tests point it at a simulator). */
  supabaseFetch?: typeof fetch;
  tools?: MediaTools;
  identity?: WorkerIdentity;
}

export interface VideoComponents {
  specSchema: RenderSpecSchema;
  storage: ObjectStorage;
  tools: MediaTools;
  downloader: SafeDownloader;
  fetchInput: FetchInput;
  workspaces: TempWorkspaces;
  signer: OutputUrlSigner;
  callbacks: CallbackSender;
  identity: WorkerIdentity;
  close(): Promise<void>;
}

export function createStorageFromConfig(config: VideoConfig, supabaseFetch?: typeof fetch): ObjectStorage {
  if (config.STORAGE_DRIVER === 'supabase') {
    return createSupabaseStorage({
      url: config.SUPABASE_URL!,
      serviceRoleKey: config.SUPABASE_SERVICE_ROLE_KEY!,
      bucket: config.SUPABASE_STORAGE_BUCKET,
      fetch: supabaseFetch,
    });
  }
  return createFilesystemStorage({ root: config.objectsDir });
}

/** Everything the API and the worker share, built from config; no I/O until used. */
export function createVideoComponents(
  config: VideoConfig,
  store: VideoStore,
  overrides: VideoComponentOverrides = {},
): VideoComponents {
  const storage = overrides.storage ?? createStorageFromConfig(config, overrides.supabaseFetch);
  const downloader = createSafeDownloader({
    allowedHosts: config.limits.allowedHosts,
    maxBytes: config.RENDER_MAX_INPUT_BYTES,
    timeoutMs: config.RENDER_DOWNLOAD_TIMEOUT_S * 1000,
    maxRedirects: config.RENDER_MAX_REDIRECTS,
    addressPolicy: overrides.addressPolicy,
    lookup: overrides.lookup,
    ca: overrides.ca,
  });
  const callbacks = createStandardWebhookSender({
    secret: config.CALLBACK_SIGNING_SECRET,
    timeoutMs: config.CALLBACK_TIMEOUT_MS,
    addressPolicy: overrides.addressPolicy,
    lookup: overrides.lookup,
    ca: overrides.ca,
  });
  const identity = overrides.identity ?? createWorkerIdentity();
  return {
    specSchema: createRenderSpecSchema(config.limits),
    storage,
    tools:
      overrides.tools ??
      createMediaTools({
        ffmpegPath: config.FFMPEG_PATH,
        ffprobePath: config.FFPROBE_PATH,
        killGraceMs: config.RENDER_KILL_GRACE_MS,
      }),
    downloader,
    fetchInput: createInputFetcher({ store, storage, downloader }),
    workspaces: createTempWorkspaces({
      baseDir: config.tempDir,
      // Nothing legitimate lives longer than a job (timeout + pg-boss expiry margin).
      staleAfterMs: (config.RENDER_JOB_TIMEOUT_S + 600) * 1000,
      hostname: identity.host,
      pid: identity.pid,
    }),
    signer: createOutputUrlSigner({
      apiKey: config.VIDEO_API_KEY,
      publicUrl: config.publicUrl,
      ttlSeconds: config.RENDER_OUTPUT_URL_TTL_S,
    }),
    callbacks,
    identity,
    async close() {
      await downloader.close();
      await callbacks.close();
    },
  };
}

export function createRenderQueueSettings(config: VideoConfig): RenderQueueSettings {
  return {
    retryLimit: config.RENDER_RETRY_LIMIT,
    retryDelayS: config.RENDER_RETRY_DELAY_S,
    jobTimeoutMs: config.RENDER_JOB_TIMEOUT_S * 1000,
    // A prefetched render waits for the renders ahead of it (each within its own timeout) first.
    rendersAheadOfPrefetched: Math.ceil(config.RENDER_PREFETCH / config.concurrency),
    callbackRetryLimit: config.CALLBACK_RETRY_LIMIT,
    callbackRetryDelayS: config.CALLBACK_RETRY_DELAY_S,
  };
}

export function renderAttemptSettings(config: VideoConfig): RenderAttemptSettings {
  return {
    maxDurationS: config.RENDER_MAX_DURATION_S,
    maxInputPixels: config.RENDER_MAX_INPUT_PIXELS,
    encoder: {
      threads: config.ffmpegThreads,
      preset: config.RENDER_X264_PRESET,
      crf: config.RENDER_X264_CRF,
      audioBitrateK: 128,
    },
    fontFile: config.RENDER_FONT_FILE,
    jobTimeoutMs: config.RENDER_JOB_TIMEOUT_S * 1000,
    progressIntervalMs: 500,
    cancelPollMs: 500,
  };
}
