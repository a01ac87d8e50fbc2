import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { videoOpenApiDocument } from '../../../../services/video-orchestrator/openapi.ts';
import type { RenderView } from '../../../../services/video-orchestrator/render-view.ts';
import { createRenderSpecSchema } from '../../../../services/video-orchestrator/schemas.ts';
import { type ListPage, readAllPages, seedInstants } from '../../../support/list-pages.ts';
import { createContract } from '../../../support/openapi-contract.ts';
import { startVideoHarness, type VideoHarness } from '../../../support/video-orchestrator/video-harness.ts';

const SPEC = {
  output: { width: 320, height: 240 },
  clips: [{ type: 'image', src: 'asset:00000000-0000-4000-8000-000000000000', duration: 1 }],
};

describe('GET /renders', () => {
  let h: VideoHarness;
  let contract: ReturnType<typeof createContract>;
  beforeAll(async () => {
    // No worker: rows stay as seeded.
    h = await startVideoHarness({ withWorker: false });
    contract = createContract(
      videoOpenApiDocument({
        specSchema: createRenderSpecSchema(h.config.limits),
        publicUrl: h.url,
        maxInputBytes: h.config.RENDER_MAX_INPUT_BYTES,
      }),
    );
  });
  afterAll(() => h?.close());

  async function seed(status = 'completed', createdAt?: string): Promise<string> {
    const id = randomUUID();
    await h.db.query(
      `insert into video_renders (id, status, spec, created_at) values ($1, $2, $3::jsonb, coalesce($4::timestamptz, now()))`,
      [id, status, JSON.stringify(SPEC), createdAt ?? null],
    );
    return id;
  }

  async function list(query: string): Promise<ListPage<RenderView>> {
    const response = await h.api(`/renders${query}`);
    expect(response.status, query).toBe(200);
    expect(response.headers.get('ratelimit-limit')).not.toBeNull();
    return (await contract.check('GET', '/renders', response)).body as ListPage<RenderView>;
  }

  it('needs the API key and refuses bad filters naming each field', async () => {
    const none = await fetch(`${h.url}/renders`);
    expect(none.status).toBe(401);
    await contract.check('GET', '/renders', none);
    for (const [query, field] of [
      ['?status=done', 'query.status'],
      ['?since=1700000000', 'query.since'],
      ['?limit=1.5', 'query.limit'],
      ['?cursor=WyIyMDI2LTExLTAxIiwieCJd', 'query.cursor'],
    ]) {
      const response = await h.api(`/renders${query}`);
      expect(response.status, query).toBe(400);
      const problem = (await contract.check('GET', '/renders', response)).body as {
        errors: { field: string }[];
      };
      expect(problem.errors.map((e) => e.field)).toEqual([field]);
    }
  });

  it('filters by status and since, each item as GET /renders/:id shows it', async () => {
    const failed = await seed('failed', '2026-10-01T00:00:00Z');
    const canceled = await seed('canceled', '2026-10-02T00:00:00Z');
    const byStatus = await list('?status=failed');
    expect(byStatus.items.map((r) => r.id)).toContain(failed);
    expect(byStatus.items.every((r) => r.status === 'failed')).toBe(true);
    const one = await h.api(`/renders/${canceled}`);
    const listed = (await list('?status=canceled')).items.find((r) => r.id === canceled);
    expect(listed).toEqual(await one.json());
    const since = await list('?since=2026-10-01T12:00:00Z&status=canceled');
    expect(since.items.map((r) => r.id)).toContain(canceled);
    const before = await list('?since=2026-10-01T12:00:00Z&status=failed');
    expect(before.items.map((r) => r.id)).not.toContain(failed);
  });

  it('pages through every render once, newest first, while renders keep arriving', async () => {
    const seeded = new Set<string>();
    for (const createdAt of seedInstants(10, 3, Date.parse('2026-09-01T00:00:00Z'))) {
      seeded.add(await seed('queued', createdAt));
    }
    const { items } = await readAllPages(
      (cursor) => list(`?status=queued&limit=4${cursor ? `&cursor=${cursor}` : ''}`),
      async () => {
        await seed('queued');
      },
    );
    const mine = items.filter((r) => seeded.has(r.id)).map((r) => r.id);
    expect(mine).toHaveLength(30);
    expect(new Set(mine)).toEqual(seeded);
    expect(new Set(items.map((r) => r.id)).size).toBe(items.length);
    for (let i = 1; i < items.length; i += 1) {
      expect(items[i - 1].timings.createdAt >= items[i].timings.createdAt).toBe(true);
    }
  });
});
