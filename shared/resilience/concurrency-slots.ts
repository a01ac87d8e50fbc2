/**
 * A cap on how many of something run at once, per key (a bulkhead): uploads in a process, SSE streams
 * per API key. `tryAcquire` never waits: the caller answers 429/503 instead of queueing the request.
 * Counts live in this process's memory; each instance enforces its own share.
 *
 * @example
 * const uploads = createConcurrencySlots({ max: 4 });
 * const release = uploads.tryAcquire();
 * if (!release) throw new ProblemError({ status: 503, title: 'Service Unavailable' });
 * try { await receive(); } finally { release(); }
 */
export function createConcurrencySlots(options: { max: number }) {
  const active = new Map<string, number>();
  return {
    max: options.max,
    /** A release function (idempotent) when a slot is free for `key`, else null. */
    tryAcquire(key = ''): (() => void) | null {
      const count = active.get(key) ?? 0;
      if (count >= options.max) return null;
      active.set(key, count + 1);
      let released = false;
      return function release() {
        if (released) return;
        released = true;
        const left = (active.get(key) ?? 1) - 1;
        if (left <= 0) active.delete(key);
        else active.set(key, left);
      };
    },
    active(key = ''): number {
      return active.get(key) ?? 0;
    },
  };
}

export type ConcurrencySlots = ReturnType<typeof createConcurrencySlots>;
