import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVideoStore, type VideoStore } from '../../../../services/video-orchestrator/store.ts';
import type { Database } from '../../../../shared/db/index.ts';
import { createTestDatabase } from '../../../support/database.ts';

describe('video progress writes (group commit)', () => {
  let db: Database;
  let store: VideoStore;
  beforeAll(async () => {
    db = await createTestDatabase();
    store = createVideoStore(db);
  });
  afterAll(() => db.close());

  async function claimed(workerId: string): Promise<string> {
    const id = randomUUID();
    await store.insertRender({ id, spec: { clips: [] } as never, queueJobId: randomUUID() }, async () => {});
    await store.claimRender(id, workerId, { id: randomUUID(), retryCount: 0 });
    return id;
  }

  it('writes concurrent renders’ progress together, only forward, only by the render’s worker, and reports cancels', async () => {
    const [a, b, c] = await Promise.all([claimed('w1'), claimed('w1'), claimed('w2')]);
    await db.query(`update video_renders set status = 'canceled' where id = $1`, [c]);
    const statuses = await Promise.all([
      store.updateProgress(a, 'w1', 40),
      store.updateProgress(a, 'w1', 20), // late, lower: changes nothing
      store.updateProgress(b, 'w1', 10),
      store.updateProgress(b, 'w-other', 90), // not its worker: ignored
      store.updateProgress(c, 'w2', 50), // canceled: the worker learns it must stop
    ]);
    expect(statuses).toEqual(['processing', 'processing', 'processing', 'processing', 'canceled']);
    const rows = await db.query<{ id: string; progress: number }>(
      'select id, progress::int as progress from video_renders where id = any($1::uuid[])',
      [[a, b, c]],
    );
    const progress = Object.fromEntries(rows.map((r) => [r.id, r.progress]));
    expect(progress).toEqual({ [a]: 40, [b]: 10, [c]: 0 });
    expect(await store.updateProgress(randomUUID(), 'w1', 5)).toBeNull();
  });
});
