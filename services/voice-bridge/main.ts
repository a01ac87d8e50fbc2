/**
 * Node entry: config, database (embedded PGlite under DATA_DIR/voice-bridge unless DATABASE_URL), the
 * app, the WebSocket server for Media Streams, graceful shutdown. Nothing else lives here.
 */
import { createNodeWebSocket } from '@hono/node-ws';
import type { Hono } from 'hono';
import { loadConfigOrExit } from '../../shared/config/index.ts';
import { openDatabase, serviceDatabaseOptions } from '../../shared/db/index.ts';
import { serveNode } from '../../shared/http/index.ts';
import { createLogger, createMetrics } from '../../shared/observability/index.ts';
import { retentionSettingsFromEnv, startQueue, startRetentionJob } from '../../shared/queue/index.ts';
import { createBreakerRegistry, createLimitersFromConfig } from '../../shared/resilience/index.ts';
import { createApp, SERVICE_NAME, voiceAppConfig } from './app.ts';
import { DEV_VOICE_API_KEY, VoiceEnvSchema } from './config.ts';
import { createStreamRegistry } from './media-bridge.ts';
import { VOICE_RETAINED_TABLES, VOICE_RETENTION_QUEUE } from './retention.ts';

const config = loadConfigOrExit(SERVICE_NAME, VoiceEnvSchema);
const logger = createLogger({ service: SERVICE_NAME, level: config.LOG_LEVEL });
const metrics = createMetrics({ service: SERVICE_NAME, defaultMetrics: true });
if (config.VOICE_API_KEY === DEV_VOICE_API_KEY)
  logger.warn('VOICE_API_KEY is the dev default; set a real key');
if (config.twilio.sandbox)
  logger.warn({ apiUrl: config.twilio.apiUrl }, 'no Twilio credentials: using the sandbox');

const db = await openDatabase(serviceDatabaseOptions(config, SERVICE_NAME));
// The queue runs one job here: pruning call events past the retention.
const queue = await startQueue(db, { logger, metrics });
await startRetentionJob(queue, db, {
  name: VOICE_RETENTION_QUEUE,
  tables: VOICE_RETAINED_TABLES,
  ...retentionSettingsFromEnv(config),
  logger,
});
const breakers = createBreakerRegistry({ logger, metrics });
const limiters = createLimitersFromConfig(config, logger);
const streams = createStreamRegistry();

// node-ws needs the app to route upgrades and the app needs node-ws's upgradeWebSocket: a late binding.
let app: Hono | undefined;
const nodeWs = createNodeWebSocket({
  app: { request: (...args: Parameters<Hono['request']>) => app!.request(...args) } as Hono,
});
app = createApp({
  config: voiceAppConfig(config),
  db,
  logger,
  metrics,
  breakers,
  limiterFor: limiters.limiterFor,
  upgradeWebSocket: nodeWs.upgradeWebSocket,
  streams,
}) as unknown as Hono;

await serveNode(app, {
  port: config.port,
  hostname: config.HOST,
  logger,
  graceMs: config.SHUTDOWN_GRACE_MS,
  injectWebSocket: nodeWs.injectWebSocket,
  handleSignals: true,
  // Live calls hold their sockets open; end them when closing starts rather than after the HTTP drain.
  beforeClose: () => streams.closeAll(),
  onClose: async () => {
    nodeWs.wss.close();
    await queue.stop({ graceful: true, timeoutMs: config.SHUTDOWN_GRACE_MS });
    breakers.shutdown();
    await limiters.close();
    await db.close();
  },
});
