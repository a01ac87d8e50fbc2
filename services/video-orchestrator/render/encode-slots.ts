/** Frees the slot; calling it again does nothing. */
export type ReleaseSlot = () => void;

export interface EncodeSlots {
  /** A slot now, or null when all are taken (or promised to earlier waiters). */
  tryAcquire(): ReleaseSlot | null;
  /**
   * A slot for one ffmpeg run: at once when one is free, else when one frees up (first come, first
   * served). Rejects with the signal's reason if it aborts first.
   */
  acquire(signal: AbortSignal): Promise<ReleaseSlot>;
  readonly running: number;
}

/**
 * At most `max` ffmpeg runs at once in a worker (RENDER_CONCURRENCY), while the worker holds more
 * renders than that (RENDER_PREFETCH): the extra ones fetch and probe their inputs during the others'
 * encoding and start the moment a slot frees, so the encoders never wait for a queue round trip,
 * a download or a plan.
 *
 * @example
 * const slots = createEncodeSlots(2);
 * const release = slots.tryAcquire() ?? (await slots.acquire(signal));
 * try { await tools.run(plan.command, options); } finally { release(); }
 */
export function createEncodeSlots(max: number): EncodeSlots {
  let running = 0;
  const waiting: { grant: () => void }[] = [];

  const slot = (): ReleaseSlot => {
    running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      running--;
      waiting.shift()?.grant();
    };
  };

  return {
    get running() {
      return running;
    },
    tryAcquire() {
      return running < max && waiting.length === 0 ? slot() : null;
    },
    acquire(signal) {
      if (signal.aborted) return Promise.reject(signal.reason);
      if (running < max && waiting.length === 0) return Promise.resolve(slot());
      return new Promise<ReleaseSlot>((resolve, reject) => {
        const waiter = {
          grant: () => {
            signal.removeEventListener('abort', onAbort);
            resolve(slot());
          },
        };
        const onAbort = () => {
          waiting.splice(waiting.indexOf(waiter), 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiting.push(waiter);
      });
    },
  };
}
