import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Database } from '../../shared/db/index.ts';
import type { Logger } from '../../shared/observability/index.ts';
import type { Queue } from '../../shared/queue/index.ts';
import { isRateLimiterRes } from '../../shared/resilience/index.ts';
import { GraphApiError, type SentMessage } from './graph-api-client.ts';
import { QUEUES } from './jobs.ts';
import {
  claimOutbound,
  getOutbound,
  insertOutbound,
  type NewOutbound,
  nextQueuedFor,
  type OutboundError,
  type OutboundRow,
  recordFailed,
  recordRetry,
  recordSent,
  refuseOptedOut,
} from './store.ts';

export type SendOutcome = 'sent' | 'queued' | 'failed';

export interface AttemptResult {
  outcome: SendOutcome;
  row: OutboundRow;
  /** Set when the attempt left the message queued: why. */
  retryReason?: string;
}

export interface OutboxSenderDeps {
  db: Database;
  queue: Queue;
  logger: Logger;
  /** The Graph API send, already behind the circuit breaker. */
  send: (phoneNumberId: string, payload: Record<string, unknown>) => Promise<SentMessage>;
  /** Meta's per-number throughput: points per second keyed by phone_number_id. */
  throughput: RateLimiterAbstract;
  /** First retry from the queue, in seconds (the job is written with the message). */
  firstRetrySeconds: number;
  /** How long a sender holds a message; longer than a Graph call can take. */
  leaseMs: number;
  /** Longest wait for a throughput slot before leaving the message to the queue. */
  maxThroughputWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Templates that may still go to a contact who opted out (WHATSAPP_OPT_OUT_ALLOWED_TEMPLATES). */
  optOutAllowedTemplates?: string[];
  /** Sent once in place of a message Meta failed with 131047 (WHATSAPP_WINDOW_TEMPLATE_*); null: none. */
  windowTemplate?: { name: string; language: string } | null;
}

/** Asked to retry later; the queue worker rethrows it so pg-boss applies its backoff. */
export class RetryLaterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetryLaterError';
  }
}

/** Breaker open, breaker timeout, Meta throttling or a 5xx: worth another try. */
function describeFailure(error: unknown): { retryable: boolean; error: OutboundError; detail: string } {
  if (error instanceof GraphApiError) {
    const message = error.details ? `${error.message}: ${error.details}` : error.message;
    return {
      retryable: error.retryable,
      error: { code: error.metaCode ?? null, title: error.type ?? null, message },
      detail: error.status ? `Graph API answered ${error.status}` : error.message,
    };
  }
  const code = (error as { code?: string } | null)?.code;
  if (code === 'EOPENBREAKER') {
    return {
      retryable: true,
      error: { code: null, title: 'breaker_open', message: 'Graph API circuit breaker is open' },
      detail: 'circuit breaker open',
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { retryable: true, error: { code: null, title: code ?? 'error', message }, detail: message };
}

/**
 * The outbox: a message is stored (with its queue job, in one transaction) before any send, then
 * sent by whoever holds its lease — the API request right away, or the queue worker on retry.
 *
 * @example
 * const { row } = await sender.submit(newMessage);
 * const { outcome } = await sender.attempt(row.id, { mode: 'inline' });
 */
export function createOutboxSender(deps: OutboxSenderDeps) {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const inlineWait = deps.maxThroughputWaitMs ?? 1000;
  const workerWait = Math.max(inlineWait, 10_000);

  /** True once a throughput slot is ours; false when none frees up within `budgetMs`. */
  async function takeThroughputSlot(phoneNumberId: string, budgetMs: number): Promise<boolean> {
    const until = Date.now() + budgetMs;
    for (;;) {
      try {
        await deps.throughput.consume(phoneNumberId);
        return true;
      } catch (error) {
        if (!isRateLimiterRes(error)) throw error;
        if (Date.now() + error.msBeforeNext > until) return false;
        await sleep(Math.max(error.msBeforeNext, 1));
      }
    }
  }

  /** Meta has the message now: losing its id here would resend it once the lease expires. */
  async function recordSentWithRetries(id: string, wamid: string): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await deps.db.transaction(async (tx) => {
          const fallbacks = await recordSent(tx, id, wamid, deps.windowTemplate ?? null);
          await deps.queue.insertInTransaction(
            tx,
            QUEUES.send,
            fallbacks.map((messageId) => ({ data: { messageId }, dedupeKey: messageId })),
          );
        });
        return;
      } catch (error) {
        if (attempt >= 3) throw error;
        deps.logger.warn({ err: error, messageId: id, wamid }, 'recording a sent message failed; retrying');
        await sleep(200 * attempt);
      }
    }
  }

  /**
   * A message to this recipient has left (or failed for good): the next one in line may go now rather
   * than at its job's next retry. Best effort; its own job sends it anyway.
   */
  async function releaseNext(to: string): Promise<void> {
    try {
      const next = await nextQueuedFor(deps.db, to);
      if (next) await deps.queue.send(QUEUES.send, { messageId: next });
    } catch (error) {
      deps.logger.warn({ err: error }, 'next message to the recipient not scheduled; its retry sends it');
    }
  }

  return {
    /** Stores the message once (per Idempotency-Key / inbound reply) with its retry job. */
    async submit(input: NewOutbound): Promise<{ row: OutboundRow; created: boolean }> {
      return deps.db.transaction(async (tx) => {
        const stored = await insertOutbound(tx, input);
        if (stored.created) {
          // The safety net: if this process dies before or during the first attempt, the queue sends it.
          await deps.queue.sendInTransaction(
            tx,
            QUEUES.send,
            { messageId: stored.row.id },
            { dedupeKey: stored.row.id, startAfter: deps.firstRetrySeconds },
          );
        }
        return stored;
      });
    },

    /**
     * One send attempt. `inline` never throws for a retryable failure: the message stays queued for
     * the job. `worker` throws RetryLaterError so pg-boss retries; on the last attempt it gives up.
     */
    async attempt(
      id: string,
      options: { mode: 'inline' | 'worker'; lastAttempt?: boolean },
    ): Promise<AttemptResult> {
      const current = await getOutbound(deps.db, id);
      if (!current) throw new Error(`outbound message ${id} does not exist`);
      if (current.status !== 'queued')
        return { outcome: current.status === 'failed' ? 'failed' : 'sent', row: current };

      const leave = (reason: string, row = current): AttemptResult => {
        if (options.mode === 'worker') throw new RetryLaterError(reason);
        return { outcome: 'queued', row, retryReason: reason };
      };

      // Accepted before the contact said STOP: it must not reach them now.
      if (await refuseOptedOut(deps.db, id, deps.optOutAllowedTemplates ?? [])) {
        await releaseNext(current.to);
        return { outcome: 'failed', row: (await getOutbound(deps.db, id))! };
      }

      // A worker may wait longer for a slot than an API request, which answers 202 instead.
      const budget = options.mode === 'worker' ? workerWait : inlineWait;
      if (!(await takeThroughputSlot(current.phoneNumberId, budget)))
        return leave('per-number throughput limit');
      const claimed = await claimOutbound(deps.db, id, deps.leaseMs);
      if (!claimed) {
        const now = await getOutbound(deps.db, id);
        if (now && now.status !== 'queued')
          return { outcome: now.status === 'failed' ? 'failed' : 'sent', row: now };
        return leave('another sender holds the message, or an older one to this recipient is still queued');
      }

      let sent: SentMessage;
      try {
        sent = await deps.send(claimed.phoneNumberId, claimed.graphPayload);
      } catch (error) {
        const failure = describeFailure(error);
        if (!failure.retryable) {
          await recordFailed(deps.db, id, failure.error, failure.detail);
          await releaseNext(claimed.to);
          return { outcome: 'failed', row: (await getOutbound(deps.db, id))! };
        }
        if (options.mode === 'worker' && options.lastAttempt) {
          await recordFailed(
            deps.db,
            id,
            failure.error,
            `gave up after ${claimed.attempts} attempts: ${failure.detail}`,
          );
          await releaseNext(claimed.to);
          return { outcome: 'failed', row: (await getOutbound(deps.db, id))! };
        }
        await recordRetry(deps.db, id, failure.error, `retry scheduled: ${failure.detail}`);
        deps.logger.warn(
          { messageId: id, attempts: claimed.attempts, reason: failure.detail },
          'send deferred to queue',
        );
        return leave(failure.detail, (await getOutbound(deps.db, id)) ?? claimed);
      }

      await recordSentWithRetries(id, sent.wamid);
      await releaseNext(claimed.to);
      return { outcome: 'sent', row: (await getOutbound(deps.db, id))! };
    },
  };
}

export type OutboxSender = ReturnType<typeof createOutboxSender>;
