import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createGraphApiSandbox,
  type GraphApiSandbox,
} from '../../../../sandbox/whatsapp/graph-api-sandbox.ts';
import type { Database, Sql } from '../../../../shared/db/index.ts';
import { listen, type TestServer } from '../../../support/http.ts';
import { API_KEY, APP_SECRET, type Harness, startHarness, startSecondInstance, waitFor } from './harness.ts';

/**
 * Per-recipient order across instances: two instances of the service (two HTTP servers, two queues and
 * sets of workers, one database) take sends to one contact at the same time, the first attempt fails
 * and is retried, and the Graph API sandbox still receives them in the order they were accepted.
 */
/** The template each committed send carried, in commit order, across both instances. */
const commits: string[] = [];
/** A send of this template holds its transaction open (before COMMIT) until `release`. */
const HELD = 'held_open';
let release: () => void = () => {};
let holding: () => void = () => {};
const held = {
  reached: new Promise<void>((r) => (holding = r)),
  gate: new Promise<void>((r) => (release = r)),
};

/** Records commit order of outbound inserts; holds the HELD one's transaction open until released. */
function watchCommits(db: Database): Database {
  return {
    ...db,
    transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
      let name: string | null = null;
      return db
        .transaction(async (tx) => {
          const watched: Sql = {
            query: (text, params) => {
              if (text.includes('insert into whatsapp_outbound_messages')) {
                name = /"name":"([a-z_0-9]+)"/.exec((params ?? []).map(String).join(' '))?.[1] ?? null;
              }
              return tx.query(text, params);
            },
            execScript: (text) => tx.execScript(text),
          };
          const result = await fn(watched);
          if (name === HELD) {
            holding();
            await held.gate;
          }
          return result;
        })
        .then((result) => {
          if (name) commits.push(name);
          return result;
        });
    },
  };
}

describe('per-recipient order across two instances', () => {
  let sandbox: GraphApiSandbox;
  let sandboxServer: TestServer;
  let a: Harness;
  let b: Harness;

  beforeAll(async () => {
    sandbox = createGraphApiSandbox({
      webhookUrl: () => `${a.url}/webhook`,
      appSecret: APP_SECRET,
      statusCallbacks: false,
    });
    sandboxServer = await listen(sandbox);
    const options = { workers: true, env: { GRAPH_API_URL: sandboxServer.url }, appDb: watchCommits };
    a = await startHarness(options);
    b = await startSecondInstance(a, options);
  });
  afterAll(async () => {
    sandbox?.close();
    await b?.close();
    await a?.close();
    await sandboxServer?.close();
  });

  const send = (instance: Harness, to: string, name: string) =>
    fetch(`${instance.url}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to, type: 'template', template: { name, language: 'en' } }),
    });

  it('messages to one contact sent concurrently through both instances leave in the order accepted', async () => {
    const to = '+250788700001';
    // The first send Meta sees fails: that message waits for a retry and holds the later ones back.
    sandbox.setFault({ mode: 'server-error', count: 1, to });
    const names = Array.from({ length: 12 }, (_, i) => `order_${i}`);
    const answers = await Promise.all(names.map((name, i) => send(i % 2 === 0 ? a : b, to, name)));
    expect(answers.map((r) => r.status).every((s) => s === 201 || s === 202)).toBe(true);
    expect(answers.some((r) => r.status === 202)).toBe(true);

    const sent = await waitFor(
      () => sandbox.sent.filter((m) => m.to === to),
      (list) => list.length >= names.length,
      30_000,
    );
    // Accepted order is the order the outbox numbered them in (seq), whichever instance took each.
    const accepted = await a.db.query<{ name: string }>(
      `select graph_payload #>> '{template,name}' as name from whatsapp_outbound_messages
        where to_number = $1 order by seq`,
      [to],
    );
    expect(accepted).toHaveLength(names.length);
    expect(sent.map((m) => (m.payload.template as { name: string }).name)).toEqual(
      accepted.map((r) => r.name),
    );
    const statuses = await waitFor(
      () =>
        a.db.query<{ status: string }>(
          'select distinct status from whatsapp_outbound_messages where to_number = $1',
          [to],
        ),
      (rows) => rows.length === 1 && rows[0].status === 'sent',
    );
    expect(statuses).toEqual([{ status: 'sent' }]);
  });

  // On PGlite one connection runs one transaction at a time: two sends cannot overlap there.
  it.skipIf(!process.env.DATABASE_URL)(
    'a send that commits while an earlier-numbered one to the same contact is still open waits for it',
    async () => {
      const to = '+250788700002';
      sandbox.setFault({ mode: 'server-error', count: 1, to });
      const first = send(a, to, HELD);
      await held.reached; // its row is inserted, its transaction still open
      let secondAnswered = false;
      const second = send(b, to, 'after_held').then((r) => {
        secondAnswered = true;
        return r;
      });
      // Release once the second send has either answered or is waiting for the first (its lock).
      await waitFor(
        async () =>
          secondAnswered ||
          (
            await a.db.query<{ n: number }>(
              `select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`,
            )
          )[0].n > 0,
        (ready) => ready,
      );
      release();
      expect([(await first).status, (await second).status].every((s) => s === 201 || s === 202)).toBe(true);

      const sent = await waitFor(
        () => sandbox.sent.filter((m) => m.to === to),
        (list) => list.length >= 2,
        30_000,
      );
      const mine = commits.filter((name) => name === HELD || name === 'after_held');
      // What committed first (was accepted first) left first, whichever instance took it.
      expect(sent.map((m) => (m.payload.template as { name: string }).name)).toEqual(mine);
      expect(mine).toEqual([HELD, 'after_held']);
    },
  );
});
