import { createApp, SERVICE_NAME } from '../../../services/video-orchestrator/app.ts';
import {
  DEV_CALLBACK_SIGNING_SECRET,
  DEV_VIDEO_API_KEY,
  loadVideoConfig,
} from '../../../services/video-orchestrator/config.ts';
import { startVideoRuntime } from '../../../services/video-orchestrator/video-runtime.ts';
import { ConfigError } from '../../../shared/config/index.ts';
import { edgeEnv } from './edge-env.ts';
import { openEdgePlatform } from './edge-platform.ts';
import { functionBasePath } from './mount-at-function-path.ts';
import { type RunningEdgeFunction, serveEdge } from './serve-edge.ts';

/**
 * The video API as an edge function: assets, renders (create, status, SSE, cancel) and outputs, the same
 * app as services/video-orchestrator/main.ts. It only enqueues: renders need ffmpeg and minutes of CPU,
 * which an isolate has neither of, so the render worker runs on Node (`npm run worker`) against the same
 * database. Objects go to Supabase Storage (the default here; SUPABASE_URL and the service-role key are
 * set by Supabase), since an isolate's /tmp is invisible to the worker.
 *
 * @example
 * await serveVideoOrchestrator(); // supabase/functions/video-orchestrator/index.ts
 */
export async function serveVideoOrchestrator(env = edgeEnv()): Promise<RunningEdgeFunction> {
  const config = loadVideoConfig({ ...env, STORAGE_DRIVER: env.STORAGE_DRIVER || 'supabase' });
  if (config.STORAGE_DRIVER !== 'supabase') {
    throw new ConfigError(SERVICE_NAME, [
      {
        variable: 'STORAGE_DRIVER',
        reason: "must be supabase on the edge: an isolate's files are invisible to the render worker",
      },
    ]);
  }
  const platform = openEdgePlatform(SERVICE_NAME, config, { env, schema: config.VIDEO_DB_SCHEMA });
  const { logger, metrics, db, limiterFor } = platform;
  if (config.VIDEO_API_KEY === DEV_VIDEO_API_KEY) {
    logger.warn('VIDEO_API_KEY is the dev default; set it with `supabase secrets set`');
  }
  if (config.CALLBACK_SIGNING_SECRET === DEV_CALLBACK_SIGNING_SECRET) {
    logger.warn('CALLBACK_SIGNING_SECRET is the dev default; set it with `supabase secrets set`');
  }
  // Output links and Location headers are built from VIDEO_PUBLIC_URL: on Supabase it ends in the function path.
  const basePath = functionBasePath(SERVICE_NAME);
  if (!new URL(config.publicUrl).pathname.endsWith(basePath)) {
    logger.warn(
      { publicUrl: config.publicUrl },
      `VIDEO_PUBLIC_URL should be https://<project-ref>.supabase.co/functions/v1${basePath}`,
    );
  }

  // The database is ours (no migrations at boot, no PGlite); the runtime adds queue, store and components.
  const runtime = await startVideoRuntime(config, { logger, metrics, withWorker: false, db });
  const app = createApp({
    config,
    db,
    queue: runtime.queue,
    store: runtime.store,
    components: runtime.components,
    logger,
    metrics,
    limiterFor,
    renderChanges: runtime.renderChanges,
  });

  return serveEdge({
    name: SERVICE_NAME,
    app,
    logger,
    port: config.port,
    hostname: config.HOST,
    graceMs: config.SHUTDOWN_GRACE_MS,
    onClose: async () => {
      await runtime.close({ graceMs: 0 });
      await platform.close();
    },
  });
}
