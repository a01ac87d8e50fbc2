import type { Hono } from 'hono';
import type { UpgradeWebSocket } from 'hono/ws';
import { parseInput, problem } from '../../../shared/http/index.ts';
import type { ServiceMetrics } from '../../../shared/observability/index.ts';
import {
  createMediaBridge,
  type MediaBridge,
  type MediaBridgeDeps,
  type StreamRegistry,
} from '../media-bridge.ts';
import { MediaStreamParams } from '../schemas.ts';
import type { VoiceStore } from '../store.ts';
import { twilioWebhookAuth, type VoiceEnv } from './twilio-webhook-auth.ts';

export interface MediaStreamOptions {
  store: VoiceStore;
  authToken: string;
  publicUrl: string;
  metrics: ServiceMetrics;
  /** `@hono/node-ws`'s on Node, `hono/deno`'s on Deno. */
  upgradeWebSocket: UpgradeWebSocket<unknown>;
  bridge: Omit<MediaBridgeDeps, 'store'>;
  streams: StreamRegistry;
}

/**
 * GET /media/:callId: Twilio Media Streams. The upgrade is signed over our `wss://` URL; an unsigned
 * one, or one for a call we do not have, is refused before any WebSocket exists.
 */
export function mountMediaStream(app: Hono<VoiceEnv>, options: MediaStreamOptions): void {
  app.get(
    '/media/:callId',
    twilioWebhookAuth({
      authToken: options.authToken,
      publicUrl: options.publicUrl,
      metrics: options.metrics,
      websocket: true,
    }),
    async function knownCall(c, next) {
      const { callId } = parseInput(MediaStreamParams, c.req.param(), 'params');
      if (!(await options.store.getCall(callId))) {
        return problem(c, { status: 404, title: 'Not Found', detail: `no call ${callId}` });
      }
      await next();
    },
    options.upgradeWebSocket((c) => {
      const callId = c.req.param('callId') as string;
      // Built on open, not here: Hono asks for the events before it knows the upgrade will happen.
      let bridge: MediaBridge | undefined;
      return {
        onOpen(_event, ws) {
          bridge = createMediaBridge({ ...options.bridge, store: options.store }, callId, {
            send: (data) => ws.send(data),
            close: (code, reason) => ws.close(code, reason),
          });
          options.streams.add(bridge);
        },
        onMessage(event) {
          if (typeof event.data === 'string') bridge?.handleMessage(event.data);
        },
        onClose() {
          bridge?.handleClose();
        },
        onError() {
          bridge?.handleClose();
        },
      };
    }),
    (c) =>
      problem(c, {
        status: 426,
        title: 'Upgrade Required',
        detail: 'this endpoint speaks Twilio Media Streams over WebSocket',
        headers: { Upgrade: 'websocket' },
      }),
  );
}
