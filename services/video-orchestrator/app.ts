import type { Hono } from 'hono';
import { every } from 'hono/combine';
import type { Database } from '../../shared/db/index.ts';
import { type AppEnv, createService, requireBearer } from '../../shared/http/index.ts';
import type { Logger, ServiceMetrics } from '../../shared/observability/index.ts';
import type { Queue } from '../../shared/queue/index.ts';
import {
  createConcurrencySlots,
  type RateLimiterFactory,
  type RateLimitPolicy,
  rateLimit,
} from '../../shared/resilience/index.ts';
import type { VideoComponents } from './components.ts';
import type { VideoConfig } from './config.ts';
import { videoOpenApiDocument } from './openapi.ts';
import type { RenderChanges } from './render-changes.ts';
import { registerAssetRoutes } from './routes/asset-routes.ts';
import { registerLutRoutes } from './routes/lut-routes.ts';
import { registerOutputRoutes } from './routes/output-routes.ts';
import { registerRenderEvents } from './routes/render-events.ts';
import { registerRenderList } from './routes/render-list.ts';
import { registerRenderRoutes } from './routes/render-routes.ts';
import type { VideoStore } from './store.ts';

export const SERVICE_NAME = 'video-orchestrator';

export interface VideoAppDeps {
  config: VideoConfig;
  db: Database;
  queue: Queue;
  store: VideoStore;
  components: VideoComponents;
  logger: Logger;
  metrics: ServiceMetrics;
  limiterFor: RateLimiterFactory;
  /** Render change notices (the runtime's): event streams read a render when it changed. */
  renderChanges?: RenderChanges;
  /** How often an event stream reads its render without a notice: 5 s with live notices, else 500 ms. */
  ssePollMs?: number;
}

/**
 * The video service's HTTP API on the shared kit: assets, renders (create, status, SSE, cancel)
 * and their outputs. No I/O happens here; main.ts wires the database, queue and worker.
 *
 * @example
 * const app = createApp({ config, db, queue, store, components, logger, metrics, limiterFor, renderChanges });
 */
export function createApp(deps: VideoAppDeps): Hono<AppEnv> {
  const { config, components } = deps;
  const app = createService({
    name: SERVICE_NAME,
    db: deps.db,
    logger: deps.logger,
    metrics: deps.metrics,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    // Uploads set their own (larger) limit: RENDER_MAX_INPUT_BYTES.
    bodyLimitExempt: ['/assets'],
    beforeScrape: () => deps.queue.refreshDepthMetrics(),
    openApi: videoOpenApiDocument({
      specSchema: components.specSchema,
      publicUrl: config.publicUrl,
      maxInputBytes: config.RENDER_MAX_INPUT_BYTES,
    }),
  });

  const writePolicy: RateLimitPolicy = {
    name: 'video-writes',
    key: 'apiKey',
    points: config.VIDEO_RATE_POINTS,
    duration: config.VIDEO_RATE_DURATION_S,
  };
  const readPolicy: RateLimitPolicy = {
    name: 'video-reads',
    key: 'apiKey',
    points: config.VIDEO_READ_RATE_POINTS,
    duration: config.VIDEO_READ_RATE_DURATION_S,
  };
  const limit = (policy: RateLimitPolicy) =>
    rateLimit({
      policy,
      limiter: deps.limiterFor(policy),
      metrics: deps.metrics,
      trustProxy: config.TRUST_PROXY,
    });
  const auth = requireBearer(config.VIDEO_API_KEY);
  const readLimit = limit(readPolicy);
  // Authentication first: the limit is per API key, and a wrong key never costs a slot.
  const writeGuard = every(auth, limit(writePolicy));
  const readGuard = every(auth, readLimit);

  const shared = { store: deps.store, signer: components.signer, publicUrl: config.publicUrl };
  registerAssetRoutes(app, {
    store: deps.store,
    storage: components.storage,
    workspaces: components.workspaces,
    tools: components.tools,
    publicUrl: config.publicUrl,
    maxInputBytes: config.RENDER_MAX_INPUT_BYTES,
    maxInputPixels: config.RENDER_MAX_INPUT_PIXELS,
    uploadSlots: createConcurrencySlots({ max: config.VIDEO_MAX_CONCURRENT_UPLOADS }),
    metrics: deps.metrics,
    writeGuard,
    readGuard,
  });
  registerLutRoutes(app, {
    store: deps.store,
    storage: components.storage,
    workspaces: components.workspaces,
    writeGuard,
    readGuard,
  });
  registerRenderRoutes(app, {
    ...shared,
    queue: deps.queue,
    specSchema: components.specSchema,
    logger: deps.logger,
    metrics: deps.metrics,
    writeGuard,
    readGuard,
  });
  registerRenderList(app, { ...shared, readGuard });
  registerRenderEvents(app, {
    ...shared,
    guard: readGuard,
    changes: deps.renderChanges,
    pollMs: deps.ssePollMs ?? (deps.renderChanges?.live ? 5000 : 500),
    streamSlots: createConcurrencySlots({ max: config.VIDEO_MAX_SSE_STREAMS_PER_KEY }),
    metrics: deps.metrics,
  });
  registerOutputRoutes(app, {
    store: deps.store,
    storage: components.storage,
    signer: components.signer,
    apiKey: config.VIDEO_API_KEY,
    guard: readLimit,
  });
  return app;
}
