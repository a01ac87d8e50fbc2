import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { voiceOpenApiDocument } from '../../../../services/voice-bridge/openapi.ts';
import type { Database } from '../../../../shared/db/index.ts';
import { startVoiceHarness, type VoiceHarness } from '../../../e2e/voice-bridge/harness.ts';
import { createTestDatabase } from '../../../support/database.ts';
import { type ListPage, readAllPages, seedInstants } from '../../../support/list-pages.ts';
import { createContract } from '../../../support/openapi-contract.ts';

interface ListedCall {
  id: string;
  status: string;
  direction: string;
  to: string;
  createdAt: string;
}

const contract = createContract(voiceOpenApiDocument());

async function insertCall(
  db: Database,
  row: { createdAt?: string; status?: string; direction?: string; to?: string } = {},
): Promise<string> {
  const id = randomUUID();
  await db.query(
    `insert into voice_calls (id, direction, to_number, from_number, status, created_at)
     values ($1, $2, $3, '+15005550006', $4, coalesce($5::timestamptz, now()))`,
    [
      id,
      row.direction ?? 'outbound',
      row.to ?? '+14155550100',
      row.status ?? 'completed',
      row.createdAt ?? null,
    ],
  );
  return id;
}

let harness: VoiceHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function list(query: string): Promise<ListPage<ListedCall>> {
  const response = await harness!.request(`/calls${query}`);
  expect(response.status).toBe(200);
  return (await contract.check('GET', '/calls', response)).body as ListPage<ListedCall>;
}

describe('GET /calls', () => {
  let db: Database;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.close());

  it('needs the API key', async () => {
    harness = await startVoiceHarness({ db });
    const response = await fetch(`${harness.url}/calls`);
    expect(response.status).toBe(401);
    await contract.check('GET', '/calls', response);
  });

  it('refuses bad filters with a 400 naming each field', async () => {
    harness = await startVoiceHarness({ db });
    const cases: [string, string][] = [
      ['?status=bogus', 'query.status'],
      ['?direction=sideways', 'query.direction'],
      ['?to=0788123456', 'query.to'],
      ['?since=yesterday', 'query.since'],
      ['?limit=0', 'query.limit'],
      ['?limit=101', 'query.limit'],
      ['?limit=ten', 'query.limit'],
      ['?cursor=not-a-cursor', 'query.cursor'],
    ];
    for (const [query, field] of cases) {
      const response = await harness.request(`/calls${query}`);
      expect(response.status, query).toBe(400);
      const problem = (await contract.check('GET', '/calls', response)).body as {
        errors: { field: string }[];
      };
      expect(problem.errors.map((e) => e.field)).toEqual([field]);
    }
    const typo = await harness.request('/calls?stauts=completed');
    expect(typo.status).toBe(400);
    const problem = (await typo.json()) as { errors: { message: string }[] };
    expect(problem.errors[0].message).toContain('stauts');
  });

  it('filters by status, direction, to and since', async () => {
    harness = await startVoiceHarness({ db });
    const to = '+14155557001';
    const old = await insertCall(db, { to, status: 'completed', createdAt: '2026-10-01T00:00:00Z' });
    const busy = await insertCall(db, { to, status: 'busy', createdAt: '2026-10-02T00:00:00Z' });
    const inbound = await insertCall(db, {
      to,
      direction: 'inbound',
      status: 'completed',
      createdAt: '2026-10-03T00:00:00Z',
    });
    const ids = async (query: string) => (await list(query)).items.map((c) => c.id);

    expect(await ids(`?to=${encodeURIComponent(to)}`)).toEqual([inbound, busy, old]);
    expect(await ids(`?to=${encodeURIComponent(to)}&status=busy`)).toEqual([busy]);
    expect(await ids(`?to=${encodeURIComponent(to)}&direction=inbound`)).toEqual([inbound]);
    expect(await ids(`?to=${encodeURIComponent(to)}&since=2026-10-02T00:00:00Z`)).toEqual([inbound, busy]);
    expect(await ids(`?to=${encodeURIComponent(to)}&since=2026-10-02T02:00:00%2B02:00`)).toEqual([
      inbound,
      busy,
    ]);
    const first = await list(`?to=${encodeURIComponent(to)}&limit=2`);
    expect(first.items.map((c) => c.id)).toEqual([inbound, busy]);
    const second = await list(`?to=${encodeURIComponent(to)}&limit=2&cursor=${first.nextCursor}`);
    expect(second).toMatchObject({ items: [{ id: old }], nextCursor: null });
  });

  it('pages through every call once, newest first, while calls keep arriving', async () => {
    const own = await createTestDatabase();
    try {
      harness = await startVoiceHarness({ db: own });
      // 15 instants × 3 calls each: page boundaries fall inside groups that share a created_at.
      const seeded = new Set<string>();
      for (const createdAt of seedInstants(15, 3)) seeded.add(await insertCall(own, { createdAt }));
      const arriving: string[] = [];
      const { items, pages } = await readAllPages(
        (cursor) => list(`?limit=7${cursor ? `&cursor=${cursor}` : ''}`),
        async () => {
          arriving.push(await insertCall(own), await insertCall(own, { status: 'ringing' }));
        },
      );
      const ids = items.map((c) => c.id);
      expect(pages).toBe(Math.ceil(45 / 7));
      expect(new Set(ids).size).toBe(ids.length);
      expect(new Set(ids)).toEqual(seeded);
      expect(arriving.length).toBeGreaterThan(0);
      for (let i = 1; i < items.length; i += 1) {
        const [a, b] = [items[i - 1], items[i]];
        expect(a.createdAt >= b.createdAt).toBe(true);
      }
      // The next read from the top sees the arrivals first.
      const top = await list('?limit=100');
      expect(
        top.items
          .slice(0, arriving.length)
          .map((c) => c.id)
          .sort(),
      ).toEqual([...arriving].sort());
    } finally {
      await harness?.close();
      harness = undefined;
      await own.close();
    }
  });
});
