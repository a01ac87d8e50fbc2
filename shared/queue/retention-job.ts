import type { Sql } from '../db/index.ts';
import { pruneBatch, type RetainedTable } from '../db/prune.ts';
import type { Logger } from '../observability/logger.ts';
import type { Queue } from './queue.ts';

export interface RetentionJobOptions {
  /** Queue and schedule name, e.g. `whatsapp-retention`. */
  name: string;
  tables: RetainedTable[];
  /** Rows older than this many days go. */
  retentionDays: number;
  /** Rows per delete statement. */
  batchSize: number;
  /** Upper bound of statements per table per run: a backlog is worked off over several runs. */
  maxBatchesPerRun?: number;
  /** When the job runs (cron, minute resolution). */
  cron: string;
  logger: Logger;
  clock?: () => Date;
  /** How often the worker looks for the job; default 30 s (it runs at most once a minute anyway). */
  pollingIntervalSeconds?: number;
}

/** The retention settings every service reads from its environment (see baseEnvShape). */
export function retentionSettingsFromEnv(env: {
  RETENTION_DAYS: number;
  RETENTION_BATCH_SIZE: number;
  RETENTION_CRON: string;
}): Pick<RetentionJobOptions, 'retentionDays' | 'batchSize' | 'cron'> {
  return { retentionDays: env.RETENTION_DAYS, batchSize: env.RETENTION_BATCH_SIZE, cron: env.RETENTION_CRON };
}

export interface RetentionJob {
  /** One pruning pass now (what the scheduled job runs): rows deleted per table. */
  runOnce(): Promise<Record<string, number>>;
}

/**
 * A scheduled pg-boss job that deletes rows older than the retention from each table, in bounded
 * batches, and the worker that runs it (in whichever process gets the job).
 *
 * @example
 * await startRetentionJob(queue, db, { name: 'voice-retention', cron: '17 * * * *', retentionDays: 30,
 *   batchSize: 1000, tables: [{ table: 'voice_call_events', column: 'created_at' }], logger });
 */
export async function startRetentionJob(
  queue: Queue,
  db: Sql,
  options: RetentionJobOptions,
): Promise<RetentionJob> {
  const clock = options.clock ?? (() => new Date());
  const maxBatches = options.maxBatchesPerRun ?? 100;

  async function runOnce(): Promise<Record<string, number>> {
    const cutoff = new Date(clock().getTime() - options.retentionDays * 86_400_000);
    const deleted: Record<string, number> = {};
    for (const target of options.tables) {
      let total = 0;
      for (let batch = 0; batch < maxBatches; batch++) {
        const n = await pruneBatch(db, target, cutoff, options.batchSize);
        total += n;
        if (n < options.batchSize) break;
      }
      deleted[target.table] = total;
    }
    const sum = Object.values(deleted).reduce((a, b) => a + b, 0);
    if (sum > 0) options.logger.info({ deleted, cutoff: cutoff.toISOString() }, 'pruned rows past retention');
    return deleted;
  }

  // One run at a time, no retries (the next occurrence picks up where this one stopped).
  await queue.createQueue(options.name, { retryLimit: 0, expireInSeconds: 3600 });
  await queue.work(
    options.name,
    { concurrency: 1, pollingIntervalSeconds: options.pollingIntervalSeconds ?? 30 },
    async () => {
      await runOnce();
    },
  );
  await queue.schedule(options.name, options.cron);
  return { runOnce };
}
