/**
 * Twilio call statuses and the one rule that orders them. Status callbacks arrive late, twice and out of
 * order, so a call only ever moves forward: each status has a rank, a call takes an incoming status only
 * when it ranks higher, and the first terminal status wins. Every callback is still kept as an event.
 * The store applies the same rule in SQL (`status_rank < $rank`) so concurrent callbacks cannot race.
 */

export const CALL_STATUSES = [
  'queued',
  'initiated',
  'ringing',
  'in-progress',
  'completed',
  'busy',
  'failed',
  'no-answer',
  'canceled',
] as const;

export type CallStatus = (typeof CALL_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<CallStatus> = new Set([
  'completed',
  'busy',
  'failed',
  'no-answer',
  'canceled',
]);

const RANK: Record<CallStatus, number> = {
  queued: 0,
  initiated: 1,
  ringing: 2,
  'in-progress': 3,
  completed: 4,
  busy: 4,
  failed: 4,
  'no-answer': 4,
  canceled: 4,
};

export const callStatusMachine = {
  rank(status: CallStatus): number {
    return RANK[status];
  },

  isTerminal(status: CallStatus): boolean {
    return TERMINAL_STATUSES.has(status);
  },

  /** The status a call at `current` has after hearing `incoming`. */
  next(current: CallStatus, incoming: CallStatus): CallStatus {
    return RANK[incoming] > RANK[current] ? incoming : current;
  },

  /** Folds a sequence of statuses, as they arrived, from `initial`. */
  fold(statuses: Iterable<CallStatus>, initial: CallStatus = 'queued'): CallStatus {
    let status = initial;
    for (const incoming of statuses) status = callStatusMachine.next(status, incoming);
    return status;
  },
};
