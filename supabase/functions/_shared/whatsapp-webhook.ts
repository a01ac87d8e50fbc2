import { createApp, SERVICE_NAME } from '../../../services/whatsapp-webhook/app.ts';
import { DEV_DEFAULTS, loadWhatsAppConfig } from '../../../services/whatsapp-webhook/config.ts';
import { createWhatsAppQueues } from '../../../services/whatsapp-webhook/jobs.ts';
import { startQueue } from '../../../shared/queue/index.ts';
import { edgeEnv } from './edge-env.ts';
import { openEdgePlatform } from './edge-platform.ts';
import { type RunningEdgeFunction, serveEdge } from './serve-edge.ts';

/**
 * The WhatsApp service as an edge function: Meta's webhook and the outbound API, the same app as
 * services/whatsapp-webhook/main.ts. The queue is send-only here: outbound retries, agent replies and
 * media downloads are enqueued by the function and worked by the Node process, since an isolate ends
 * with its last response and has no disk for media.
 *
 * @example
 * await serveWhatsAppWebhook(); // supabase/functions/whatsapp-webhook/index.ts
 */
export async function serveWhatsAppWebhook(env = edgeEnv()): Promise<RunningEdgeFunction> {
  const { env: config, settings, port } = loadWhatsAppConfig(env);
  const platform = openEdgePlatform(SERVICE_NAME, config, { env });
  const { logger, metrics, db, breakers, limiterFor } = platform;
  if (settings.appSecret === DEV_DEFAULTS.appSecret || settings.apiKey === DEV_DEFAULTS.apiKey) {
    logger.warn(
      'WHATSAPP_APP_SECRET or WHATSAPP_API_KEY is the dev default; set them with `supabase secrets set`',
    );
  }
  if (settings.graph.sandbox) {
    logger.warn({ graphApiUrl: settings.graph.baseUrl }, 'no WHATSAPP_ACCESS_TOKEN: sending to the sandbox');
  }

  const queue = await startQueue(db, { logger, metrics, supervise: false });
  await createWhatsAppQueues(queue, settings.sendRetry, settings.routing.retry);
  const app = createApp({ settings, db, queue, logger, metrics, breakers, limiterFor });

  return serveEdge({
    name: SERVICE_NAME,
    app,
    logger,
    port,
    hostname: config.HOST,
    graceMs: config.SHUTDOWN_GRACE_MS,
    onClose: async () => {
      await queue.stop({ graceful: false });
      await platform.close();
    },
  });
}
