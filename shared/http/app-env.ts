import type { Logger } from '../observability/logger.ts';

/** The request's id and its logger, made by the kit's entry (request-context.ts) for every request. */
export interface RequestContext {
  readonly requestId: string;
  /** The service logger bound to this request's id. */
  readonly logger: Logger;
}

/**
 * What `c.env` holds in a service app: the runtime's own bindings (@hono/node-server's `incoming` and
 * `outgoing`, Deno's connection info) with the request's context on top. Read it through
 * `requestLogger(c)` and `requestIdOf(c)`.
 */
export interface RequestBindings {
  requestContext?: RequestContext;
  /**
   * The path to route by, when a host serves the app under a prefix (Supabase's `/<function>/…`): the app
   * then sees the very paths it has on Node, while `c.req.url` and `c.req.raw` stay the original request.
   */
  routingPath?: string;
}

/** The Hono environment every service app has; a service may add request variables of its own. */
export type AppEnv = {
  Bindings: RequestBindings;
  // biome-ignore lint/complexity/noBannedTypes: no kit variables; services add theirs
  Variables: {};
};
