import type { Database } from '../../shared/db/index.ts';
import { type PageCursor, ProblemError } from '../../shared/http/index.ts';
import type { Queue } from '../../shared/queue/index.ts';
import { QUEUES } from './jobs.ts';
import {
  type BatchResult,
  deadHandlerDeliveries,
  getWebhookDeliveryBody,
  reviveHandlerDelivery,
  webhookDeliveriesToReplay,
} from './store.ts';
import { rawDelivery, readWebhookBatch } from './webhook-batch.ts';
import type { WebhookIntake } from './webhook-intake.ts';

export interface DeliveryReplayDeps {
  db: Database;
  queue: Queue;
  /** The webhook's own ingest: a replay goes through the same dedupe, routing and jobs. */
  intake: WebhookIntake;
}

/** A replay window: `since` ≤ created_at < `until`, continued after `after` (the previous page's cursor). */
export interface ReplayWindow {
  since: string;
  until?: string;
  after?: PageCursor;
}

export interface ReplayCounts {
  messages: number;
  duplicates: number;
  statuses: number;
  events: number;
}

const countsOf = (result: BatchResult): ReplayCounts => ({
  messages: result.inserted.length,
  duplicates: result.duplicates,
  statuses: result.statusEvents,
  events: result.otherEvents,
});

/**
 * Replays stored deliveries through the pipeline that first took them. An inbound webhook delivery runs
 * the webhook's ingest again: what is already stored is a duplicate (nothing twice), what is missing is
 * stored, routed and enqueued as if it had just arrived. An outbound handler delivery that ended dead is
 * put back to pending and enqueued once (its dead letter closes in the same statement); a delivered or
 * pending one is left alone (the handler has it, or will).
 *
 * @example
 * const replay = createDeliveryReplayer({ db, queue, intake });
 * await replay.webhookDelivery(id); // { messages: 0, duplicates: 1, … } the second time
 */
export function createDeliveryReplayer(deps: DeliveryReplayDeps) {
  async function ingest(body: string): Promise<ReplayCounts | null> {
    let batch: ReturnType<typeof readWebhookBatch>;
    try {
      batch = readWebhookBatch(JSON.parse(body));
    } catch {
      return null; // stored before a stricter envelope: nothing this version can read
    }
    return countsOf(await deps.intake.submit({ ...batch, delivery: rawDelivery(body) }));
  }

  /** Re-enqueues a dead handler delivery once; true when this call did. */
  async function revive(by: { deliveryId: string } | { letterId: string }): Promise<boolean> {
    return deps.db.transaction(async (tx) => {
      const revived = await reviveHandlerDelivery(tx, by);
      if (!revived) return false;
      // Keyed by the letter: each death is replayed at most once, however many replays race.
      await deps.queue.sendInTransaction(
        tx,
        QUEUES.handler,
        { deliveryId: revived.deliveryId },
        { dedupeKey: `replay:${revived.letterId}` },
      );
      return true;
    });
  }

  return {
    /** Null when no delivery has this id. */
    async webhookDelivery(id: string): Promise<ReplayCounts | null> {
      const body = await getWebhookDeliveryBody(deps.db, id);
      if (body === null) return null;
      const counts = await ingest(body);
      if (!counts) {
        throw new ProblemError({
          status: 422,
          title: 'Delivery cannot be replayed',
          detail: `delivery ${id} is no longer a webhook envelope this version reads`,
        });
      }
      return counts;
    },

    /** One page (oldest first) of the deliveries in the window; `last` is where the next page starts. */
    async webhookDeliveriesIn(window: ReplayWindow, limit: number) {
      const rows = await webhookDeliveriesToReplay(deps.db, window, limit);
      const totals: ReplayCounts & { replayed: number; skipped: number } = {
        replayed: 0,
        skipped: 0,
        messages: 0,
        duplicates: 0,
        statuses: 0,
        events: 0,
      };
      // One at a time, in the order they arrived: a STOP and a later START replay as they happened.
      for (const row of rows) {
        const counts = await ingest(row.body);
        if (!counts) {
          totals.skipped += 1;
          continue;
        }
        totals.replayed += 1;
        totals.messages += counts.messages;
        totals.duplicates += counts.duplicates;
        totals.statuses += counts.statuses;
        totals.events += counts.events;
      }
      const last = rows.at(-1);
      return {
        totals,
        last: rows.length === limit && last ? { createdAt: last.cursorAt, id: last.id } : null,
      };
    },

    /** True when this call put the delivery back in the queue. */
    handlerDelivery: (deliveryId: string) => revive({ deliveryId }),
    deadLetter: (letterId: string) => revive({ letterId }),

    /** One page (oldest first) of the dead handler deliveries in the window, each revived once. */
    async handlerDeliveriesIn(window: ReplayWindow & { route?: string }, limit: number) {
      const rows = await deadHandlerDeliveries(deps.db, window, limit);
      let replayed = 0;
      for (const row of rows) if (await revive({ deliveryId: row.id })) replayed += 1;
      const last = rows.at(-1);
      return {
        replayed,
        last: rows.length === limit && last ? { createdAt: last.cursorAt, id: last.id } : null,
      };
    },
  };
}

export type DeliveryReplayer = ReturnType<typeof createDeliveryReplayer>;
