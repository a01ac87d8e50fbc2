import { upgradeWebSocket as denoUpgradeWebSocket } from 'hono/deno';
import { defineWebSocketHelper, type WSEvents } from 'hono/ws';
import { waitUntil } from './edge-runtime.ts';

/**
 * `hono/deno`'s upgradeWebSocket, plus one thing the edge needs: once the upgrade response is sent the
 * runtime sees no pending work and may retire the isolate with the socket still open (an `EarlyDrop`).
 * Each open socket therefore holds an `EdgeRuntime.waitUntil` promise until it closes. Sockets still
 * end at the function's wall-clock limit.
 *
 * @example
 * const app = createApp({ ...deps, upgradeWebSocket });
 */
export const upgradeWebSocket = defineWebSocketHelper<WebSocket, Deno.UpgradeWebSocketOptions>(
  (c, events, options) => {
    let release: (() => void) | undefined;
    const held: WSEvents<WebSocket> = {
      ...events,
      onOpen: (event, ws) => {
        waitUntil(
          new Promise<void>((resolve) => {
            release = resolve;
          }),
        );
        events.onOpen?.(event, ws);
      },
      onClose: (event, ws) => {
        release?.();
        events.onClose?.(event, ws);
      },
    };
    return denoUpgradeWebSocket(c, held, options);
  },
);
