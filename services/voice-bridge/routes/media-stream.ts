import type { Hono } from 'hono';
import type { UpgradeWebSocket } from 'hono/ws';
import { parseInput, problem } from '../../../shared/http/index.ts';
import type { Logger, ServiceMetrics } from '../../../shared/observability/index.ts';
import {
  createMediaBridge,
  type MediaBridge,
  type MediaBridgeDeps,
  type StreamRegistry,
} from '../media-bridge.ts';
import { MediaStreamParams } from '../schemas.ts';
import type { VoiceStore } from '../store.ts';
import { verifyStreamToken } from '../stream-token.ts';
import { observeMediaBridge, type VoiceMetrics } from '../voice-observability.ts';
import { twilioWebhookAuth, type VoiceEnv } from './twilio-webhook-auth.ts';

export interface MediaStreamOptions {
  store: VoiceStore;
  authToken: string;
  publicUrl: string;
  metrics: ServiceMetrics;
  voiceMetrics: VoiceMetrics;
  logger: Logger;
  /** `@hono/node-ws`'s on Node, `hono/deno`'s on Deno. */
  upgradeWebSocket: UpgradeWebSocket<unknown>;
  bridge: Omit<MediaBridgeDeps, 'store' | 'streamId'>;
  streams: StreamRegistry;
  clock: () => Date;
  newId: () => string;
}

/**
 * GET /media/:callId/:token: Twilio Media Streams. Before any WebSocket exists the upgrade must be signed
 * by Twilio over our `wss://` URL (403), carry an unexpired token we issued for this call (403), be for a
 * call we have (404) that has not ended (410), and find no other stream active on it (409).
 */
export function mountMediaStream(app: Hono<VoiceEnv>, options: MediaStreamOptions): void {
  const refuse = (reason: string) => options.voiceMetrics.streamsRefused.inc({ reason });
  app.get(
    '/media/:callId/:token?',
    twilioWebhookAuth({
      authToken: options.authToken,
      publicUrl: options.publicUrl,
      metrics: options.metrics,
      websocket: true,
    }),
    async function claimStream(c, next) {
      const { callId, token } = parseInput(MediaStreamParams, c.req.param(), 'params');
      const check = token ? verifyStreamToken(options.authToken, callId, token, options.clock()) : 'invalid';
      if (check !== 'valid') {
        refuse(check === 'expired' ? 'expired' : 'unsigned');
        const detail =
          check === 'expired' ? 'this stream URL has expired' : 'stream URL token missing or wrong';
        return problem(c, { status: 403, title: 'Forbidden', detail });
      }
      // Only a real upgrade takes the call's stream slot; anything else falls through to the 426.
      if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') return next();
      const streamId = options.newId();
      const claim = await options.store.claimMediaStream(callId, streamId);
      if (claim === 'unknown')
        return problem(c, { status: 404, title: 'Not Found', detail: `no call ${callId}` });
      if (claim === 'ended') {
        refuse('ended');
        return problem(c, { status: 410, title: 'Gone', detail: `call ${callId} has ended` });
      }
      if (claim === 'busy') {
        refuse('busy');
        return problem(c, {
          status: 409,
          title: 'Conflict',
          detail: `call ${callId} already has a media stream`,
        });
      }
      c.set('mediaStreamId', streamId);
      await next();
    },
    options.upgradeWebSocket((c) => {
      const callId = c.req.param('callId') as string;
      const streamId = c.get('mediaStreamId');
      // Built on open, not here: Hono asks for the events before it knows the upgrade will happen.
      let bridge: MediaBridge | undefined;
      return {
        onOpen(_event, ws) {
          bridge = createMediaBridge({ ...options.bridge, store: options.store, streamId }, callId, {
            send: (data) => ws.send(data),
            close: (code, reason) => ws.close(code, reason),
          });
          observeMediaBridge(bridge, callId, options.logger, options.voiceMetrics);
          options.streams.add(bridge);
        },
        onMessage(event) {
          if (typeof event.data === 'string') bridge?.handleMessage(event.data);
        },
        onClose() {
          if (bridge) bridge.handleClose();
          // The socket died during the handshake: give the slot back.
          else if (streamId)
            options.store.releaseMediaStream(streamId, 'upgrade not completed').catch(() => {});
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
