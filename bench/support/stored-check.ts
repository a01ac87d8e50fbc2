import { setTimeout as delay } from 'node:timers/promises';

/** Stored = acknowledged, for one measurement. */
export interface StoredCheck {
  /** Requests answered 2xx (each a distinct event). */
  acknowledged: number;
  /** Of those, how many are rows in the database. */
  acknowledgedStored: number;
  /** Rows the measurement's requests left in the database, acknowledged or not. */
  stored: number;
  /** Requests sent but never answered (cut when the measurement stopped, or failed on the wire). */
  unansweredAtStop: number;
  /** Every acknowledged event stored once, and nothing stored that was not sent. */
  ok: boolean;
}

/**
 * Counts the measurement's rows once they stop changing (a request cut when the load stopped may still
 * be committing) and compares them with what was acknowledged: every 2xx must be a row, and the only
 * rows beyond the 2xx count may be requests that were in flight when the load stopped.
 */
export async function checkStored(input: {
  acknowledgedKeys: readonly string[];
  unansweredAtStop: number;
  /** Rows of the measurement, all of them. */
  countStored: () => Promise<number>;
  /** Rows whose key is among `keys`. */
  countStoredOf: (keys: readonly string[]) => Promise<number>;
}): Promise<StoredCheck> {
  let stored = await input.countStored();
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    await delay(200);
    const again = await input.countStored();
    if (again === stored) break;
    stored = again;
  }
  const acknowledged = input.acknowledgedKeys.length;
  const acknowledgedStored = await input.countStoredOf(input.acknowledgedKeys);
  return {
    acknowledged,
    acknowledgedStored,
    stored,
    unansweredAtStop: input.unansweredAtStop,
    ok:
      acknowledgedStored === acknowledged &&
      stored >= acknowledged &&
      stored <= acknowledged + input.unansweredAtStop,
  };
}
