import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../../shared/db/index.ts';
import { createLogger } from '../../../../shared/observability/logger.ts';
import { createMetrics } from '../../../../shared/observability/metrics.ts';
import { PermanentJobError, type Queue, startQueue } from '../../../../shared/queue/index.ts';
import { createTestDatabase } from '../../../support/database.ts';

async function waitFor<T>(read: () => Promise<T> | T, done: (v: T) => boolean, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('queue (pg-boss on the service database)', () => {
  let db: Database;
  let queue: Queue;
  const metrics = createMetrics({ service: 'queue-test' });
  beforeAll(async () => {
    db = await createTestDatabase();
    queue = await startQueue(db, {
      logger: createLogger({ service: 'queue-test', level: 'silent' }),
      metrics,
    });
  });
  afterAll(async () => {
    await queue.stop({ graceful: false, timeoutMs: 1000 });
    await db.close();
  });

  it('delivers a job once per singleton key and reports depth before work starts', async () => {
    await queue.createQueue('greetings', { retryLimit: 0 });
    const first = await queue.send('greetings', { name: 'a' }, { dedupeKey: 'k1' });
    const second = await queue.send('greetings', { name: 'a' }, { dedupeKey: 'k1' });
    expect(first).toBeTruthy();
    expect(second).toBeNull();
    expect(await queue.depth('greetings')).toBe(1);
    await queue.refreshDepthMetrics();
    expect(await metrics.registry.metrics()).toMatch(/queue_depth\{[^}]*queue="greetings"[^}]*\} 1/);
    const seen: string[] = [];
    await queue.work<{ name: string }>('greetings', { concurrency: 1 }, async (job) => {
      seen.push(job.data.name);
    });
    await waitFor(
      () => seen.length,
      (n) => n >= 1,
    );
    expect(seen).toEqual(['a']);
  });

  it('retries a failing job and tells the handler when it is the last attempt', async () => {
    await queue.createQueue('flaky', { retryLimit: 2, retryDelay: 0 });
    const attempts: { retryCount: number; last: boolean }[] = [];
    await queue.work('flaky', { concurrency: 1 }, async (job) => {
      attempts.push({ retryCount: job.retryCount, last: job.isLastAttempt });
      if (!job.isLastAttempt) throw new Error('transient');
    });
    await queue.send('flaky', { x: 1 });
    await waitFor(
      () => attempts.length,
      (n) => n >= 3,
    );
    expect(attempts).toEqual([
      { retryCount: 0, last: false },
      { retryCount: 1, last: false },
      { retryCount: 2, last: true },
    ]);
  });

  it('does not retry a permanent failure', async () => {
    await queue.createQueue('invalid', { retryLimit: 3, retryDelay: 0 });
    let calls = 0;
    await queue.work('invalid', { concurrency: 1 }, async () => {
      calls++;
      throw new PermanentJobError('not a media file');
    });
    const id = await queue.send('invalid', { x: 1 });
    const job = await waitFor(
      () => queue.boss.getJobById('invalid', id!),
      (j) => j?.state === 'completed',
    );
    expect(job?.state).toBe('completed');
    expect(calls).toBe(1);
  });

  it('moves a job that exhausted its retries to the dead-letter queue', async () => {
    await queue.createQueue('doomed', { retryLimit: 1, retryDelay: 0, deadLetter: 'doomed-dead' });
    await queue.work('doomed', { concurrency: 1 }, async () => {
      throw new Error('always');
    });
    await queue.send('doomed', { payload: 'keep me' });
    const depth = await waitFor(
      () => queue.depth('doomed-dead'),
      (n) => n >= 1,
    );
    expect(depth).toBe(1);
  });

  it('enqueues inside a transaction: the job exists only if the transaction commits', async () => {
    await queue.createQueue('transactional', { retryLimit: 0 });
    await db.transaction(async (tx) => {
      await queue.sendInTransaction(tx, 'transactional', { n: 1 }, { dedupeKey: 'committed' });
    });
    await db
      .transaction(async (tx) => {
        await queue.sendInTransaction(tx, 'transactional', { n: 2 }, { dedupeKey: 'rolled-back' });
        throw new Error('abort');
      })
      .catch(() => {});
    expect(await queue.depth('transactional')).toBe(1);
    // The same dedupe key outside a transaction is still a duplicate of the committed one.
    expect(await queue.send('transactional', { n: 3 }, { dedupeKey: 'committed' })).toBeNull();
  });
});
