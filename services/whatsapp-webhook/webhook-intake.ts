import {
  createGroupCommitWriter,
  type Database,
  type GroupCommitSettings,
  type GroupCommitWriter,
  type Sql,
} from '../../shared/db/index.ts';
import { observeGroupCommit, type ServiceMetrics } from '../../shared/observability/index.ts';
import type { Queue } from '../../shared/queue/index.ts';
import { QUEUES } from './jobs.ts';
import type { MessageRouter, RouteMatch } from './message-router.ts';
import type { OptKeywords } from './opt-out-keywords.ts';
import {
  activeRouteSessions,
  type BatchResult,
  type ConversationClaim,
  claimConversations,
  groupNeedsTransaction,
  insertHandlerDeliveries,
  insertWebhookBatches,
  type NewHandlerDelivery,
} from './store.ts';
import type { InboundRecord, WebhookBatch } from './webhook-batch.ts';

export interface WebhookIntakeDeps {
  db: Database;
  queue: Queue;
  metrics: ServiceMetrics;
  /** Hand text/interactive messages to the agent (only with an AGENT_URL). */
  agent: boolean;
  /** Download inbound media. */
  media: boolean;
  /** Agent jobs start this late, so a contact's burst of messages is answered once (see agent-reply.ts). */
  agentDebounceMs?: number;
  /** STOP / START keywords and the confirmation sent once per opt-out. */
  keywords: OptKeywords;
  optOutConfirmation: string;
  /** Template sent once in place of a message Meta failed with 131047; null: none. */
  windowTemplate: { name: string; language: string } | null;
  /** Routes to downstream handlers; messages no route takes go the agent path. */
  router?: MessageRouter;
  groupCommit?: GroupCommitSettings;
}

export type WebhookIntake = GroupCommitWriter<WebhookBatch, BatchResult>;

/**
 * Each message's route, in the order the contact sent them: a match by a sticky route claims the
 * conversation at once, so the contact's next message in the same group follows it.
 */
async function routeGroup(
  tx: Sql,
  router: MessageRouter,
  batches: WebhookBatch[],
): Promise<{ matches: Map<string, RouteMatch>; ordered: InboundRecord[] }> {
  const messages = new Map<string, InboundRecord>();
  for (const batch of batches)
    for (const m of batch.messages) if (!messages.has(m.wamid)) messages.set(m.wamid, m);
  const ordered = [...messages.values()].sort(
    (a, b) => (a.sentAt?.getTime() ?? 0) - (b.sentAt?.getTime() ?? 0),
  );
  const senders = [...new Set(ordered.flatMap((m) => (m.fromWaId ? [m.fromWaId] : [])))];
  const sticky = await activeRouteSessions(tx, senders);
  const matches = new Map<string, RouteMatch>();
  for (const m of ordered) {
    const match = router.match(m, m.fromWaId ? sticky.get(m.fromWaId) : undefined);
    if (!match) continue;
    matches.set(m.wamid, match);
    if (m.fromWaId && router.get(match.route)?.sticky) sticky.set(m.fromWaId, match.route);
  }
  return { matches, ordered };
}

/**
 * Where verified deliveries become rows: concurrent deliveries share one transaction (group commit), and
 * the raw deliveries, the agent, media and handler jobs of the messages it inserted (with their handler
 * deliveries and sticky claims) commit in it too, with the contacts' window and opt-out state and the
 * messages those answer with (opt-out confirmations, 131047 template fallbacks). Each delivery's promise
 * settles after that commit with its own counts, so the webhook's 200 still means "all of it is durable".
 * Replays (delivery-replay.ts) come through here as well.
 *
 * @example
 * const intake = createWebhookIntake({ db, queue, metrics, agent: false, media: true, keywords, optOutConfirmation, windowTemplate: null });
 * const result = await intake.submit(readWebhookBatch(json));
 */
export function createWebhookIntake(deps: WebhookIntakeDeps): WebhookIntake {
  const options = {
    agent: deps.agent,
    media: deps.media,
    keywords: deps.keywords,
    optOutConfirmation: deps.optOutConfirmation,
    windowTemplate: deps.windowTemplate,
    routing: deps.router?.active ?? false,
  };
  const router = deps.router?.active ? deps.router : null;
  return createGroupCommitWriter<WebhookBatch, BatchResult>({
    name: 'whatsapp-webhooks',
    db: deps.db,
    ...deps.groupCommit,
    ...observeGroupCommit(deps.metrics),
    singleStatement: (batches) => !groupNeedsTransaction(batches, options),
    async flush(tx, batches) {
      const routing = router ? await routeGroup(tx, router, batches) : null;
      const { results, outboundToSend } = await insertWebhookBatches(
        tx,
        batches,
        options,
        new Set(routing?.matches.keys()),
      );
      const inserted = results.flatMap((r) => r.inserted);
      if (router && routing) {
        // Only newly stored messages are routed: a redelivery or replay sends nothing twice.
        const deliveries: NewHandlerDelivery[] = [];
        const claims = new Map<string, ConversationClaim>();
        const insertedIds = new Map(inserted.map((m) => [m.wamid, m.id]));
        for (const m of routing.ordered) {
          const id = insertedIds.get(m.wamid);
          const match = routing.matches.get(m.wamid);
          if (!id || !match) continue;
          deliveries.push({ inboundId: id, route: match.route, kind: match.kind, value: match.value });
          const route = router.get(match.route);
          if (route?.sticky && m.fromWaId) {
            claims.set(m.fromWaId, {
              waId: m.fromWaId,
              route: route.name,
              ttlSeconds: route.stickyTtlSeconds,
            });
          }
        }
        await claimConversations(tx, [...claims.values()]);
        const ids = await insertHandlerDeliveries(tx, deliveries);
        await deps.queue.insertInTransaction(
          tx,
          QUEUES.handler,
          ids.map((id) => ({ data: { deliveryId: id }, dedupeKey: id })),
        );
      }
      const jobsFor = (wanted: (m: (typeof inserted)[number]) => boolean) =>
        inserted.filter(wanted).map((m) => ({ data: { inboundId: m.id }, dedupeKey: m.wamid }));
      const debounce = deps.agentDebounceMs ?? 0;
      const agentStart = debounce > 0 ? { startAfter: new Date(Date.now() + debounce) } : {};
      await deps.queue.insertInTransaction(
        tx,
        QUEUES.agent,
        jobsFor((m) => m.agent).map((job) => ({ ...job, ...agentStart })),
      );
      await deps.queue.insertInTransaction(
        tx,
        QUEUES.media,
        jobsFor((m) => m.media),
      );
      // Opt-out confirmations and 131047 template fallbacks: the send worker takes them from here.
      await deps.queue.insertInTransaction(
        tx,
        QUEUES.send,
        [...new Set(outboundToSend)].map((id) => ({ data: { messageId: id }, dedupeKey: id })),
      );
      return results;
    },
  });
}
