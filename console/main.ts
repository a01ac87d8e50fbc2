/** Node entry: config, logger, the console app, graceful shutdown. Nothing else lives here. */
import { exitOnConfigError } from '../shared/config/index.ts';
import { serveNode } from '../shared/http/index.ts';
import { createLogger, createMetrics } from '../shared/observability/index.ts';
import { createConsoleApp } from './app.ts';
import { consoleConfigFromEnv, DEV_OPERATOR_API_KEY } from './config.ts';

const config = exitOnConfigError(() => consoleConfigFromEnv());
const logger = createLogger({ service: 'console', level: config.logLevel });
const metrics = createMetrics({ service: 'console', defaultMetrics: false });
if (config.operatorKey === DEV_OPERATOR_API_KEY)
  logger.warn('OPERATOR_API_KEY is the dev default; set a real key');

const app = createConsoleApp({ settings: config, logger, metrics });
await serveNode(app, {
  port: config.port,
  hostname: config.host,
  logger,
  graceMs: config.graceMs,
  handleSignals: true,
});
