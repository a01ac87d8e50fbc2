import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Database } from '../../shared/db/index.ts';
import type { Logger, ServiceMetrics } from '../../shared/observability/index.ts';
import type { Queue } from '../../shared/queue/index.ts';
import type { BreakerRegistry, LimiterPolicy } from '../../shared/resilience/index.ts';
import { type AgentClient, createAgentClient } from './agent-client.ts';
import { createAgentReplier } from './agent-reply.ts';
import type { WhatsAppSettings } from './config.ts';
import { createGraphApiClient, type GraphApiClient } from './graph-api-client.ts';
import { createHandlerClient, type HandlerEvent } from './handler-client.ts';
import { createHandlerDeliverer, type HandlerDeliverer } from './handler-delivery.ts';
import { createMediaDownloader } from './media-download.ts';
import { createMessageRouter, type MessageRouter } from './message-router.ts';
import { optKeywords } from './opt-out-keywords.ts';
import { createOutboxSender, type OutboxSender } from './outbox-sender.ts';

/** Everything the app and the workers are built from; tests pass their own db, fetch and settings. */
export interface WhatsAppDeps {
  settings: WhatsAppSettings;
  db: Database;
  queue: Queue;
  logger: Logger;
  metrics: ServiceMetrics;
  breakers: BreakerRegistry;
  /** createRateLimiterFactory(...) from shared/resilience (memory, Redis or Postgres store). */
  limiterFor: (policy: LimiterPolicy) => RateLimiterAbstract;
  /** Used for the Graph API and the agent; tests point it at local servers. */
  fetch?: typeof fetch;
}

export interface WhatsAppComponents {
  graph: GraphApiClient;
  sender: OutboxSender;
  replyToInbound: ReturnType<typeof createAgentReplier> | null;
  downloadInboundMedia: ReturnType<typeof createMediaDownloader> | null;
  /** Which handler takes an inbound message (inactive without WHATSAPP_ROUTES). */
  router: MessageRouter;
  /** Delivers routed messages to their handlers; null without routes. */
  deliverToHandler: HandlerDeliverer | null;
}

export const BREAKERS = {
  graphSend: 'whatsapp-graph',
  /** Read receipts and typing indicators: best effort, so they never open the send breaker. */
  graphReceipts: 'whatsapp-graph-receipts',
  graphMedia: 'whatsapp-graph-media',
  agent: 'whatsapp-agent',
  /** One per route, so one failing handler never holds the others back. */
  handler: (route: string) => `whatsapp-handler-${route}`,
} as const;

/**
 * Builds the clients, breakers and the outbox once per process: the breaker registry refuses a
 * second breaker of the same name, and the app and the workers must share them.
 */
export function createComponents(deps: WhatsAppDeps): WhatsAppComponents {
  const { settings } = deps;
  const graph = createGraphApiClient({ ...settings.graph, fetch: deps.fetch });
  // The fetch gives up first (and aborts), so a call the breaker abandoned is never still in flight.
  const breakerTimeout = settings.graph.timeoutMs + 1000;
  const send = deps.breakers.create(
    BREAKERS.graphSend,
    (phoneNumberId: string, payload: Record<string, unknown>) => graph.sendMessage(phoneNumberId, payload),
    { timeout: breakerTimeout },
  );
  const sender = createOutboxSender({
    db: deps.db,
    queue: deps.queue,
    logger: deps.logger.child({ component: 'outbox' }),
    send: (phoneNumberId, payload) => send.fire(phoneNumberId, payload),
    throughput: deps.limiterFor({
      name: 'whatsapp-send-throughput',
      points: settings.sendPerSecond,
      duration: 1,
    }),
    firstRetrySeconds: settings.sendRetry.retryDelaySeconds,
    leaseMs: 2 * breakerTimeout + 5000,
    optOutAllowedTemplates: settings.conversations.optOutAllowedTemplates,
    windowTemplate: settings.conversations.windowTemplate,
  });

  let replyToInbound: WhatsAppComponents['replyToInbound'] = null;
  if (settings.agent) {
    const agent: AgentClient = createAgentClient({ ...settings.agent, fetch: deps.fetch });
    const ask = deps.breakers.create(
      BREAKERS.agent,
      (request: Parameters<AgentClient['ask']>[0]) => agent.ask(request),
      {
        timeout: settings.agent.timeoutMs + 1000,
      },
    );
    const receipts = deps.breakers.create(
      BREAKERS.graphReceipts,
      (phoneNumberId: string, wamid: string) => graph.markRead(phoneNumberId, wamid, { typing: true }),
      { timeout: breakerTimeout },
    );
    replyToInbound = createAgentReplier({
      db: deps.db,
      logger: deps.logger.child({ component: 'agent' }),
      ask: (request) => ask.fire(request),
      markReadAndTyping: (phoneNumberId, wamid) => receipts.fire(phoneNumberId, wamid),
      sender,
      maxWaitMs: settings.conversations.agentMaxWaitMs,
    });
  }

  let downloadInboundMedia: WhatsAppComponents['downloadInboundMedia'] = null;
  if (settings.media.enabled) {
    // Downloads may take long; they get their own breaker so they never open the send breaker.
    const mediaTimeout = Math.max(60_000, settings.graph.timeoutMs);
    const getMedia = deps.breakers.create(BREAKERS.graphMedia, (mediaId: string) => graph.getMedia(mediaId), {
      timeout: mediaTimeout,
    });
    downloadInboundMedia = createMediaDownloader({
      db: deps.db,
      logger: deps.logger.child({ component: 'media' }),
      getMedia: (mediaId) => getMedia.fire(mediaId),
      downloadMedia: (url, maxBytes) => graph.downloadMedia(url, maxBytes),
      dir: settings.media.dir,
      maxBytes: settings.media.maxBytes,
    });
  }

  const { conversations, routing } = settings;
  const router = createMessageRouter(
    routing.routes,
    optKeywords(conversations.optOutKeywords, conversations.optInKeywords),
  );
  let deliverToHandler: HandlerDeliverer | null = null;
  if (router.active) {
    const posts = new Map(
      routing.routes.map((route) => {
        const post = createHandlerClient({ ...route, fetch: deps.fetch });
        const breaker = deps.breakers.create(
          BREAKERS.handler(route.name),
          (event: HandlerEvent) => post(event),
          {
            timeout: route.timeoutMs + 1000,
          },
        );
        return [route.name, (event: HandlerEvent) => breaker.fire(event)];
      }),
    );
    deliverToHandler = createHandlerDeliverer({
      db: deps.db,
      logger: deps.logger.child({ component: 'handlers' }),
      router,
      post: (route, event) => posts.get(route)!(event),
    });
  }

  return { graph, sender, replyToInbound, downloadInboundMedia, router, deliverToHandler };
}
