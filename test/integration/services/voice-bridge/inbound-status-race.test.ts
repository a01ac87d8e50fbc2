import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callStatusMachine } from '../../../../services/voice-bridge/call-status-machine.ts';
import { createStatusIntake } from '../../../../services/voice-bridge/status-intake.ts';
import { createVoiceStore, type VoiceStore } from '../../../../services/voice-bridge/store.ts';
import type { Database } from '../../../../shared/db/index.ts';
import { createMetrics } from '../../../../shared/observability/index.ts';
import { createTestDatabase } from '../../../support/database.ts';

// An inbound call is created by its answer webhook; Twilio's status callback for the same CallSid may
// commit at the same moment. Unserialised, each statement misses the other's uncommitted row: the event
// stays an orphan and its status is never applied. On PostgreSQL (DATABASE_URL) this races them for real;
// on PGlite (one connection) the same assertions hold trivially.

const ROUNDS = 150;
const callSid = () => `CA${randomBytes(16).toString('hex')}`;

let db: Database;
let store: VoiceStore;

beforeAll(async () => {
  db = await createTestDatabase();
  store = createVoiceStore(db);
});
afterAll(() => db.close());

describe('inbound call creation against a concurrently committing status callback', () => {
  it(`applies the callback exactly once and never moves the call back (${ROUNDS} rounds)`, async () => {
    // Group commit as in production: callbacks share statements, several flushes in flight.
    const intake = createStatusIntake({ db, metrics: createMetrics({ service: 'voice-bridge' }) });
    const callbacks = ['in-progress', 'completed', 'initiated'] as const;
    const problems: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // A few CallSids at once, so flushes carry several and the answer webhooks overlap them.
      const sids = Array.from({ length: 4 }, callSid);
      const callbackStatus = callbacks[round % callbacks.length];
      await Promise.all(
        sids.flatMap((sid) => [
          store.resolveAnsweredCall({
            callSid: sid,
            to: '+14155550100',
            from: '+14155550123',
            status: 'ringing',
            newId: randomUUID(),
          }),
          intake.submit({
            callSid: sid,
            status: callbackStatus,
            sequenceNumber: 2,
            occurredAt: new Date(),
            callDuration: callbackStatus === 'completed' ? 7 : undefined,
            detail: { CallStatus: callbackStatus },
          }),
        ]),
      );
      const rows = await db.query<{ sid: string; status: string; linked: number; orphans: number }>(
        `select c.provider_call_sid as sid, c.status,
                (select count(*)::int from voice_call_events e
                  where e.call_id = c.id and e.source = 'provider') as linked,
                (select count(*)::int from voice_call_events e
                  where e.provider_call_sid = c.provider_call_sid and e.call_id is null) as orphans
           from voice_calls c where c.provider_call_sid = any($1)`,
        [sids],
      );
      const expected =
        callStatusMachine.rank(callbackStatus) > callStatusMachine.rank('ringing')
          ? callbackStatus
          : 'ringing';
      for (const sid of sids) {
        const row = rows.find((r) => r.sid === sid);
        if (!row) problems.push(`${round}: no call for ${sid}`);
        else if (row.linked !== 1 || row.orphans !== 0 || row.status !== expected)
          problems.push(`${round}: ${JSON.stringify(row)} (expected ${expected}, one linked event)`);
      }
    }
    await intake.drain();
    expect(problems).toEqual([]);
  }, 120_000);
});
