import { createNodeWebSocket } from '@hono/node-ws';
import { Hono } from 'hono';
import { createEchoAgent, type EchoAgentOptions } from '../../../sandbox/echo-agent/echo-agent.ts';
import { createTwilioSandbox, type TwilioSandboxOptions } from '../../../sandbox/twilio/calls-sandbox.ts';
import { createApp, type VoiceAppConfig } from '../../../services/voice-bridge/app.ts';
import { createStreamRegistry } from '../../../services/voice-bridge/media-bridge.ts';
import type { Database } from '../../../shared/db/index.ts';
import { createLogger, createMetrics } from '../../../shared/observability/index.ts';
import { createBreakerRegistry, createRateLimiterFactory } from '../../../shared/resilience/index.ts';
import { createTestDatabase } from '../../support/database.ts';
import { listen } from '../../support/http.ts';

export const API_KEY = 'test-voice-key';

export interface VoiceHarnessOptions {
  /** `down`: the agent URL points at a closed port. */
  agent?: 'echo' | 'down';
  /** Echo agent settings (e.g. a `transcribe` script). */
  echo?: Omit<EchoAgentOptions, 'upgradeWebSocket'>;
  sandbox?: TwilioSandboxOptions;
  config?: Partial<VoiceAppConfig>;
  /** How long the bridge waits for the agent's socket and first event (default 1000 ms). */
  agentConnectTimeoutMs?: number;
  /** Longest one Twilio REST request may take (the client's own cap beyond the breaker). */
  twilioRequestTimeoutMs?: number;
  /** Replace the Twilio REST transport (e.g. a stub) instead of the sandbox. */
  fetch?: typeof fetch;
  db?: Database;
}

/**
 * The voice bridge on a real socket, with the Twilio sandbox and the echo agent on another: every
 * request, callback and audio frame crosses real HTTP and WebSockets on loopback.
 */
export async function startVoiceHarness(options: VoiceHarnessOptions = {}) {
  const db = options.db ?? (await createTestDatabase());

  const providerRoot = new Hono();
  const providerWs = createNodeWebSocket({ app: providerRoot });
  const echo = createEchoAgent({ ...options.echo, upgradeWebSocket: providerWs.upgradeWebSocket });
  const twilio = createTwilioSandbox({
    stageDelayMs: 5,
    frameIntervalMs: 2,
    listenMs: 2000,
    ...options.sandbox,
  });
  providerRoot.route('/', twilio.app);
  providerRoot.route('/', echo.app);
  const provider = await listen(providerRoot, { injectWebSocket: providerWs.injectWebSocket });

  // The app's public URL is its own listening address, known only once it listens: bind late.
  let app: Hono | undefined;
  const voiceWs = createNodeWebSocket({
    app: { request: (...args: Parameters<Hono['request']>) => app!.request(...args) } as Hono,
  });
  const server = await listen(
    { fetch: (request: Request, env?: unknown) => app!.fetch(request, env) },
    { injectWebSocket: voiceWs.injectWebSocket },
  );
  const logger = createLogger({ service: 'voice-bridge', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const metrics = createMetrics({ service: 'voice-bridge' });
  const breakers = createBreakerRegistry({ logger, metrics, env: {} });
  const streams = createStreamRegistry();
  const config: VoiceAppConfig = {
    apiKey: API_KEY,
    publicUrl: server.url,
    twilio: {
      apiUrl: provider.url,
      accountSid: twilio.accountSid,
      authToken: twilio.authToken,
      fromNumber: '+15005550006',
      requestTimeoutMs: options.twilioRequestTimeoutMs,
    },
    agent: {
      url:
        options.agent === 'down'
          ? 'ws://127.0.0.1:9/agent/realtime'
          : `${provider.url.replace('http', 'ws')}/agent/realtime`,
      connectTimeoutMs: options.agentConnectTimeoutMs ?? 1000,
    },
    fallbackMessage: 'Sorry, the assistant is unavailable.',
    rateLimits: {
      outbound: { points: 10, durationSeconds: 60 },
      destination: { points: 3, durationSeconds: 3600 },
    },
    ...options.config,
  };
  app = createApp({
    config,
    db,
    logger,
    metrics,
    breakers,
    limiterFor: createRateLimiterFactory({ store: 'memory' }),
    upgradeWebSocket: voiceWs.upgradeWebSocket,
    streams,
    fetch: options.fetch,
  }) as unknown as Hono;

  const request = (path: string, init: RequestInit = {}) =>
    fetch(`${server.url}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${API_KEY}`,
        'content-type': 'application/json',
        ...(init.headers ?? {}),
      },
    });

  return {
    /** The app itself (its routes, for the contract test). */
    app: app as Hono,
    url: server.url,
    providerUrl: provider.url,
    db,
    twilio,
    echo,
    breakers,
    metrics,
    streams,
    config,
    request,
    placeCall: (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
      request('/calls/outbound', { method: 'POST', body: JSON.stringify(body), headers }),
    /** Waits until no media stream is open on our side (bounded). */
    async streamsClosed(timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      while (streams.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      return streams.size === 0;
    },
    async close() {
      await streams.closeAll();
      await twilio.close();
      echo.releaseHolds();
      echo.closeAll();
      await server.close();
      await provider.close();
      voiceWs.wss.close();
      providerWs.wss.close();
      breakers.shutdown();
      if (!options.db) await db.close();
    },
  };
}

export type VoiceHarness = Awaited<ReturnType<typeof startVoiceHarness>>;
