import type { Db } from 'pg-boss';
import type { Sql } from '../../shared/db/index.ts';
import type { Queue } from '../../shared/queue/index.ts';

/** The durable queues of this service; names are pg-boss queue names. */
export const QUEUES = {
  /** Outbound messages to (re)send through the Graph API. */
  send: 'whatsapp-send',
  /** Inbound text/interactive messages for the agent hook. */
  agent: 'whatsapp-agent',
  /** Inbound media to download from Meta. */
  media: 'whatsapp-media',
} as const;

export interface QueueRetrySettings {
  /** Attempts after the first. */
  retryLimit: number;
  retryDelaySeconds: number;
  retryDelayMaxSeconds: number;
}

/** Creates (or updates) the queues; every process that sends or works must run it once. */
export async function createWhatsAppQueues(queue: Queue, send: QueueRetrySettings): Promise<void> {
  await queue.createQueue(QUEUES.send, {
    retryLimit: send.retryLimit,
    retryDelay: send.retryDelaySeconds,
    retryBackoff: true,
    retryDelayMax: send.retryDelayMaxSeconds,
    expireInSeconds: 120,
  });
  const hook = { retryLimit: 5, retryDelay: 5, retryBackoff: true, retryDelayMax: 300, expireInSeconds: 300 };
  await queue.createQueue(QUEUES.agent, hook);
  await queue.createQueue(QUEUES.media, hook);
}

/** pg-boss writes the job through our transaction, so the job exists exactly when the row does. */
function inTransaction(tx: Sql): Db {
  return { executeSql: async (text, values) => ({ rows: await tx.query(text, values) }) };
}

/**
 * Enqueues inside the caller's transaction. The queue must have been created by this process first
 * (pg-boss then knows it without a lookup, which on PGlite would wait for this very transaction).
 */
export function enqueueInTransaction<T extends object>(
  queue: Queue,
  tx: Sql,
  name: string,
  data: T,
  options: { dedupeKey?: string; startAfter?: number } = {},
): Promise<string | null> {
  return queue.send(name, data, { ...options, db: inTransaction(tx) });
}
