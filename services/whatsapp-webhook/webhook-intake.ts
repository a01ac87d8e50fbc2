import {
  createGroupCommitWriter,
  type Database,
  type GroupCommitSettings,
  type GroupCommitWriter,
} from '../../shared/db/index.ts';
import { observeGroupCommit, type ServiceMetrics } from '../../shared/observability/index.ts';
import type { Queue } from '../../shared/queue/index.ts';
import { QUEUES } from './jobs.ts';
import type { OptKeywords } from './opt-out-keywords.ts';
import { type BatchResult, groupNeedsTransaction, insertWebhookBatches } from './store.ts';
import type { WebhookBatch } from './webhook-batch.ts';

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
  groupCommit?: GroupCommitSettings;
}

export type WebhookIntake = GroupCommitWriter<WebhookBatch, BatchResult>;

/**
 * Where verified deliveries become rows: concurrent deliveries share one transaction (group commit), and
 * the agent and media jobs of the messages it inserted commit in it too, with the contacts' window and
 * opt-out state and the messages those answer with (opt-out confirmations, 131047 template fallbacks). Each delivery's promise settles
 * after that commit with its own counts, so the webhook's 200 still means "all of it is durable".
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
  };
  return createGroupCommitWriter<WebhookBatch, BatchResult>({
    name: 'whatsapp-webhooks',
    db: deps.db,
    ...deps.groupCommit,
    ...observeGroupCommit(deps.metrics),
    singleStatement: (batches) => !groupNeedsTransaction(batches, options),
    async flush(tx, batches) {
      const { results, outboundToSend } = await insertWebhookBatches(tx, batches, options);
      const inserted = results.flatMap((r) => r.inserted);
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
