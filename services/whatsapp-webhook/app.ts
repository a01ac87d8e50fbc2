import type { Hono } from 'hono';
import { type AppEnv, createService } from '../../shared/http/index.ts';
import type { RateLimitPolicy } from '../../shared/resilience/index.ts';
import { createComponents, type WhatsAppComponents, type WhatsAppDeps } from './components.ts';
import { createDeliveryReplayer } from './delivery-replay.ts';
import { whatsappOpenApiDocument } from './openapi.ts';
import { optKeywords } from './opt-out-keywords.ts';
import { registerConversationRoutes } from './routes/conversations.ts';
import { registerDeliveryRoutes } from './routes/deliveries.ts';
import { registerHandlerDeliveryRoutes } from './routes/handler-deliveries.ts';
import { registerMessageListRoutes } from './routes/message-list.ts';
import { registerMessageRoutes } from './routes/messages.ts';
import { registerWebhookRoutes } from './routes/webhook.ts';
import { createSignatureGuard } from './signature-guard.ts';
import { createWebhookIntake } from './webhook-intake.ts';

export const SERVICE_NAME = 'whatsapp-webhook';

export type WhatsAppAppDeps = WhatsAppDeps & {
  /** Shared with the workers in one process; built here when omitted. */
  components?: WhatsAppComponents;
};

/**
 * The WhatsApp service: Meta's webhook (`GET`/`POST /webhook`), our outbound API (`POST /messages`,
 * `GET /messages/:id`, lists, conversations), and routing and replay (`/routes`, `/handler-deliveries`,
 * `/dead-letters`, `/deliveries`), on the shared service kit. No I/O happens here.
 *
 * @example
 * const components = createComponents(deps);
 * const app = createApp({ ...deps, components });
 */
export function createApp(deps: WhatsAppAppDeps): Hono<AppEnv> {
  const { settings } = deps;
  const components = deps.components ?? createComponents(deps);
  const app = createService({
    name: SERVICE_NAME,
    db: deps.db,
    logger: deps.logger,
    metrics: deps.metrics,
    breakers: deps.breakers,
    bodyLimitBytes: settings.bodyLimitBytes,
    // Meta's deliveries may be up to 3 MB: /webhook sets its own limit.
    bodyLimitExempt: ['/webhook'],
    beforeScrape: () => deps.queue.refreshDepthMetrics(),
    openApi: whatsappOpenApiDocument(),
  });

  const signaturePolicy = { name: 'whatsapp-webhook-signature', ...settings.signatureGuard };
  const intake = createWebhookIntake({
    db: deps.db,
    queue: deps.queue,
    metrics: deps.metrics,
    agent: components.replyToInbound !== null,
    media: components.downloadInboundMedia !== null,
    agentDebounceMs: settings.conversations.agentDebounceMs,
    keywords: optKeywords(settings.conversations.optOutKeywords, settings.conversations.optInKeywords),
    optOutConfirmation: settings.conversations.optOutConfirmation,
    windowTemplate: settings.conversations.windowTemplate,
    router: components.router,
    groupCommit: settings.groupCommit,
  });
  registerWebhookRoutes(app, {
    intake,
    metrics: deps.metrics,
    guard: createSignatureGuard({
      limiter: deps.limiterFor(signaturePolicy),
      policyName: signaturePolicy.name,
      metrics: deps.metrics,
    }),
    verifyToken: settings.verifyToken,
    appSecret: settings.appSecret,
    bodyLimitBytes: settings.webhookBodyLimitBytes,
    trustProxy: settings.trustProxy,
  });

  const messagesPolicy: RateLimitPolicy = {
    name: 'whatsapp-messages',
    key: 'apiKey',
    ...settings.messagesRateLimit,
  };
  // One budget per API key across the messages and conversation routes.
  const messagesLimiter = deps.limiterFor(messagesPolicy);
  registerMessageRoutes(app, {
    db: deps.db,
    sender: components.sender,
    metrics: deps.metrics,
    apiKey: settings.apiKey,
    phoneNumberId: settings.phoneNumberId,
    conversations: settings.conversations,
    rateLimitPolicy: messagesPolicy,
    rateLimiter: messagesLimiter,
    trustProxy: settings.trustProxy,
  });
  registerConversationRoutes(app, {
    db: deps.db,
    metrics: deps.metrics,
    apiKey: settings.apiKey,
    serviceWindowHours: settings.conversations.serviceWindowHours,
    rateLimitPolicy: messagesPolicy,
    rateLimiter: messagesLimiter,
    trustProxy: settings.trustProxy,
  });
  registerMessageListRoutes(app, { db: deps.db, apiKey: settings.apiKey });

  const replay = createDeliveryReplayer({ db: deps.db, queue: deps.queue, intake });
  registerDeliveryRoutes(app, { db: deps.db, replay, apiKey: settings.apiKey });
  registerHandlerDeliveryRoutes(app, {
    db: deps.db,
    replay,
    router: components.router,
    apiKey: settings.apiKey,
  });
  return app;
}
