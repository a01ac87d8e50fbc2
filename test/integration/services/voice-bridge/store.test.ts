import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallStatus } from '../../../../services/voice-bridge/call-status-machine.ts';
import {
  createVoiceStore,
  insertStatusEvents,
  type VoiceStore,
} from '../../../../services/voice-bridge/store.ts';
import type { Database } from '../../../../shared/db/index.ts';
import { createTestDatabase } from '../../../support/database.ts';

const callSid = () => `CA${randomBytes(16).toString('hex')}`;

let db: Database;
let store: VoiceStore;

beforeAll(async () => {
  db = await createTestDatabase();
  store = createVoiceStore(db);
});
afterAll(() => db.close());

async function placedCall(): Promise<{ id: string; sid: string }> {
  const id = randomUUID();
  const sid = callSid();
  await store.createOutboundCall({ id, to: '+14155550100', from: '+14155550199' });
  await store.markProviderAccepted(id, sid, 'queued');
  return { id, sid };
}

const event = (sid: string, status: CallStatus, sequenceNumber: number, extra: { callId?: string } = {}) => ({
  callSid: sid,
  status,
  sequenceNumber,
  occurredAt: new Date(Date.now() - 10_000 + sequenceNumber * 1000),
  callDuration: status === 'completed' ? 42 : undefined,
  detail: { CallStatus: status },
  ...extra,
});

describe('voice store', () => {
  it('stores an outbound call with its created event, once per Idempotency-Key', async () => {
    const key = `idem-${randomUUID()}`;
    const first = await store.createOutboundCall({
      id: randomUUID(),
      to: '+14155550100',
      from: '+14155550199',
      metadata: { order: 7 },
      idempotencyKey: key,
      requestHash: 'h1',
    });
    const again = await store.createOutboundCall({
      id: randomUUID(),
      to: '+14155550100',
      from: '+14155550199',
      idempotencyKey: key,
      requestHash: 'h1',
    });
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.call.id).toBe(first.call.id);
    expect(again.requestHash).toBe('h1');
    expect(first.call).toMatchObject({ status: 'queued', metadata: { order: 7 }, direction: 'outbound' });
    const events = await store.listEvents(first.call.id);
    expect(events.map((e) => e.type)).toEqual(['created']);
  });

  it('dedupes callbacks on CallSid + SequenceNumber + status and never moves a call back', async () => {
    const { id, sid } = await placedCall();
    expect((await store.recordStatusEvent(event(sid, 'ringing', 1))).stored).toBe(true);
    expect((await store.recordStatusEvent(event(sid, 'ringing', 1))).stored).toBe(false);
    const done = await store.recordStatusEvent(event(sid, 'completed', 3));
    expect(done).toMatchObject({ stored: true, callId: id, callStatus: 'completed' });
    const late = await store.recordStatusEvent(event(sid, 'initiated', 0));
    expect(late).toMatchObject({ stored: true, callId: id, callStatus: 'completed' });
    const call = await store.getCall(id);
    expect(call).toMatchObject({ status: 'completed', durationSeconds: 42 });
    expect(call?.endedAt).toBeInstanceOf(Date);
    const events = await store.listEvents(id);
    expect(events.filter((e) => e.source === 'provider').map((e) => e.type)).toEqual([
      'initiated',
      'ringing',
      'completed',
    ]);
  });

  it('stores a callback that moves nothing without rewriting its call', async () => {
    const { id, sid } = await placedCall();
    await store.recordStatusEvent(event(sid, 'in-progress', 2));
    const before = await store.getCall(id);
    const late = await store.recordStatusEvent(event(sid, 'ringing', 1));
    const repeated = await store.recordStatusEvent(event(sid, 'in-progress', 3));
    expect(late).toMatchObject({ stored: true, callStatus: 'in-progress' });
    expect(repeated).toMatchObject({ stored: true, callStatus: 'in-progress' });
    expect((await store.getCall(id))?.updatedAt).toEqual(before?.updatedAt);
    const done = await store.recordStatusEvent(event(sid, 'completed', 4));
    expect(done).toMatchObject({ stored: true, callStatus: 'completed' });
    expect((await store.getCall(id))?.updatedAt.getTime()).toBeGreaterThan(before?.updatedAt.getTime() ?? 0);
  });

  it('keeps callbacks for an unknown CallSid and links them when the inbound call appears', async () => {
    const sid = callSid();
    const orphan = await store.recordStatusEvent(event(sid, 'ringing', 0));
    expect(orphan).toEqual({ stored: true, callId: null, callStatus: null });
    const resolved = await store.resolveAnsweredCall({
      callSid: sid,
      to: '+14155550100',
      from: '+14155550111',
      status: 'ringing',
      newId: randomUUID(),
    });
    expect(resolved?.created).toBe(true);
    const again = await store.resolveAnsweredCall({
      callSid: sid,
      to: '+14155550100',
      from: '+14155550111',
      newId: randomUUID(),
    });
    expect(again).toMatchObject({ created: false, call: { id: resolved?.call.id } });
    const events = await store.listEvents(resolved!.call.id);
    expect(events.map((e) => e.type)).toEqual(['ringing', 'inbound_created']);
  });

  it('applies the status of callbacks that arrived before their inbound call: highest rank wins', async () => {
    const sid = callSid();
    // Out of order, and all before the answer webhook created the call.
    for (const [status, seq] of [
      ['in-progress', 2],
      ['completed', 3],
      ['ringing', 1],
    ] as const) {
      expect(await store.recordStatusEvent(event(sid, status, seq))).toMatchObject({ callId: null });
    }
    const resolved = await store.resolveAnsweredCall({
      callSid: sid,
      to: '+14155550100',
      from: '+14155550112',
      status: 'ringing',
      newId: randomUUID(),
    });
    expect(resolved).toMatchObject({ created: true, call: { status: 'completed', durationSeconds: 42 } });
    expect(resolved?.call.answeredAt).toBeInstanceOf(Date);
    expect(resolved?.call.endedAt).toBeInstanceOf(Date);
    const events = await store.listEvents(resolved!.call.id);
    expect(events.map((e) => e.type)).toEqual(['ringing', 'in-progress', 'completed', 'inbound_created']);
    // A late, lower status changes nothing; nothing is left unlinked.
    await store.recordStatusEvent(event(sid, 'initiated', 0));
    expect((await store.getCall(resolved!.call.id))?.status).toBe('completed');
    const [orphans] = await db.query<{ n: number }>(
      'select count(*)::int as n from voice_call_events where provider_call_sid = $1 and call_id is null',
      [sid],
    );
    expect(orphans.n).toBe(0);
  });

  it('creates one inbound call for concurrent answer webhooks of one CallSid', async () => {
    const sid = callSid();
    await store.recordStatusEvent(event(sid, 'ringing', 1));
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        store.resolveAnsweredCall({
          callSid: sid,
          to: '+14155550100',
          from: '+14155550113',
          status: 'in-progress',
          newId: randomUUID(),
        }),
      ),
    );
    expect(results.filter((r) => r?.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r?.call.id)).size).toBe(1);
    const events = await store.listEvents(results[0]!.call.id);
    expect(events.map((e) => e.type)).toEqual(['ringing', 'inbound_created']);
    expect((await store.getCall(results[0]!.call.id))?.status).toBe('in-progress');
  });

  it('routes callbacks by our call id before the CallSid is stored', async () => {
    const id = randomUUID();
    const sid = callSid();
    await store.createOutboundCall({ id, to: '+14155550100', from: '+14155550199' });
    const result = await store.recordStatusEvent(event(sid, 'initiated', 0, { callId: id }));
    expect(result).toMatchObject({ stored: true, callId: id, callStatus: 'initiated' });
    expect((await store.getCall(id))?.providerCallSid).toBe(sid);
  });

  it('marks a failed placement terminal with its reason', async () => {
    const id = randomUUID();
    await store.createOutboundCall({ id, to: '+14155550100', from: '+14155550199' });
    const failed = await store.markPlacementFailed(id, 'provider unavailable: breaker open', {
      code: 'EOPENBREAKER',
    });
    expect(failed).toMatchObject({ status: 'failed', failureReason: 'provider unavailable: breaker open' });
    expect((await store.listEvents(id)).map((e) => e.type)).toEqual(['created', 'provider_failed']);
  });

  it('applies concurrent callbacks for one call without racing', async () => {
    const { id, sid } = await placedCall();
    const statuses: CallStatus[] = ['initiated', 'ringing', 'in-progress', 'completed'];
    const deliveries = statuses.flatMap((s, i) => [event(sid, s, i), event(sid, s, i), event(sid, s, i)]);
    const results = await Promise.all(deliveries.reverse().map((e) => store.recordStatusEvent(e)));
    expect(results.filter((r) => r.stored)).toHaveLength(4);
    const call = await store.getCall(id);
    expect(call).toMatchObject({ status: 'completed', durationSeconds: 42 });
    expect(call?.answeredAt).toBeInstanceOf(Date);
  });

  it('ends at the real terminal status under shuffled, duplicated deliveries (property, on the database)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom<CallStatus>('completed', 'busy', 'no-answer', 'canceled', 'failed'),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 4, maxLength: 4 }),
        fc.integer(),
        async (progress, terminal, copies, seed) => {
          const path = (['initiated', 'ringing', 'in-progress'] as CallStatus[]).slice(0, progress);
          const events = [...path, terminal].map((status, i) => ({ status, i }));
          const deliveries = events.flatMap((e, k) => Array(copies[k]).fill(e) as typeof events);
          // Deterministic shuffle from the seed, so a failure replays.
          let s = seed;
          for (let i = deliveries.length - 1; i > 0; i--) {
            s = (s * 1103515245 + 12345) | 0;
            const j = Math.abs(s) % (i + 1);
            [deliveries[i], deliveries[j]] = [deliveries[j], deliveries[i]];
          }
          const { id, sid } = await placedCall();
          await Promise.all(deliveries.map((d) => store.recordStatusEvent(event(sid, d.status, d.i))));
          const call = await store.getCall(id);
          expect(call?.status).toBe(terminal);
          const stored = (await store.listEvents(id)).filter((e) => e.source === 'provider');
          expect(stored).toHaveLength(events.length);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('applies a whole group of callbacks (many calls, duplicates, an orphan) in one statement, as one by one would', async () => {
    const calls = await Promise.all(Array.from({ length: 5 }, () => placedCall()));
    const orphanSid = callSid();
    const group = calls.flatMap(({ sid }, n) => {
      const terminal: CallStatus = n % 2 === 0 ? 'completed' : 'busy';
      const path: CallStatus[] =
        n % 2 === 0 ? ['initiated', 'ringing', 'in-progress', terminal] : ['ringing', terminal];
      // Late and repeated: the terminal status first, then the path, each twice.
      return [...path]
        .reverse()
        .flatMap((status, i) => [
          event(sid, status, path.length - 1 - i),
          event(sid, status, path.length - 1 - i),
        ]);
    });
    group.push(event(orphanSid, 'ringing', 0));
    const results = await db.transaction((tx) => insertStatusEvents(tx, group));
    expect(results).toHaveLength(group.length);
    // The first copy of each event is stored, its repeat is not.
    expect(results.map((r) => r.stored)).toEqual(group.map((_, i) => i % 2 === 0));
    expect(results.at(-1)).toMatchObject({ stored: true, callId: null });
    for (const [n, { id }] of calls.entries()) {
      const call = await store.getCall(id);
      expect(call?.status).toBe(n % 2 === 0 ? 'completed' : 'busy');
      expect(call?.endedAt).toBeInstanceOf(Date);
      if (n % 2 === 0) expect(call).toMatchObject({ durationSeconds: 42 });
      if (n % 2 === 0) expect(call?.answeredAt).toBeInstanceOf(Date);
      const stored = (await store.listEvents(id)).filter((e) => e.source === 'provider');
      expect(stored).toHaveLength(n % 2 === 0 ? 4 : 2);
    }
    // A group never moves a call back: a later group with an earlier status changes nothing.
    const [late] = await db.transaction((tx) => insertStatusEvents(tx, [event(calls[0].sid, 'ringing', 9)]));
    expect(late).toMatchObject({ stored: true, callStatus: 'completed' });
  });

  it('touches only the calls of a group: index lookups, never a scan of every call', async () => {
    // Thousands of calls no callback names, never analyzed (a young table): the planner must not
    // hash-join a group against all of them.
    await db.query(
      `insert into voice_calls (id, direction, to_number, from_number, provider_call_sid, status, status_rank)
       select gen_random_uuid(), 'outbound', '+1415' || lpad(g::text, 7, '0'), '+14155550199',
              'CAidle' || g, 'completed', 4
         from generate_series(1, 3000) g`,
      [],
    );
    const calls = await Promise.all(Array.from({ length: 3 }, () => placedCall()));
    const group = calls.map(({ sid, id }, n) => event(sid, 'ringing', n, { callId: id }));
    // The group's statement as it ran, then its plan.
    let statement = { text: '', params: [] as unknown[] };
    await db.transaction((tx) =>
      insertStatusEvents(
        {
          query: <T>(text: string, params: unknown[] = []) => {
            statement = { text, params };
            return tx.query<T>(text, params);
          },
          execScript: (text) => tx.execScript(text),
        },
        group,
      ),
    );
    const [row] = await db.query<{ 'QUERY PLAN': unknown }>(
      `explain (format json) ${statement.text}`,
      statement.params,
    );
    const scans: string[] = [];
    const walk = (node: Record<string, unknown>) => {
      if (node['Node Type'] === 'Seq Scan') scans.push(String(node['Relation Name']));
      for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
    };
    const plan = row['QUERY PLAN'];
    walk((typeof plan === 'string' ? JSON.parse(plan) : plan)[0].Plan);
    expect(scans).not.toContain('voice_calls');
  });
});
