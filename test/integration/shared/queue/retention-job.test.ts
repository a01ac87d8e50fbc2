import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VOICE_RETAINED_TABLES } from '../../../../services/voice-bridge/retention.ts';
import { WHATSAPP_RETAINED_TABLES } from '../../../../services/whatsapp-webhook/retention.ts';
import type { Database } from '../../../../shared/db/index.ts';
import { createLogger } from '../../../../shared/observability/logger.ts';
import {
  type Queue,
  type RetentionJob,
  startQueue,
  startRetentionJob,
} from '../../../../shared/queue/index.ts';
import { createTestDatabase } from '../../../support/database.ts';

const DAY = 86_400_000;
const logger = createLogger({ service: 'retention-test', level: 'silent' });

async function waitFor<T>(read: () => Promise<T>, done: (v: T) => boolean, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('retention: a scheduled pg-boss job prunes webhook deliveries, webhook, status and call events', () => {
  let db: Database;
  let queue: Queue;
  let job: RetentionJob;
  let seq = 0;

  // Rows `ageDays` old in each pruned table.
  async function insertRows(ageDays: number, count: number) {
    const at = new Date(Date.now() - ageDays * DAY).toISOString();
    for (let i = 0; i < count; i++) {
      const n = seq++;
      await db.query(
        `insert into whatsapp_webhook_events (field, dedupe_key, payload, created_at) values ('x', $1, '{}', $2)`,
        [`k${n}`, at],
      );
      await db.query(
        `insert into whatsapp_webhook_deliveries (body_sha256, body, created_at) values ($1, '{}', $2)`,
        [`sha${n}`, at],
      );
      await db.query(
        `insert into whatsapp_status_events (wamid, status, payload, created_at) values ($1, 'sent', '{}', $2)`,
        [`wamid.${n}`, at],
      );
      await db.query(
        `insert into voice_call_events (provider_call_sid, source, type, sequence_number, created_at)
         values ($1, 'provider', 'ringing', 0, $2)`,
        [`CA${n}`, at],
      );
    }
  }

  const counts = async () => {
    const out: Record<string, { old: number; recent: number }> = {};
    for (const { table } of [...WHATSAPP_RETAINED_TABLES, ...VOICE_RETAINED_TABLES]) {
      const [row] = await db.query<{ old: number; recent: number }>(
        `select count(*) filter (where created_at < now() - interval '30 days')::int as old,
                count(*) filter (where created_at >= now() - interval '30 days')::int as recent
           from ${table}`,
      );
      out[table] = row;
    }
    return out;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    queue = await startQueue(db, { logger });
    job = await startRetentionJob(queue, db, {
      name: 'test-retention',
      tables: [...WHATSAPP_RETAINED_TABLES, ...VOICE_RETAINED_TABLES],
      retentionDays: 30,
      batchSize: 2,
      maxBatchesPerRun: 2,
      cron: '17 * * * *',
      logger,
      pollingIntervalSeconds: 0.5,
    });
  });
  afterAll(async () => {
    await queue.stop({ graceful: false, timeoutMs: 1000 });
    await db.close();
  });

  it('is scheduled, and its job deletes only rows past the retention, in bounded batches', async () => {
    const schedules = await queue.boss.getSchedules();
    expect(schedules.map((s) => [s.name, s.cron])).toContainEqual(['test-retention', '17 * * * *']);

    await insertRows(45, 5);
    await insertRows(2, 3);
    // The job as the schedule sends it, run by the worker: two batches of two per table and run.
    await queue.send('test-retention', {});
    const after = await waitFor(counts, (c) => Object.values(c).every((t) => t.old === 1));
    for (const table of Object.values(after)) expect(table).toEqual({ old: 1, recent: 3 });

    // The next run takes the rest; recent rows stay.
    expect(await job.runOnce()).toEqual({
      whatsapp_webhook_deliveries: 1,
      whatsapp_webhook_events: 1,
      whatsapp_status_events: 1,
      voice_call_events: 1,
    });
    for (const table of Object.values(await counts())) expect(table).toEqual({ old: 0, recent: 3 });
  });
});
