import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CALL_STATUSES,
  type CallStatus,
  callStatusMachine,
} from '../../../../services/voice-bridge/call-status-machine.ts';

/** The callbacks one real call produces, in order: a prefix of the happy path plus one terminal status. */
const realCall = fc
  .tuple(
    fc.integer({ min: 0, max: 3 }),
    fc.constantFrom<CallStatus>('completed', 'busy', 'failed', 'no-answer', 'canceled'),
  )
  .map(([progress, terminal]) => {
    const path: CallStatus[] = ['initiated', 'ringing', 'in-progress'].slice(0, progress) as CallStatus[];
    return [...path, terminal];
  });

/** Shuffled with duplicates and losses: each event delivered 1–3 times in any order, some dropped. */
const deliveries = (events: CallStatus[]) =>
  fc
    .array(fc.integer({ min: 1, max: 3 }), { minLength: events.length, maxLength: events.length })
    .chain((copies) => fc.shuffledSubarray(events.flatMap((e, i) => Array<CallStatus>(copies[i]).fill(e))));

describe('callStatusMachine', () => {
  it('moves forward and never back', () => {
    expect(callStatusMachine.next('queued', 'ringing')).toBe('ringing');
    expect(callStatusMachine.next('completed', 'ringing')).toBe('completed');
    expect(callStatusMachine.next('in-progress', 'initiated')).toBe('in-progress');
    expect(callStatusMachine.next('completed', 'failed')).toBe('completed');
    expect(callStatusMachine.isTerminal('no-answer')).toBe(true);
    expect(callStatusMachine.isTerminal('in-progress')).toBe(false);
  });

  it('ends at the terminal status whatever the order and duplication of a real call’s callbacks', () => {
    fc.assert(
      fc.property(
        realCall.chain((events) =>
          fc.tuple(
            fc.constant(events),
            fc.shuffledSubarray(
              events.flatMap((e) => [e, e, e]),
              { minLength: events.length * 3 },
            ),
          ),
        ),
        ([events, shuffled]) => {
          expect(callStatusMachine.fold(shuffled)).toBe(events.at(-1));
        },
      ),
    );
  });

  it('reaches the highest-ranked status delivered, and is idempotent and order-free', () => {
    fc.assert(
      fc.property(
        realCall.chain((events) => fc.tuple(fc.constant(events), deliveries(events))),
        ([, delivered]) => {
          const final = callStatusMachine.fold(delivered);
          const best = Math.max(0, ...delivered.map((s) => callStatusMachine.rank(s)));
          expect(callStatusMachine.rank(final)).toBe(best);
          // Replaying everything again changes nothing (duplicates are harmless).
          expect(callStatusMachine.fold(delivered, final)).toBe(final);
          // Reversed delivery gives the same end state (one terminal per real call).
          expect(callStatusMachine.fold([...delivered].reverse())).toBe(final);
        },
      ),
    );
  });

  it('never decreases in rank along any sequence', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...CALL_STATUSES), { maxLength: 30 }), (statuses) => {
        let current: CallStatus = 'queued';
        for (const incoming of statuses) {
          const next = callStatusMachine.next(current, incoming);
          expect(callStatusMachine.rank(next)).toBeGreaterThanOrEqual(callStatusMachine.rank(current));
          if (callStatusMachine.isTerminal(current)) expect(next).toBe(current);
          current = next;
        }
      }),
    );
  });
});
