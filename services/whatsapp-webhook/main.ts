/**
 * Node entry: config, database (embedded PGlite under DATA_DIR/whatsapp-webhook unless DATABASE_URL,
 * migrated at start), queue and workers, the app, graceful shutdown. Nothing else lives here.
 */
import { exitOnConfigError } from '../../shared/config/index.ts';
import { openDatabase, serviceDatabaseOptions } from '../../shared/db/index.ts';
import { serveNode } from '../../shared/http/index.ts';
import { createLogger, createMetrics } from '../../shared/observability/index.ts';
import { retentionSettingsFromEnv, startQueue, startRetentionJob } from '../../shared/queue/index.ts';
import { createBreakerRegistry, createLimitersFromConfig } from '../../shared/resilience/index.ts';
import { createApp, SERVICE_NAME } from './app.ts';
import { createComponents } from './components.ts';
import { DEV_DEFAULTS, loadWhatsAppConfig } from './config.ts';
import { createWhatsAppQueues } from './jobs.ts';
import { WHATSAPP_RETAINED_TABLES, WHATSAPP_RETENTION_QUEUE } from './retention.ts';
import { startWorkers } from './workers.ts';

const { env, settings, port } = exitOnConfigError(() => loadWhatsAppConfig());
const logger = createLogger({ service: SERVICE_NAME, level: env.LOG_LEVEL });
const metrics = createMetrics({ service: SERVICE_NAME, defaultMetrics: true });
if (settings.appSecret === DEV_DEFAULTS.appSecret || settings.apiKey === DEV_DEFAULTS.apiKey) {
  logger.warn(
    'WHATSAPP_APP_SECRET or WHATSAPP_API_KEY is the dev default; set real values outside development',
  );
}
if (settings.graph.sandbox)
  logger.warn({ graphApiUrl: settings.graph.baseUrl }, 'no WHATSAPP_ACCESS_TOKEN: sending to the sandbox');

const db = await openDatabase(serviceDatabaseOptions(env, SERVICE_NAME));
const queue = await startQueue(db, { logger, metrics });
await createWhatsAppQueues(queue, settings.sendRetry, settings.routing.retry);
const breakers = createBreakerRegistry({ logger, metrics });
const limiters = createLimitersFromConfig(env, logger);

const deps = { settings, db, queue, logger, metrics, breakers, limiterFor: limiters.limiterFor };
const components = createComponents(deps);
const app = createApp({ ...deps, components });
await startWorkers({ ...deps, components });
await startRetentionJob(queue, db, {
  name: WHATSAPP_RETENTION_QUEUE,
  tables: WHATSAPP_RETAINED_TABLES,
  ...retentionSettingsFromEnv(env),
  logger,
});

await serveNode(app, {
  port,
  hostname: env.HOST,
  logger,
  graceMs: env.SHUTDOWN_GRACE_MS,
  handleSignals: true,
  onClose: async () => {
    await queue.stop({ graceful: true, timeoutMs: env.SHUTDOWN_GRACE_MS });
    breakers.shutdown();
    await limiters.close();
    await db.close();
  },
});
