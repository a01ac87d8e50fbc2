import type { Env, Hono } from 'hono';
import type { Logger } from '../../../shared/observability/index.ts';
import { isSupabaseEdgeRuntime, onShutdown } from './edge-runtime.ts';
import { functionBasePath, mountAtFunctionPath } from './mount-at-function-path.ts';

export interface ServeEdgeOptions<E extends Env> {
  /** The function's name, which is also its base path: Supabase routes `/<name>/…` to it. */
  name: string;
  app: Hono<E>;
  logger: Logger;
  /** Plain Deno only (local runs, the smoke test): Supabase's runtime decides where it listens. */
  port?: number;
  hostname?: string;
  /** How long in-flight requests may run after a stop before the connections are cut. */
  graceMs?: number;
  /** Runs first: end long-lived connections (media streams) that would otherwise hold the drain. */
  beforeClose?: () => Promise<void>;
  /** Runs after the server stopped: close the database, stop queues and breakers. */
  onClose?: () => Promise<void>;
  /** Stop on the runtime's `beforeunload` and on SIGTERM/SIGINT (entry points); off in tests. Default true. */
  handleShutdown?: boolean;
}

export interface RunningEdgeFunction {
  basePath: string;
  server: Deno.HttpServer;
  /** Runs beforeClose, stops accepting, lets in-flight requests finish (bounded by graceMs), then onClose. Idempotent. */
  close(): Promise<void>;
}

/**
 * Serves a service app as a Supabase Edge Function: mounted under `/<name>`, on `Deno.serve`, shut down
 * on the runtime's `beforeunload` (or SIGTERM/SIGINT under plain Deno).
 *
 * @example
 * serveEdge({ name: 'voice-bridge', app, logger, onClose: () => db.close() });
 */
export function serveEdge<E extends Env>(options: ServeEdgeOptions<E>): RunningEdgeFunction {
  const { name, logger } = options;
  const basePath = functionBasePath(name);
  const handler = mountAtFunctionPath(name, options.app);
  const serveRequest = (request: Request, info: Deno.ServeHandlerInfo) => handler.fetch(request, info);
  let server: Deno.HttpServer;
  if (isSupabaseEdgeRuntime()) {
    // The runtime hands requests to the isolate itself: the documented form takes no listen options.
    server = Deno.serve(serveRequest);
    logger.info({ basePath }, 'edge function listening');
  } else {
    server = Deno.serve(
      {
        port: options.port ?? 8000,
        hostname: options.hostname ?? '0.0.0.0',
        onListen: ({ hostname, port }) =>
          logger.info({ basePath, hostname, port }, 'edge function listening'),
      },
      serveRequest,
    );
  }

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await options.beforeClose?.();
      const graceMs = options.graceMs ?? 10_000;
      let timer: ReturnType<typeof setTimeout> | undefined;
      // shutdown() waits for in-flight requests; past the grace period they are cut off.
      const cutOff = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([server.shutdown(), cutOff]).finally(() => clearTimeout(timer));
      await options.onClose?.();
    })().catch((error: unknown) => {
      logger.error({ err: error }, 'edge function shutdown failed');
    });
    return closing;
  };
  if (options.handleShutdown ?? true) {
    onShutdown(async (reason) => {
      logger.info({ reason }, 'edge function shutting down');
      await close();
    });
  }
  return { basePath, server, close };
}
