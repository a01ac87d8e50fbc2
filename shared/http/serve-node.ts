import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Logger } from '../observability/logger.ts';

export interface ServeNodeOptions {
  port: number;
  hostname?: string;
  logger: Logger;
  /** How long in-flight requests may run after a stop signal before their sockets are cut. */
  graceMs?: number;
  /**
   * Starts as soon as closing starts and runs beside the drain (awaited before onClose): end long-lived
   * streams (WebSockets) that would hold the drain, stop background workers.
   */
  beforeClose?: () => Promise<void>;
  /** Runs after the server stopped accepting and drained: stop workers, close the database. */
  onClose?: () => Promise<void>;
  /** @hono/node-ws's injectWebSocket, for apps that upgrade. */
  injectWebSocket?: (server: Server) => void;
  /** Exit the process on SIGTERM/SIGINT once closed (entry points); off in tests. */
  handleSignals?: boolean;
}

export interface RunningServer {
  port: number;
  url: string;
  server: Server;
  /** Stops accepting, drains in-flight requests (bounded), then runs onClose. Idempotent. */
  close(): Promise<void>;
}

/**
 * Serves a Hono app on Node with graceful shutdown.
 *
 * @example
 * await serveNode(app, { port: 3001, logger, onClose: () => db.close(), handleSignals: true });
 */
export async function serveNode(
  app: { fetch(request: Request, env?: unknown): Response | Promise<Response> },
  options: ServeNodeOptions,
): Promise<RunningServer> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: options.port, hostname: options.hostname ?? '0.0.0.0' }, () =>
      resolve(s as Server),
    ) as Server;
    s.once('error', reject);
  });
  options.injectWebSocket?.(server);
  const port = (server.address() as AddressInfo).port;
  const host = options.hostname && options.hostname !== '0.0.0.0' ? options.hostname : '127.0.0.1';
  let closing: Promise<void> | undefined;

  const close = () => {
    closing ??= (async () => {
      const graceMs = options.graceMs ?? 10_000;
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive sockets become idle as their last response ends; close them as they do
      // rather than waiting out the keep-alive timeout.
      server.closeIdleConnections();
      const before = options.beforeClose?.().catch((error: unknown) => {
        options.logger.warn({ err: error }, 'beforeClose failed');
      });
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const cut = setTimeout(() => server.closeAllConnections(), graceMs);
      cut.unref();
      await drained;
      clearInterval(sweep);
      clearTimeout(cut);
      await before;
      await options.onClose?.();
    })();
    return closing;
  };

  if (options.handleSignals) {
    const onSignal = (signal: NodeJS.Signals) => {
      options.logger.info({ signal }, 'shutting down');
      close().then(
        () => {
          options.logger.info('stopped');
          process.exit(0);
        },
        (error: unknown) => {
          options.logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  options.logger.info({ port }, 'listening');
  return { port, url: `http://${host}:${port}`, server, close };
}
