import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { whatsappOpenApiDocument } from '../../../../services/whatsapp-webhook/openapi.ts';
import type { Database } from '../../../../shared/db/index.ts';
import { type ListPage, readAllPages, seedInstants } from '../../../support/list-pages.ts';
import { createContract } from '../../../support/openapi-contract.ts';
import {
  API_KEY,
  type Harness,
  inboundEnvelope,
  PHONE_NUMBER_ID,
  postWebhook,
  startFakeGraph,
  startHarness,
} from './harness.ts';

interface Listed {
  id: string;
  direction: 'in' | 'out';
  waId: string | null;
  status: string;
  text: string | null;
  createdAt: string;
}

const contract = createContract(whatsappOpenApiDocument());
const auth = { authorization: `Bearer ${API_KEY}` };

async function seedInbound(db: Database, waId: string, createdAt?: string): Promise<string> {
  const [row] = await db.query<{ id: string }>(
    `insert into whatsapp_inbound_messages (wamid, phone_number_id, from_wa_id, type, text_body, payload, created_at)
     values ($1, $2, $3, 'text', 'hi', '{}'::jsonb, coalesce($4::timestamptz, now())) returning id`,
    [`wamid.${randomUUID()}`, PHONE_NUMBER_ID, waId, createdAt ?? null],
  );
  return row.id;
}

async function seedOutbound(db: Database, waId: string, createdAt?: string): Promise<string> {
  const [row] = await db.query<{ id: string }>(
    `insert into whatsapp_outbound_messages (phone_number_id, to_number, type, request, graph_payload, status, status_rank, created_at)
     values ($1, $2, 'text', '{"text":{"body":"hello"}}'::jsonb, '{}'::jsonb, 'delivered', 2, coalesce($3::timestamptz, now()))
     returning id`,
    [PHONE_NUMBER_ID, `+${waId}`, createdAt ?? null],
  );
  return row.id;
}

describe('message lists', () => {
  let graph: Awaited<ReturnType<typeof startFakeGraph>>;
  let h: Harness;
  beforeAll(async () => {
    graph = await startFakeGraph();
    h = await startHarness({ env: { GRAPH_API_URL: graph.url } });
  });
  afterAll(async () => {
    await h?.close();
    await graph?.close();
  });

  async function list(path: string, template: string): Promise<ListPage<Listed>> {
    const response = await fetch(`${h.url}${path}`, { headers: auth });
    expect(response.status, path).toBe(200);
    return (await contract.check('GET', template, response)).body as ListPage<Listed>;
  }

  it('needs the API key', async () => {
    for (const [path, template] of [
      ['/messages', '/messages'],
      ['/contacts/250788000001/messages', '/contacts/{waId}/messages'],
    ]) {
      const response = await fetch(`${h.url}${path}`);
      expect(response.status).toBe(401);
      await contract.check('GET', template, response);
    }
  });

  it('refuses bad filters with a 400 naming each field', async () => {
    const cases: [string, string, string][] = [
      ['/messages?direction=sideways', '/messages', 'query.direction'],
      ['/messages?status=bogus', '/messages', 'query.status'],
      ['/messages?contact=ana', '/messages', 'query.contact'],
      ['/messages?since=2026-13-01', '/messages', 'query.since'],
      ['/messages?limit=500', '/messages', 'query.limit'],
      ['/messages?cursor=eyJ4Ijox', '/messages', 'query.cursor'],
      ['/contacts/ana/messages', '/contacts/{waId}/messages', 'params.waId'],
      ['/contacts/250788000001/messages?limit=-1', '/contacts/{waId}/messages', 'query.limit'],
    ];
    for (const [path, template, field] of cases) {
      const response = await fetch(`${h.url}${path}`, { headers: auth });
      expect(response.status, path).toBe(400);
      const problem = (await contract.check('GET', template, response)).body as {
        errors: { field: string }[];
      };
      expect(problem.errors.map((e) => e.field)).toEqual([field]);
    }
  });

  it('interleaves a contact’s messages in and out by time, and filters them', async () => {
    const ana = '250788111222';
    const other = '250788333444';
    const inFirst = await postWebhook(
      h.url,
      inboundEnvelope(
        { id: `wamid.${randomUUID()}`, type: 'text', text: { body: 'Muraho' } },
        { name: 'Ana', waId: ana },
      ),
    );
    expect(inFirst.status).toBe(200);
    const sent = await fetch(`${h.url}/messages`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ to: `+${ana}`, type: 'text', text: { body: 'Bite Ana' } }),
    });
    expect(sent.status).toBe(201);
    const inSecond = await postWebhook(
      h.url,
      inboundEnvelope(
        { id: `wamid.${randomUUID()}`, type: 'text', text: { body: 'Ndashaka taxi' } },
        { name: 'Ana', waId: ana },
      ),
    );
    expect(inSecond.status).toBe(200);
    await postWebhook(
      h.url,
      inboundEnvelope(
        { id: `wamid.${randomUUID()}`, type: 'text', text: { body: 'other' } },
        { name: 'Bo', waId: other },
      ),
    );

    const timeline = await list(`/contacts/${ana}/messages`, '/contacts/{waId}/messages');
    expect(timeline.items.map((m) => [m.direction, m.text, m.status])).toEqual([
      ['in', 'Ndashaka taxi', 'received'],
      ['out', 'Bite Ana', 'sent'],
      ['in', 'Muraho', 'received'],
    ]);
    expect(timeline.nextCursor).toBeNull();
    expect(timeline.items.every((m) => m.waId === ana)).toBe(true);

    const byContact = await list(`/messages?contact=%2B${ana}`, '/messages');
    expect(byContact.items.map((m) => m.id)).toEqual(timeline.items.map((m) => m.id));
    const inbound = await list(`/messages?contact=${ana}&direction=in`, '/messages');
    expect(inbound.items.map((m) => m.text)).toEqual(['Ndashaka taxi', 'Muraho']);
    const received = await list(`/contacts/${ana}/messages?status=received`, '/contacts/{waId}/messages');
    expect(received.items.map((m) => m.direction)).toEqual(['in', 'in']);
    const outbound = await list(`/messages?contact=${ana}&status=sent`, '/messages');
    expect(outbound.items.map((m) => m.text)).toEqual(['Bite Ana']);
    const none = await list(`/messages?contact=${ana}&direction=in&status=sent`, '/messages');
    expect(none).toEqual({ items: [], nextCursor: null });
    const paged = await list(`/contacts/${ana}/messages?limit=2`, '/contacts/{waId}/messages');
    expect(paged.items).toHaveLength(2);
    const rest = await list(
      `/contacts/${ana}/messages?limit=2&cursor=${paged.nextCursor}`,
      '/contacts/{waId}/messages',
    );
    expect(rest.items.map((m) => m.text)).toEqual(['Muraho']);
    const recent = await list(
      `/messages?since=${encodeURIComponent(timeline.items[1].createdAt)}&contact=${ana}`,
      '/messages',
    );
    expect(recent.items.map((m) => m.text)).toEqual(['Ndashaka taxi', 'Bite Ana']);
  });

  it('pages through both directions once, newest first, while messages keep arriving', async () => {
    const waId = '250788555666';
    const seeded = new Set<string>();
    // Both tables at the same instants, three rows each: ties across tables and inside each.
    for (const createdAt of seedInstants(8, 3)) {
      seeded.add(await seedInbound(h.db, waId, createdAt));
      seeded.add(await seedOutbound(h.db, waId, createdAt));
    }
    const arriving: string[] = [];
    const { items } = await readAllPages(
      (cursor) =>
        list(
          `/contacts/${waId}/messages?limit=5${cursor ? `&cursor=${cursor}` : ''}`,
          '/contacts/{waId}/messages',
        ),
      async () => {
        arriving.push(await seedInbound(h.db, waId), await seedOutbound(h.db, waId));
      },
    );
    const ids = items.map((m) => m.id);
    expect(ids).toHaveLength(48);
    expect(new Set(ids)).toEqual(seeded);
    for (let i = 1; i < items.length; i += 1) expect(items[i - 1].createdAt >= items[i].createdAt).toBe(true);
    expect(new Set(items.map((m) => m.direction))).toEqual(new Set(['in', 'out']));

    // Unfiltered, the same rows in the same order (other tests' rows come before or after them).
    const all = await readAllPages((cursor) =>
      list(`/messages?limit=9${cursor ? `&cursor=${cursor}` : ''}`, '/messages'),
    );
    const mine = all.items.filter((m) => seeded.has(m.id)).map((m) => m.id);
    expect(mine).toEqual(ids);
    expect(new Set(all.items.map((m) => m.id)).size).toBe(all.items.length);
  });
});
