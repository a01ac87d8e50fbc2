import { availableParallelism } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import {
  baseEnvShape,
  envEnum,
  envInt,
  envList,
  envOptionalInt,
  envOptionalPort,
  envOptionalString,
  envPort,
  envSecret,
  envString,
  envUrl,
  loadConfig,
  refuseDevSecretsWhenLive,
  runtimeEnv,
} from '../../shared/config/index.ts';
import { DEFAULT_MAX_INPUT_PIXELS } from './render/probe.ts';
import { assertFilterSafePath } from './render/render-plan.ts';

/** Dev-only key so `npm start` works with no variables; never use it anywhere reachable. */
export const DEV_VIDEO_API_KEY = 'dev-video-api-key';
/** Dev-only Standard Webhooks secret (base64 of "dev-video-callback-signing-key!!"). */
export const DEV_CALLBACK_SIGNING_SECRET = 'whsec_ZGV2LXZpZGVvLWNhbGxiYWNrLXNpZ25pbmcta2V5ISE=';
export const DEFAULT_FONT_FILE = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

const optionalPositiveInt = envOptionalInt({ min: 1, max: 256 });

const videoEnvShape = {
  ...baseEnvShape,
  PORT: envPort(3002),
  /** Wins over PORT when several services share one environment. */
  VIDEO_PORT: envOptionalPort(),
  VIDEO_API_KEY: envSecret(DEV_VIDEO_API_KEY),
  /** Run in this PostgreSQL schema (several environments on one database; tests). Unset: the default. */
  VIDEO_DB_SCHEMA: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,40}$/, 'a plain lower-case SQL identifier')
      .optional(),
  ),
  /** auto: workers run inside `npm start` only in embedded mode (no DATABASE_URL). */
  VIDEO_RUN_WORKER: envEnum(['auto', 'true', 'false'], 'auto'),
  /** Base of the URLs we hand out (output links, Location headers). */
  VIDEO_PUBLIC_URL: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  ),
  /** Hosts an https `src` may be downloaded from (`cdn.example.com`, `*.example.com`); empty: uploads only. */
  RENDER_ALLOWED_HOSTS: envList([]),
  RENDER_MAX_CLIPS: envInt(20, { min: 1, max: 200 }),
  RENDER_MAX_DURATION_S: envInt(120, { min: 1, max: 3600 }),
  RENDER_MAX_WIDTH: envInt(1920, { min: 16, max: 4096 }),
  RENDER_MAX_HEIGHT: envInt(1920, { min: 16, max: 4096 }),
  RENDER_MAX_CAPTIONS: envInt(50, { min: 0, max: 500 }),
  RENDER_MAX_CAPTION_CHARS: envInt(300, { min: 1, max: 5000 }),
  /** Per input: an upload to POST /assets or one downloaded `src`. */
  RENDER_MAX_INPUT_BYTES: envInt(50 * 1024 * 1024, { min: 1024 }),
  /** Width × height of an input picture (image or video frame); larger ones are refused (422 / failed). */
  RENDER_MAX_INPUT_PIXELS: envInt(DEFAULT_MAX_INPUT_PIXELS, { min: 16 * 16, max: 16_384 * 16_384 }),
  /** POST /assets running at once in one process; more get 503 + Retry-After. */
  VIDEO_MAX_CONCURRENT_UPLOADS: envInt(4, { min: 1, max: 1000 }),
  /** Open GET /renders/:id/events streams per API key in one process; more get 429. */
  VIDEO_MAX_SSE_STREAMS_PER_KEY: envInt(20, { min: 1, max: 10_000 }),
  RENDER_DOWNLOAD_TIMEOUT_S: envInt(60, { min: 1, max: 3600 }),
  RENDER_MAX_REDIRECTS: envInt(3, { min: 0, max: 10 }),
  /** Renders one worker process runs at once; default: half the cores (at least 1). */
  RENDER_CONCURRENCY: optionalPositiveInt,
  /**
   * Renders a worker takes beyond RENDER_CONCURRENCY: fetched and prepared (inputs downloaded and probed)
   * while its ffmpeg runs, started the moment one finishes. 0 where renders are long and several
   * workers share the queue: a prepared render waits here for one to end while another worker may idle.
   */
  RENDER_PREFETCH: envInt(1, { min: 0, max: 8 }),
  /** ffmpeg threads per render; default: cores / concurrency, so concurrency × threads ≈ cores. */
  RENDER_FFMPEG_THREADS: optionalPositiveInt,
  RENDER_X264_PRESET: envEnum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium'], 'veryfast'),
  RENDER_X264_CRF: envInt(23, { min: 0, max: 51 }),
  /**
   * Whole attempt: downloads, ffmpeg, checks and upload (not the wait of a prefetched render for an
   * encoder). ffmpeg is killed when it runs out.
   */
  RENDER_JOB_TIMEOUT_S: envInt(300, { min: 1, max: 6 * 3600 }),
  /** Retries after the first attempt, for transient failures only. */
  RENDER_RETRY_LIMIT: envInt(3, { min: 0, max: 20 }),
  RENDER_RETRY_DELAY_S: envInt(5, { min: 0, max: 3600 }),
  /** Between SIGTERM and SIGKILL when ffmpeg is stopped (cancel, timeout, shutdown). */
  RENDER_KILL_GRACE_MS: envInt(2000, { min: 0, max: 60_000 }),
  RENDER_OUTPUT_URL_TTL_S: envInt(3600, { min: 60, max: 7 * 24 * 3600 }),
  RENDER_FONT_FILE: envString(DEFAULT_FONT_FILE),
  FFMPEG_PATH: envString('ffmpeg'),
  FFPROBE_PATH: envString('ffprobe'),
  STORAGE_DRIVER: envEnum(['filesystem', 'supabase'], 'filesystem'),
  SUPABASE_URL: envUrl(),
  SUPABASE_SERVICE_ROLE_KEY: envOptionalString(),
  SUPABASE_STORAGE_BUCKET: envString('renders'),
  /** Standard Webhooks secret (`whsec_<base64>`) for callbackUrl deliveries. */
  CALLBACK_SIGNING_SECRET: envSecret(DEV_CALLBACK_SIGNING_SECRET),
  CALLBACK_RETRY_LIMIT: envInt(8, { min: 0, max: 30 }),
  /** First retry delay; doubles per attempt (with jitter), capped at 15 minutes. */
  CALLBACK_RETRY_DELAY_S: envInt(5, { min: 1, max: 3600 }),
  CALLBACK_TIMEOUT_MS: envInt(10_000, { min: 100, max: 120_000 }),
  /** POST /renders and POST /assets per API key. */
  VIDEO_RATE_POINTS: envInt(60, { min: 1 }),
  VIDEO_RATE_DURATION_S: envInt(60, { min: 1 }),
  /** Every other authenticated route (status polls, SSE, outputs) per API key. */
  VIDEO_READ_RATE_POINTS: envInt(1200, { min: 1 }),
  VIDEO_READ_RATE_DURATION_S: envInt(60, { min: 1 }),
};

export const VideoEnvSchema = z
  .object(videoEnvShape)
  // Supabase Storage with a service-role key is a live credential, like NODE_ENV=production.
  .superRefine(
    refuseDevSecretsWhenLive(videoEnvShape, (env) =>
      env.SUPABASE_SERVICE_ROLE_KEY ? 'SUPABASE_SERVICE_ROLE_KEY is set' : null,
    ),
  )
  .superRefine((env, ctx) => {
    if (env.STORAGE_DRIVER === 'supabase') {
      if (!env.SUPABASE_URL)
        ctx.addIssue({
          code: 'custom',
          path: ['SUPABASE_URL'],
          message: 'required for STORAGE_DRIVER=supabase',
        });
      if (!env.SUPABASE_SERVICE_ROLE_KEY) {
        ctx.addIssue({
          code: 'custom',
          path: ['SUPABASE_SERVICE_ROLE_KEY'],
          message: 'required for STORAGE_DRIVER=supabase',
        });
      }
    }
    if (!/^whsec_[A-Za-z0-9+/=]{16,}$/.test(env.CALLBACK_SIGNING_SECRET)) {
      ctx.addIssue({ code: 'custom', path: ['CALLBACK_SIGNING_SECRET'], message: 'must be whsec_<base64>' });
    }
    if (!env.DATABASE_URL && env.VIDEO_RUN_WORKER === 'false') {
      ctx.addIssue({
        code: 'custom',
        path: ['VIDEO_RUN_WORKER'],
        message:
          'the embedded database (no DATABASE_URL) belongs to one process: its worker must run inside it',
      });
    }
    if (!isAbsolute(env.RENDER_FONT_FILE)) {
      ctx.addIssue({ code: 'custom', path: ['RENDER_FONT_FILE'], message: 'must be an absolute path' });
    } else {
      try {
        assertFilterSafePath(env.RENDER_FONT_FILE);
      } catch {
        ctx.addIssue({
          code: 'custom',
          path: ['RENDER_FONT_FILE'],
          message: 'letters, digits, _ . - / only',
        });
      }
    }
  })
  .transform((env) => {
    const port = env.VIDEO_PORT ?? env.PORT;
    const cores = availableParallelism();
    const concurrency = env.RENDER_CONCURRENCY ?? Math.max(1, Math.floor(cores / 2));
    const dataDir = resolve(env.DATA_DIR, 'video-orchestrator');
    return {
      ...env,
      port,
      publicUrl: (env.VIDEO_PUBLIC_URL ?? `http://127.0.0.1:${port}`).replace(/\/+$/, ''),
      /** Embedded PGlite, temp workspaces and filesystem objects live under here. */
      serviceDataDir: dataDir,
      tempDir: join(dataDir, 'tmp'),
      objectsDir: join(dataDir, 'objects'),
      concurrency,
      runWorkerInApi: env.VIDEO_RUN_WORKER === 'auto' ? !env.DATABASE_URL : env.VIDEO_RUN_WORKER === 'true',
      ffmpegThreads: env.RENDER_FFMPEG_THREADS ?? Math.max(1, Math.floor(cores / concurrency)),
      limits: {
        maxClips: env.RENDER_MAX_CLIPS,
        maxDurationS: env.RENDER_MAX_DURATION_S,
        maxWidth: env.RENDER_MAX_WIDTH,
        maxHeight: env.RENDER_MAX_HEIGHT,
        maxCaptions: env.RENDER_MAX_CAPTIONS,
        maxCaptionChars: env.RENDER_MAX_CAPTION_CHARS,
        allowedHosts: env.RENDER_ALLOWED_HOSTS,
      },
    };
  });

export type VideoConfig = z.infer<typeof VideoEnvSchema>;

/**
 * @example
 * const config = loadVideoConfig(); // throws ConfigError naming every bad variable
 */
export function loadVideoConfig(env: Record<string, string | undefined> = runtimeEnv()): VideoConfig {
  return loadConfig('video-orchestrator', VideoEnvSchema, env);
}
