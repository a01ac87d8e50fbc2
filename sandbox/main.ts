/**
 * The provider sandbox as one local server (default port 4010): Meta's Graph API send endpoint with
 * signed status callbacks and inbound injection, Twilio's Calls.json driving whole calls (signed
 * webhooks, Media Streams), and an echo realtime voice agent. A dev/test tool: it stands in for the
 * SaaS we cannot run here, speaking their wire formats and signatures.
 */
import { serve } from '@hono/node-server';
import { createNodeWebSocket } from '@hono/node-ws';
import { Hono } from 'hono';
import { z } from 'zod';
import { envInt, envString, loadConfigOrExit } from '../shared/config/index.ts';
import { createLogger } from '../shared/observability/logger.ts';
import { createEchoAgent } from './echo-agent/echo-agent.ts';
import {
  createTwilioSandbox,
  defaultCallerClip,
  SANDBOX_ACCOUNT_SID,
  SANDBOX_AUTH_TOKEN,
} from './twilio/calls-sandbox.ts';
import { createGraphApiSandbox } from './whatsapp/graph-api-sandbox.ts';

// The sandbox signs with the same dev-only secrets the services default to, so `npm start`
// needs no variables; override both sides together to use others.
const SandboxEnv = z.object({
  SANDBOX_PORT: envInt(4010, { min: 0, max: 65535 }),
  SANDBOX_HOST: envString('127.0.0.1'),
  SANDBOX_WHATSAPP_WEBHOOK_URL: envString('http://127.0.0.1:8080/webhook'),
  /** Free-form messages to numbers that have not written within this many hours fail with 131047; 0: off. */
  SANDBOX_WHATSAPP_SERVICE_WINDOW_HOURS: envInt(24, { min: 0, max: 24 * 7 }),
  // Pause between a sandbox call's stages (queued → initiated → ringing → answered). The bench sets it
  // to hours so the calls it creates stay live and quiet while it posts their status callbacks itself.
  SANDBOX_TWILIO_STAGE_DELAY_MS: envInt(100, { min: 0, max: 2_000_000_000 }),
  WHATSAPP_APP_SECRET: envString('dev-whatsapp-app-secret'),
  WHATSAPP_PHONE_NUMBER_ID: envString('100000000000001'),
  TWILIO_ACCOUNT_SID: envString(SANDBOX_ACCOUNT_SID),
  TWILIO_AUTH_TOKEN: envString(SANDBOX_AUTH_TOKEN),
  LOG_LEVEL: envString('info'),
});

const config = loadConfigOrExit('sandbox', SandboxEnv);
const logger = createLogger({ service: 'sandbox', level: config.LOG_LEVEL });

const root = new Hono();
const { upgradeWebSocket, injectWebSocket } = createNodeWebSocket({ app: root });

const graph = createGraphApiSandbox({
  webhookUrl: config.SANDBOX_WHATSAPP_WEBHOOK_URL,
  appSecret: config.WHATSAPP_APP_SECRET,
  phoneNumberId: config.WHATSAPP_PHONE_NUMBER_ID,
  serviceWindowHours: config.SANDBOX_WHATSAPP_SERVICE_WINDOW_HOURS || undefined,
  onError: (error, context) => logger.warn({ err: error, context }, 'whatsapp sandbox'),
});
const twilio = createTwilioSandbox({
  accountSid: config.TWILIO_ACCOUNT_SID,
  authToken: config.TWILIO_AUTH_TOKEN,
  stageDelayMs: config.SANDBOX_TWILIO_STAGE_DELAY_MS,
  // A polite demo caller: hears the consent question out (when the bridge asks one), presses 1, speaks.
  script: [{ untilHeardMs: 1000, timeoutMs: 3000 }, { dtmf: '1' }, { say: defaultCallerClip() }],
  log: (message, fields) => logger.info(fields ?? {}, message),
});
const echo = createEchoAgent({ upgradeWebSocket });

root.get('/health', (c) => c.json({ status: 'ok', service: 'sandbox' }));
root.route('/', twilio.app);
root.route('/', echo.app);
root.route('/', graph);

const server = serve(
  { fetch: root.fetch, port: config.SANDBOX_PORT, hostname: config.SANDBOX_HOST },
  (info) => logger.info({ port: info.port }, 'provider sandbox listening'),
);
injectWebSocket(server);

const stop = () => {
  graph.close();
  echo.releaseHolds();
  echo.closeAll();
  void twilio.close();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 3000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
