import { Hono } from 'hono';
import { getPath } from 'hono/utils/url';
import type { Database } from '../db/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { ServiceMetrics } from '../observability/metrics.ts';
import type { AppEnv, RequestBindings } from './app-env.ts';
import { maxBody } from './body-limit.ts';
import { errorHandler, notFoundHandler } from './error-handlers.ts';
import type { OpenApiDocument } from './openapi-document.ts';
import { type DocsAssetLoader, registerOpenApiRoutes } from './openapi-routes.ts';
import { mountOperationalRoutes, type OperationalRoutesOptions } from './operational-routes.ts';
import { withRequestContext } from './request-context.ts';

const BODY_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'];

/** The path a host serving the app under a prefix gives it to route by, else the request URL's. */
const routingPath = (request: Request, options?: { env?: RequestBindings }): string =>
  options?.env?.routingPath ?? getPath(request);

export interface CreateServiceOptions {
  name: string;
  db: Database;
  logger: Logger;
  metrics: ServiceMetrics;
  /** Anything with `states()`: the breaker registry from shared/resilience. */
  breakers?: { states(): Record<string, string> };
  /** Default body limit for every route (413 past it); routes may set a smaller or larger one. */
  bodyLimitBytes?: number;
  /** Routes that set their own limit (e.g. uploads, webhooks) and skip the default one. */
  bodyLimitExempt?: string[];
  beforeScrape?: OperationalRoutesOptions['beforeScrape'];
  readinessChecks?: OperationalRoutesOptions['readinessChecks'];
  /** The service's OpenAPI document: served at /openapi.json, with Swagger UI at /docs. */
  openApi?: OpenApiDocument;
  /** Where /docs gets Swagger UI's files; default: the installed swagger-ui-dist. */
  docsAssets?: DocsAssetLoader;
}

/**
 * A Hono app with everything a service of ours shares: request ids and access logs, metrics,
 * a body limit, problem+json for every error, /health, /ready and /metrics, and with `openApi` the
 * document at /openapi.json and its reference at /docs. Add routes to it.
 *
 * @example
 * const app = createService({ name: 'voice-bridge', db, logger, metrics, breakers });
 * app.post('/calls/outbound', requireBearer(key), handler);
 */
export function createService<E extends AppEnv = AppEnv>(options: CreateServiceOptions): Hono<E> {
  const app = withRequestContext(new Hono<AppEnv>({ getPath: routingPath }), {
    logger: options.logger,
    metrics: options.metrics,
  });
  const defaultLimit = maxBody(options.bodyLimitBytes ?? 1024 * 1024);
  const exempt = new Set(options.bodyLimitExempt ?? []);
  // Only on the methods that carry a body: a GET route keeps its handler alone, which Hono answers
  // without its middleware chain (request-context.ts says why that matters).
  app.on(BODY_METHODS, '/*', async function defaultBodyLimit(c, next) {
    if (exempt.has(c.req.path)) return next();
    return defaultLimit(c, next);
  });
  app.notFound(notFoundHandler);
  app.onError(errorHandler);
  mountOperationalRoutes(app, {
    name: options.name,
    db: options.db,
    metrics: options.metrics,
    breakerStates: options.breakers ? () => options.breakers!.states() : undefined,
    beforeScrape: options.beforeScrape,
    readinessChecks: options.readinessChecks,
  });
  if (options.openApi) registerOpenApiRoutes(app, options.openApi, { docsAssets: options.docsAssets });
  // A service may add request variables of its own (its middleware sets them).
  return app as unknown as Hono<E>;
}
