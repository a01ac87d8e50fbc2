import { createHash } from 'node:crypto';
import { type Db, fromPglite, PgBoss, type QueueOptions, type SendOptions } from 'pg-boss';
import type { Database, Sql } from '../db/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { ServiceMetrics } from '../observability/metrics.ts';
import { PermanentJobError } from './permanent-job-error.ts';

/** A UUID derived from queue name + key (RFC 9562 v8 layout over SHA-256), stable across processes. */
export function jobIdFor(queueName: string, key: string): string {
  const hex = createHash('sha256').update(`${queueName}\0${key}`).digest('hex');
  const variant = ((Number.parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface QueueJob<T> {
  id: string;
  /** Aborted when the job expires or the worker stops without waiting: stop the work. */
  signal: AbortSignal;
  data: T;
  /** 0 on the first attempt. */
  retryCount: number;
  retryLimit: number;
  /** True when a failure now will not be retried: the handler records the final outcome. */
  isLastAttempt: boolean;
}

export interface WorkOptions {
  /** Jobs this process runs at once. */
  concurrency?: number;
  pollingIntervalSeconds?: number;
}

export type QueueSettings = Pick<
  QueueOptions,
  'retryLimit' | 'retryDelay' | 'retryBackoff' | 'retryDelayMax' | 'expireInSeconds' | 'heartbeatSeconds'
> & {
  /**
   * A send wakes this queue's idle workers at once (PostgreSQL LISTEN/NOTIFY, PGlite's too) instead
   * of at their next poll; polling stays on at the same interval for retries and missed notices.
   */
  notify?: boolean;
  /** Queue that receives jobs which exhausted their retries (created here if missing). */
  deadLetter?: string;
};

export interface Queue {
  createQueue(name: string, options?: QueueSettings): Promise<void>;
  /**
   * Enqueues a job. With `dedupeKey`, the job id is derived from the key, so sending the same key
   * again (a provider retry, a double click) enqueues nothing and returns null.
   */
  send<T extends object>(
    name: string,
    data: T,
    options?: SendOptions & { dedupeKey?: string },
  ): Promise<string | null>;
  work<T extends object>(
    name: string,
    options: WorkOptions,
    handler: (job: QueueJob<T>) => Promise<void>,
  ): Promise<void>;
  /**
   * Enqueues through the caller's transaction, so the job exists exactly when the rows written beside it
   * do (commit) and not at all otherwise. The queue must have been created by this process first: pg-boss
   * then knows it without a lookup on its own connection, which on PGlite would wait for this transaction.
   */
  sendInTransaction<T extends object>(
    tx: Sql,
    name: string,
    data: T,
    options?: SendOptions & { dedupeKey?: string },
  ): Promise<string | null>;
  /**
   * Many jobs through the caller's transaction in one statement (a group commit's follow-up jobs). Each
   * `dedupeKey` derives the job id as in `send`, so a key already enqueued adds nothing.
   */
  insertInTransaction<T extends object>(
    tx: Sql,
    name: string,
    jobs: { data: T; dedupeKey?: string; startAfter?: Date }[],
  ): Promise<void>;
  /** Jobs waiting (queued, deferred or retrying) in a queue. */
  depth(name: string): Promise<number>;
  /** Refreshes the queue_depth gauge for every queue created here (called on /metrics scrape). */
  refreshDepthMetrics(): Promise<void>;
  /** Stops fetching; with `graceful`, waits up to `timeoutMs` for running handlers. */
  stop(options?: { graceful?: boolean; timeoutMs?: number }): Promise<void>;
  readonly boss: PgBoss;
}

export interface StartQueueOptions {
  logger: Logger;
  metrics?: ServiceMetrics;
  /** pg-boss schema; defaults to `<db schema>_boss` or `pgboss`. */
  schema?: string;
  /** Off for API-only processes that just send. */
  supervise?: boolean;
  /** How often expired jobs (a worker that died mid-job) are made visible again; pg-boss default 60. */
  superviseIntervalSeconds?: number;
}

/**
 * pg-boss on the service's own database: the server through its URL, or the embedded PGlite
 * through pg-boss's own PGlite adapter (same single connection, serialized by PGlite).
 *
 * @example
 * const queue = await startQueue(db, { logger, metrics });
 * await queue.createQueue('outbox', { retryLimit: 5, retryBackoff: true });
 */
export async function startQueue(db: Database, options: StartQueueOptions): Promise<Queue> {
  const schema = options.schema ?? (db.schema ? `${db.schema}_boss` : 'pgboss');
  const boss =
    db.kind === 'pglite'
      ? new PgBoss({
          db: fromPglite(db.pglite!),
          backend: 'pglite',
          schema,
          supervise: options.supervise ?? true,
          useListenNotify: true,
        })
      : new PgBoss({
          connectionString: db.url!,
          schema,
          max: 5,
          supervise: options.supervise ?? true,
          // One extra connection that LISTENs; only queues created with `notify` use it.
          useListenNotify: true,
        });
  boss.on('error', (error) => options.logger.error({ err: error }, 'queue error'));
  await boss.start();
  const queues = new Map<string, QueueSettings>();

  // Counted live: pg-boss's own queue stats are a cached snapshot refreshed by its monitor.
  const depth = async (name: string) => {
    const [row] = await db.query<{ n: number }>(
      `select count(*)::int as n from "${schema}".job where name = $1 and state in ('created', 'retry')`,
      [name],
    );
    return row?.n ?? 0;
  };

  const send = <T extends object>(
    name: string,
    data: T,
    sendOptions: SendOptions & { dedupeKey?: string } = {},
  ) => {
    const { dedupeKey, ...rest } = sendOptions;
    return boss.send(name, data, dedupeKey ? { ...rest, id: jobIdFor(name, dedupeKey) } : rest);
  };

  return {
    boss,
    async createQueue(name, settings = {}) {
      queues.set(name, settings);
      if (settings.deadLetter && !(await boss.getQueue(settings.deadLetter))) {
        await boss.createQueue(settings.deadLetter);
      }
      const existing = await boss.getQueue(name);
      if (existing) await boss.updateQueue(name, settings as never);
      else await boss.createQueue(name, settings);
    },
    send,
    sendInTransaction: (tx, name, data, sendOptions = {}) => {
      const db: Db = { executeSql: async (text, values) => ({ rows: await tx.query(text, values) }) };
      return send(name, data, { ...sendOptions, db });
    },
    async insertInTransaction(tx, name, jobs) {
      if (jobs.length === 0) return;
      const db: Db = { executeSql: async (text, values) => ({ rows: await tx.query(text, values) }) };
      await boss.insert(
        name,
        jobs.map((job) => ({
          data: job.data,
          ...(job.dedupeKey ? { id: jobIdFor(name, job.dedupeKey) } : {}),
          ...(job.startAfter ? { startAfter: job.startAfter } : {}),
        })),
        { db },
      );
    },
    async work(name, workOptions, handler) {
      const pollingIntervalSeconds = workOptions.pollingIntervalSeconds ?? 0.5;
      await boss.work(
        name,
        {
          batchSize: 1,
          localConcurrency: workOptions.concurrency ?? 1,
          pollingIntervalSeconds,
          // A notice only wakes workers early; retries (startAfter) are still found by polling.
          notifyPollingIntervalSeconds: pollingIntervalSeconds,
          includeMetadata: true,
        },
        async ([job]) => {
          const retryLimit = job.retryLimit ?? 0;
          try {
            await handler({
              id: job.id,
              signal: job.signal,
              data: job.data as never,
              retryCount: job.retryCount,
              retryLimit,
              isLastAttempt: job.retryCount >= retryLimit,
            });
          } catch (error) {
            if (error instanceof PermanentJobError) {
              options.logger.warn({ queue: name, jobId: job.id, err: error }, 'job failed permanently');
              return;
            }
            throw error;
          }
        },
      );
    },
    depth,
    async refreshDepthMetrics() {
      if (!options.metrics) return;
      for (const name of queues.keys()) options.metrics.queueDepth.set({ queue: name }, await depth(name));
    },
    async stop(stopOptions = {}) {
      await boss.stop({
        graceful: stopOptions.graceful ?? true,
        timeout: stopOptions.timeoutMs ?? 10_000,
        close: true,
      });
    },
  };
}
