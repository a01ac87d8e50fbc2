import type { Context, Hono } from 'hono';
import { createLogger, type Logger } from '../observability/logger.ts';
import type { ServiceMetrics } from '../observability/metrics.ts';
import type { AppEnv, RequestBindings, RequestContext } from './app-env.ts';
import type { NodeBindings } from './node-request.ts';

// A caller's id is echoed only when it looks like an id: it lands in logs and headers.
const ACCEPTABLE_REQUEST_ID = /^[\w.:-]{1,128}$/;

export interface RequestContextOptions {
  logger: Logger;
  metrics: ServiceMetrics;
}

/**
 * The child logger is made on first use: creating one runs pino's redaction over its bindings, which costs
 * more than the rest of a cheap request, and most requests never log.
 */
class BoundRequest implements RequestContext {
  readonly #base: Logger;
  #logger: Logger | undefined;
  readonly requestId: string;
  constructor(base: Logger, requestId: string) {
    this.#base = base;
    this.requestId = requestId;
  }
  get logger(): Logger {
    this.#logger ??= this.#base.child({ requestId: this.requestId });
    return this.#logger;
  }
}

let unbound: Logger | undefined;

/**
 * The request's logger, bound to its id. In an app the kit's entry does not serve (a bare Hono app
 * around one middleware, in a test) there is no request to bind: a silent logger.
 */
export function requestLogger(c: Context): Logger {
  const context = (c.env as RequestBindings | undefined)?.requestContext;
  if (context) return context.logger;
  unbound ??= createLogger({ service: 'unbound', level: 'silent' });
  return unbound;
}

/** The request's id (the caller's `X-Request-Id` when it looks like one, else a fresh UUID). */
export function requestIdOf(c: Context): string | undefined {
  return (c.env as RequestBindings | undefined)?.requestContext?.requestId;
}

function offeredRequestId(request: Request, env: NodeBindings | undefined): string | undefined {
  // On Node the header is read off the IncomingMessage: `request.headers` would make @hono/node-server
  // build the whole web Request.
  const value = env?.incoming ? env.incoming.headers['x-request-id'] : request.headers.get('x-request-id');
  return typeof value === 'string' && ACCEPTABLE_REQUEST_ID.test(value) ? value : undefined;
}

function withRequestIdHeader(response: Response, requestId: string): Response {
  // A WebSocket upgrade (101) or an error response cannot be built again; they leave as they are.
  if (response.status < 200 || response.status > 599) return response;
  // Built again rather than changed: a response passed through from fetch has immutable headers, and
  // @hono/node-server's lightweight Response loses a header set on it once something reads its body.
  const headers = new Headers(response.headers);
  headers.set('X-Request-Id', requestId);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/**
 * The runtime's own bindings object, each request's own (@hono/node-server's `{ incoming, outgoing }`,
 * Deno's connection info): what a library writes there (@hono/node-ws's connection key) must reach the
 * runtime. Only one that cannot take a property is read through a copy's prototype.
 */
function requestBindings(env: unknown): RequestBindings {
  if (env === undefined || env === null) return {};
  if (typeof env === 'object' && Object.isExtensible(env)) return env as RequestBindings;
  return Object.create(env as object) as RequestBindings;
}

/** The route template a request matched: its last handler's path; only '/*' middleware means none. */
function routeLabel(handlers: readonly (readonly [unknown, ...unknown[]])[], status: number): string {
  const last = handlers.at(-1)?.[0] as [unknown, { path: string }] | undefined;
  const route = last?.[1].path ?? '/*';
  return route === '/*' && status === 404 ? 'unmatched' : route;
}

/**
 * The kit's entry for every request, around the app's own `fetch`: accepts or generates `X-Request-Id` and
 * echoes it, gives the request a logger bound to it (`requestLogger(c)`), and records the request's
 * duration by route template (never the raw path: ids would explode the label set).
 *
 * Why here and not as a middleware: with any middleware Hono answers every route through its composed,
 * promise-returning path, and @hono/node-server then awaits each answer instead of writing it at once.
 * Outside the chain, a route with a single synchronous handler (`/health`) is answered synchronously.
 * `app.fetch` is replaced on the instance, so every way in (serveNode, `app.request` in tests, Deno.serve)
 * passes through it.
 *
 * @example
 * withRequestContext(app, { logger, metrics });
 */
export function withRequestContext<E extends AppEnv>(app: Hono<E>, options: RequestContextOptions): Hono<E> {
  const dispatch = app.fetch;
  const debug = options.logger.isLevelEnabled('debug');
  // The route comes from the very match Hono routed the request with: its router is asked once per
  // request, synchronously inside `fetch`, so the last match seen right after the call is this request's.
  const router = app.router;
  let lastMatch: ReturnType<typeof router.match> | undefined;
  app.router = {
    get name() {
      return router.name;
    },
    add: (method, path, handler) => router.add(method, path, handler),
    match: (method, path) => {
      lastMatch = router.match(method, path);
      return lastMatch;
    },
  };
  app.fetch = (request: Request, env?: unknown, executionCtx?: unknown) => {
    const started = performance.now();
    const runtime = env as NodeBindings | undefined;
    const requestId = offeredRequestId(request, runtime) ?? crypto.randomUUID();
    const context = new BoundRequest(options.logger, requestId);
    const bindings = requestBindings(env);
    bindings.requestContext = context;
    // On Node the id goes straight onto the ServerResponse: a header on the web Response would make
    // @hono/node-server leave its fast path for plain header records on every answer.
    const outgoing = runtime?.outgoing;
    const onNode = outgoing !== undefined && typeof outgoing.setHeader === 'function';
    if (onNode) outgoing.setHeader('X-Request-Id', requestId);
    lastMatch = undefined;
    const answer = dispatch(request, bindings, executionCtx as never);
    const handlers = lastMatch?.[0] ?? [];
    const finish = (response: Response): Response => {
      const seconds = (performance.now() - started) / 1000;
      const route = routeLabel(handlers, response.status);
      options.metrics.httpDuration.observe(
        { method: request.method, route, status: String(response.status) },
        seconds,
      );
      if (debug) {
        context.logger.debug(
          { method: request.method, route, status: response.status, ms: Math.round(seconds * 1000) },
          'request',
        );
      }
      return onNode ? response : withRequestIdHeader(response, requestId);
    };
    return answer instanceof Promise ? answer.then(finish) : finish(answer);
  };
  return app;
}
