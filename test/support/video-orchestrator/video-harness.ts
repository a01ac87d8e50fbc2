import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Hono } from 'hono';
import { createApp } from '../../../services/video-orchestrator/app.ts';
import type { VideoComponentOverrides } from '../../../services/video-orchestrator/components.ts';
import { loadVideoConfig, type VideoConfig } from '../../../services/video-orchestrator/config.ts';
import type { RenderView } from '../../../services/video-orchestrator/render-view.ts';
import { startVideoRuntime, type VideoRuntime } from '../../../services/video-orchestrator/video-runtime.ts';
import type { Database } from '../../../shared/db/index.ts';
import { createLogger, createMetrics } from '../../../shared/observability/index.ts';
import { createRateLimiterFactory } from '../../../shared/resilience/index.ts';
import { createTestDatabase } from '../database.ts';
import { listen, type TestServer } from '../http.ts';
import { waitFor } from './temp-files.ts';

export const TEST_API_KEY = 'test-video-api-key-0123456789abcdef';

export interface VideoHarness {
  /** The app of the current runtime (its routes, for the contract test). */
  readonly app: Hono;
  url: string;
  dataDir: string;
  db: Database;
  config: VideoConfig;
  /** The environment the current runtime was configured from (for a child worker process). */
  env: Record<string, string>;
  runtime: VideoRuntime;
  /** Authenticated request to the API. */
  api(path: string, init?: RequestInit): Promise<Response>;
  upload(file: string): Promise<{ id: string; src: string; kind: string }>;
  createRender(spec: unknown, headers?: Record<string, string>): Promise<Response>;
  getRender(id: string): Promise<RenderView>;
  waitForStatus(id: string, statuses: string[], timeoutMs?: number): Promise<RenderView>;
  /** Follows GET /renders/:id/events (no polling) to the render's final event, and returns its view. */
  waitForEnd(id: string, timeoutMs?: number): Promise<RenderView>;
  /** Stops the runtime (worker grace, then queue) and starts a new one on the same database and data dir. */
  restart(options?: { withWorker?: boolean; env?: Record<string, string>; graceMs?: number }): Promise<void>;
  close(): Promise<void>;
}

export interface VideoHarnessOptions {
  env?: Record<string, string>;
  overrides?: VideoComponentOverrides | ((config: VideoConfig) => VideoComponentOverrides);
  withWorker?: boolean;
  /** Wraps the database the runtime and the API use (e.g. `failingDatabase`); the harness keeps the original. */
  wrapDb?: (db: Database) => Database;
  /** How often an event stream reads its render without a change notice (the app's default otherwise). */
  ssePollMs?: number;
}

/**
 * The service as `npm start` runs it (runtime + app on a real socket), on a test database (PGlite,
 * or a fresh schema when DATABASE_URL is set) and a temp DATA_DIR, with tiny and fast defaults.
 */
export async function startVideoHarness(options: VideoHarnessOptions = {}): Promise<VideoHarness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'video-e2e-'));
  const db = await createTestDatabase();
  const serviceDb = options.wrapDb ? options.wrapDb(db) : db;
  let app: Hono | undefined;
  const server: TestServer = await listen({ fetch: (req: Request) => app!.fetch(req) } as never);
  const logger = createLogger({
    service: 'video-orchestrator',
    level: process.env.TEST_LOG_LEVEL ?? 'silent',
  });
  const baseEnv = {
    DATA_DIR: dataDir,
    VIDEO_API_KEY: TEST_API_KEY,
    VIDEO_PUBLIC_URL: server.url,
    VIDEO_DB_SCHEMA: db.schema ?? '',
    RENDER_X264_PRESET: 'ultrafast',
    RENDER_CONCURRENCY: '1',
    RENDER_FFMPEG_THREADS: '1',
    RENDER_RETRY_DELAY_S: '1',
    RENDER_KILL_GRACE_MS: '500',
    CALLBACK_RETRY_DELAY_S: '1',
    LOG_LEVEL: 'silent',
  };
  let config!: VideoConfig;
  let runtime!: VideoRuntime;
  let effectiveEnv: Record<string, string> = {};

  async function boot(withWorker: boolean, env: Record<string, string>) {
    effectiveEnv = { ...baseEnv, ...env };
    config = loadVideoConfig(effectiveEnv);
    const overrides = typeof options.overrides === 'function' ? options.overrides(config) : options.overrides;
    // A registry per runtime: a restarted runtime registers its metrics again.
    const metrics = createMetrics({ service: 'video-orchestrator' });
    runtime = await startVideoRuntime(config, { logger, metrics, withWorker, overrides, db: serviceDb });
    app = createApp({
      config,
      db: serviceDb,
      queue: runtime.queue,
      store: runtime.store,
      components: runtime.components,
      logger,
      metrics,
      limiterFor: createRateLimiterFactory({ store: 'memory' }),
      // Event streams read a render when the database notifies a change (their 5 s fallback never decides a test).
      renderChanges: runtime.renderChanges,
      ssePollMs: options.ssePollMs,
    }) as unknown as Hono;
  }
  await boot(options.withWorker ?? true, options.env ?? {});

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${server.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${TEST_API_KEY}`, ...(init.headers as Record<string, string>) },
    });
  const getRender = async (id: string) => (await (await api(`/renders/${id}`)).json()) as RenderView;

  return {
    get app() {
      return app!;
    },
    url: server.url,
    dataDir,
    db,
    get config() {
      return config;
    },
    get runtime() {
      return runtime;
    },
    get env() {
      return effectiveEnv;
    },
    api,
    async upload(file) {
      const form = new FormData();
      form.append('file', new Blob([await readFile(file)]), basename(file));
      const response = await api('/assets', { method: 'POST', body: form });
      if (response.status !== 201)
        throw new Error(`upload failed: ${response.status} ${await response.text()}`);
      return (await response.json()) as { id: string; src: string; kind: string };
    },
    createRender: (spec, headers = {}) =>
      api('/renders', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(spec),
      }),
    getRender,
    waitForStatus: (id, statuses, timeoutMs = 30_000) =>
      waitFor(
        async () => {
          const view = await getRender(id);
          return statuses.includes(view.status) ? view : null;
        },
        { timeoutMs, intervalMs: 100, what: `render ${id} to be ${statuses.join('|')}` },
      ),
    async waitForEnd(id, timeoutMs = 30_000) {
      const response = await api(`/renders/${id}/events`, { signal: AbortSignal.timeout(timeoutMs) });
      if (response.status !== 200 || !response.body) {
        throw new Error(`GET /renders/${id}/events answered ${response.status}`);
      }
      let last: RenderView | undefined;
      let buffer = '';
      for await (const chunk of response.body.pipeThrough(new TextDecoderStream())) {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const data = /^data: (.*)$/m.exec(buffer.slice(0, end));
          if (data) last = JSON.parse(data[1]) as RenderView;
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
        }
      }
      // The stream ends after the final event.
      if (!last || !['completed', 'failed', 'canceled'].includes(last.status)) {
        throw new Error(`render ${id}: the event stream ended at ${last?.status ?? 'no event'}`);
      }
      return last;
    },
    async restart(restartOptions = {}) {
      await runtime.close({ graceMs: restartOptions.graceMs ?? 2000 });
      await boot(restartOptions.withWorker ?? true, restartOptions.env ?? options.env ?? {});
    },
    async close() {
      await runtime.close({ graceMs: 1000 });
      await server.close();
      await db.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
