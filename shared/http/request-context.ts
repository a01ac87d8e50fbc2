import type { ServerResponse } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from '../observability/logger.ts';
import type { ServiceMetrics } from '../observability/metrics.ts';
import type { AppEnv } from './app-env.ts';
import { requestHeader } from './node-request.ts';

// A caller's id is echoed only when it looks like an id: it lands in logs and headers.
const ACCEPTABLE_REQUEST_ID = /^[\w.:-]{1,128}$/;

export interface RequestContextOptions {
  logger: Logger;
  metrics: ServiceMetrics;
}

/**
 * A child logger made on first use. Creating one runs pino's redaction over its bindings, which costs more
 * than the rest of a cheap request, and most requests never log.
 */
function lazyChild(logger: Logger, bindings: Record<string, unknown>): Logger {
  let child: Logger | undefined;
  return new Proxy(logger, {
    get(_target, property) {
      child ??= logger.child(bindings);
      const value = Reflect.get(child, property, child);
      return typeof value === 'function' ? value.bind(child) : value;
    },
    set(_target, property, value) {
      child ??= logger.child(bindings);
      return Reflect.set(child, property, value, child);
    },
  });
}

/**
 * On Node the id goes straight onto the ServerResponse (Node merges it into the status line's headers):
 * `c.header()` would give the response an undici Headers object, and @hono/node-server then leaves
 * its fast path for plain header records on every answer. Elsewhere Hono sets it as the response is built.
 */
function echoRequestId(c: Context, requestId: string): void {
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  if (outgoing && typeof outgoing.setHeader === 'function' && !outgoing.headersSent)
    outgoing.setHeader('X-Request-Id', requestId);
  else c.header('X-Request-Id', requestId);
}

/**
 * Accepts or generates `X-Request-Id`, echoes it, binds it to a per-request logger, and records
 * the request duration by route template (never the raw path: ids would explode the label set).
 *
 * @example
 * app.use(requestContext({ logger, metrics }));
 */
export function requestContext(options: RequestContextOptions): MiddlewareHandler<AppEnv> {
  const debug = options.logger.isLevelEnabled('debug');
  return async function requestContextMiddleware(c, next) {
    const started = performance.now();
    const offered = requestHeader(c, 'x-request-id');
    const requestId = offered && ACCEPTABLE_REQUEST_ID.test(offered) ? offered : crypto.randomUUID();
    const logger = lazyChild(options.logger, { requestId });
    c.set('requestId', requestId);
    c.set('logger', logger);
    echoRequestId(c, requestId);
    await next();
    const seconds = (performance.now() - started) / 1000;
    const route = c.req.routePath === '/*' && c.res.status === 404 ? 'unmatched' : c.req.routePath;
    options.metrics.httpDuration.observe(
      { method: c.req.method, route, status: String(c.res.status) },
      seconds,
    );
    if (debug) {
      logger.debug(
        { method: c.req.method, route, status: c.res.status, ms: Math.round(seconds * 1000) },
        'request',
      );
    }
  };
}
