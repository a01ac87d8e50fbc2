import { createApp, SERVICE_NAME, voiceAppConfig } from '../../../services/voice-bridge/app.ts';
import { DEV_VOICE_API_KEY, loadVoiceConfig } from '../../../services/voice-bridge/config.ts';
import { createStreamRegistry } from '../../../services/voice-bridge/media-bridge.ts';
import { edgeEnv } from './edge-env.ts';
import { openEdgePlatform } from './edge-platform.ts';
import { functionBasePath } from './mount-at-function-path.ts';
import { type RunningEdgeFunction, serveEdge } from './serve-edge.ts';
import { upgradeWebSocket } from './upgrade-web-socket.ts';

/**
 * The voice bridge as an edge function: outbound calls, Twilio's webhooks and the Media Streams
 * WebSocket, the same app as services/voice-bridge/main.ts with `hono/deno`'s upgrade. A media stream
 * lives at most as long as the function's wall-clock limit (150 s free, 400 s paid), so calls that may run
 * longer should stream to the Node service.
 *
 * @example
 * await serveVoiceBridge(); // supabase/functions/voice-bridge/index.ts
 */
export async function serveVoiceBridge(env = edgeEnv()): Promise<RunningEdgeFunction> {
  const config = loadVoiceConfig(env);
  const platform = openEdgePlatform(SERVICE_NAME, config, { env });
  const { logger, metrics, db, breakers, limiterFor } = platform;
  if (config.VOICE_API_KEY === DEV_VOICE_API_KEY) {
    logger.warn('VOICE_API_KEY is the dev default; set it with `supabase secrets set`');
  }
  if (config.twilio.sandbox) {
    logger.warn({ apiUrl: config.twilio.apiUrl }, 'no Twilio credentials: using the sandbox');
  }
  // Twilio calls back on URLs built from VOICE_PUBLIC_URL, which on Supabase ends in the function path.
  const basePath = functionBasePath(SERVICE_NAME);
  if (!new URL(config.VOICE_PUBLIC_URL).pathname.replace(/\/+$/, '').endsWith(basePath)) {
    logger.warn(
      { publicUrl: config.VOICE_PUBLIC_URL },
      `VOICE_PUBLIC_URL should be https://<project-ref>.supabase.co/functions/v1${basePath}`,
    );
  }

  const streams = createStreamRegistry();
  const app = createApp({
    config: voiceAppConfig(config),
    db,
    logger,
    metrics,
    breakers,
    limiterFor,
    upgradeWebSocket,
    streams,
  });

  return serveEdge({
    name: SERVICE_NAME,
    app,
    logger,
    port: config.port,
    hostname: config.HOST,
    graceMs: config.SHUTDOWN_GRACE_MS,
    beforeClose: () => streams.closeAll(),
    onClose: () => platform.close(),
  });
}
