/**
 * Worker-only entry (`npm run worker`): render, dead-letter and callback workers against
 * DATABASE_URL. Concurrency × ffmpeg threads ≈ cores unless RENDER_CONCURRENCY /
 * RENDER_FFMPEG_THREADS say otherwise. SIGTERM/SIGINT: stop taking jobs, give running renders
 * SHUTDOWN_GRACE_MS, then stop and requeue them.
 */
import { loadConfigOrExit } from '../../shared/config/index.ts';
import { createLogger, createMetrics } from '../../shared/observability/index.ts';
import { SERVICE_NAME } from './app.ts';
import { VideoEnvSchema } from './config.ts';
import { startVideoRuntime } from './video-runtime.ts';

const config = loadConfigOrExit(SERVICE_NAME, VideoEnvSchema);
const logger = createLogger({ service: `${SERVICE_NAME}-worker`, level: config.LOG_LEVEL });
if (!config.DATABASE_URL) {
  logger.error(
    'npm run worker needs DATABASE_URL; without it `npm start` runs the worker on the embedded database',
  );
  process.exit(1);
}
const metrics = createMetrics({ service: `${SERVICE_NAME}-worker`, defaultMetrics: true });
const runtime = await startVideoRuntime(config, {
  logger,
  metrics,
  withWorker: true,
  followRenderChanges: false,
});

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    runtime.close({ graceMs: config.SHUTDOWN_GRACE_MS }).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
