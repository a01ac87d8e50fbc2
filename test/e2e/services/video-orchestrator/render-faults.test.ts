import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { renderAttemptSettings } from '../../../../services/video-orchestrator/components.ts';
import { runRenderAttempt } from '../../../../services/video-orchestrator/render/render-job.ts';
import { createTempWorkspaces } from '../../../../services/video-orchestrator/temp-workspace.ts';
import { sanitizeHost } from '../../../../services/video-orchestrator/worker-identity.ts';
import { createLogger } from '../../../../shared/observability/index.ts';
import { failingDatabase } from '../../../support/failing-database.ts';
import {
  createMediaFixtures,
  type MediaFixtures,
} from '../../../support/video-orchestrator/media-fixtures.ts';
import { startVideoHarness, type VideoHarness } from '../../../support/video-orchestrator/video-harness.ts';

async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

describe('video orchestrator: the render row and its job, workspaces and orphans', () => {
  let h: VideoHarness;
  let faulty: ReturnType<typeof failingDatabase>;
  let media: MediaFixtures;
  const spec = () => ({
    output: { width: 160, height: 120, fps: 10 },
    clips: [{ type: 'image', src: image, duration: 0.5 }],
  });
  let image = '';

  beforeAll(async () => {
    h = await startVideoHarness({
      wrapDb: (db) => {
        faulty = failingDatabase(db);
        return faulty.db;
      },
    });
    media = await createMediaFixtures(join(h.dataDir, 'fixtures'));
    image = (await h.upload(media.png)).src;
  }, 60_000);
  afterAll(() => h?.close());

  it('a failed enqueue stores nothing; the replay with the same Idempotency-Key runs the render', async () => {
    // pg-boss's job insert, inside the transaction that also writes the render row.
    faulty.failNext(/insert into [\s\S]*\(\s*id,\s*name,\s*data,\s*priority/i, 1);
    const key = `enqueue-${randomUUID()}`;
    const first = await h.createRender(spec(), { 'idempotency-key': key });
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('5');
    expect(faulty.failures).toBe(1);
    const stored = await h.db.query('select id from video_renders where idempotency_key = $1', [key]);
    expect(stored).toEqual([]);

    const replay = await h.createRender(spec(), { 'idempotency-key': key });
    expect(replay.status).toBe(202);
    const { id } = (await replay.json()) as { id: string };
    expect(await h.waitForStatus(id, ['completed', 'failed'])).toMatchObject({ status: 'completed' });
  });

  it('every stored render has its queue job (row and job commit together)', async () => {
    const res = await h.createRender(spec());
    const { id } = (await res.json()) as { id: string };
    const [row] = await h.db.query<{ queue_job_id: string | null }>(
      'select queue_job_id from video_renders where id = $1',
      [id],
    );
    expect(row.queue_job_id).toBeTruthy();
    await h.waitForStatus(id, ['completed']);
  });

  it('a workspace that cannot be created fails the attempt and leaves no timer running', async () => {
    const res = await h.createRender(spec());
    const { id } = (await res.json()) as { id: string };
    await h.waitForStatus(id, ['completed']);
    // Run one attempt by hand against a render that is claimable again, with a workspace root that
    // cannot be created (a file stands where its directory would be).
    await h.db.query(`update video_renders set status = 'queued' where id = $1`, [id]);
    const blocked = join(h.dataDir, 'not-a-dir');
    await writeFile(blocked, 'x');
    const workspaces = createTempWorkspaces({ baseDir: blocked, staleAfterMs: 60_000 });
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const outcome = await runRenderAttempt(
        {
          store: h.runtime.store,
          storage: h.runtime.components.storage,
          tools: h.runtime.components.tools,
          fetchInput: h.runtime.components.fetchInput,
          workspaces,
          logger: createLogger({ service: 'test', level: 'silent' }),
          workerId: 'test-worker',
          settings: renderAttemptSettings(h.config),
        },
        { renderId: id, jobId: randomUUID(), retryCount: 0, isLastAttempt: true },
        new AbortController().signal,
      );
      expect(outcome).toMatchObject({ kind: 'failed', final: true });
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
    expect((await h.getRender(id)).status).toBe('failed');
  });

  it('an API-only process sweeps upload directories a dead process left behind', async () => {
    const host = sanitizeHost(hostname());
    const leftover = join(h.config.tempDir, `${host}--${await deadPid()}`, `upload-${randomUUID()}`);
    await mkdir(leftover, { recursive: true });
    await writeFile(join(leftover, 'part'), 'partial upload');
    await h.restart({ withWorker: false });
    expect(await stat(leftover).catch(() => null)).toBeNull();
    await h.restart({ withWorker: true });
  });
});
