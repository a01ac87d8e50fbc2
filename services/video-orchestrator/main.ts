/**
 * Node API entry: config, the runtime (embedded PGlite under DATA_DIR/video-orchestrator unless
 * DATABASE_URL; there the render worker runs in this process too), the app, graceful shutdown.
 */
import { loadConfigOrExit } from '../../shared/config/index.ts';
import { serveNode } from '../../shared/http/index.ts';
import { createLogger, createMetrics } from '../../shared/observability/index.ts';
import { createLimitersFromConfig } from '../../shared/resilience/index.ts';
import { createApp, SERVICE_NAME } from './app.ts';
import { DEV_CALLBACK_SIGNING_SECRET, DEV_VIDEO_API_KEY, VideoEnvSchema } from './config.ts';
import { startVideoRuntime } from './video-runtime.ts';

const config = loadConfigOrExit(SERVICE_NAME, VideoEnvSchema);
const logger = createLogger({ service: SERVICE_NAME, level: config.LOG_LEVEL });
const metrics = createMetrics({ service: SERVICE_NAME, defaultMetrics: true });
if (config.VIDEO_API_KEY === DEV_VIDEO_API_KEY)
  logger.warn('VIDEO_API_KEY is the dev default; set a real key');
if (config.CALLBACK_SIGNING_SECRET === DEV_CALLBACK_SIGNING_SECRET) {
  logger.warn('CALLBACK_SIGNING_SECRET is the dev default; set a real secret');
}

const runtime = await startVideoRuntime(config, { logger, metrics, withWorker: config.runWorkerInApi });
if (!runtime.worker) logger.info('no render worker in this process: run `npm run worker`');
const limiters = createLimitersFromConfig(config, logger);
const app = createApp({
  config,
  db: runtime.db,
  queue: runtime.queue,
  store: runtime.store,
  components: runtime.components,
  logger,
  metrics,
  limiterFor: limiters.limiterFor,
  renderChanges: runtime.renderChanges,
});

await serveNode(app, {
  port: config.port,
  hostname: config.HOST,
  logger,
  graceMs: config.SHUTDOWN_GRACE_MS,
  handleSignals: true,
  // Renders get their grace period from the signal on, not after the HTTP drain (SSE streams hold it).
  beforeClose: async () => {
    await runtime.worker?.stop({ graceMs: config.SHUTDOWN_GRACE_MS });
  },
  onClose: async () => {
    await runtime.close({ graceMs: config.SHUTDOWN_GRACE_MS });
    await limiters.close();
  },
});
