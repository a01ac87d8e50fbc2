import { type Env, Hono } from 'hono';
import { getPath } from 'hono/utils/url';
import { problem, type RequestBindings } from '../../../shared/http/index.ts';

/** A `Deno.serve` handler; the connection info becomes the app's `c.env` (client IP, `hono/deno` helpers). */
export interface FetchHandler {
  fetch(request: Request, info?: Deno.ServeHandlerInfo): Response | Promise<Response>;
}

/** Supabase routes `https://<ref>.supabase.co/functions/v1/<name>/…` to the function as `/<name>/…`. */
export function functionBasePath(name: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`"${name}" is not a function name`);
  return `/${name}`;
}

/**
 * Serves `app` (a `createService` app) under `/<name>`, as Supabase delivers requests to a function. The
 * prefix is taken off the routing path (the `routingPath` binding) rather than added to the routes
 * (`route('/<name>', app)`), so the app sees the very paths it has on Node: `c.req.path` is `/health`, not
 * `/<name>/health`, which keeps path-keyed logic (body-limit exemptions such as `/webhook`, route labels in
 * metrics, problem `instance`) identical on both runtimes. The app's own `fetch` answers, with the kit's
 * request context around it. `c.req.raw` and `c.req.url` stay the original request, which a WebSocket
 * upgrade needs. Paths outside the prefix answer 404 problem+json.
 *
 * @example
 * Deno.serve(mountAtFunctionPath('voice-bridge', app).fetch); // GET /voice-bridge/health → app's /health
 */
export function mountAtFunctionPath<E extends Env>(name: string, app: Hono<E>): FetchHandler {
  const base = functionBasePath(name);
  const relativePath = (path: string): string | undefined => {
    if (path === base) return '/';
    return path.startsWith(`${base}/`) ? path.slice(base.length) : undefined;
  };

  const outside = new Hono();
  outside.all('*', (c) =>
    problem(c, { status: 404, title: 'Not Found', detail: `this function serves paths under ${base}/` }),
  );

  return {
    fetch: (request, info) => {
      const routingPath = relativePath(getPath(request));
      if (routingPath === undefined) return outside.fetch(request, info);
      // Deno's connection info stays readable through the prototype (client IPs, `hono/deno` helpers).
      const bindings: RequestBindings = Object.create(info ?? null);
      bindings.routingPath = routingPath;
      return app.fetch(request, bindings);
    },
  };
}
