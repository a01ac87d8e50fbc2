import type { Logger } from '../../shared/observability/index.ts';

/** The channel the trigger of migration 20261201172000_video_render_changes notifies, with a render id. */
export const RENDER_CHANGED_CHANNEL = 'video_render_changed';

/** A LISTEN that survives reconnects and says when it resubscribed (pg-boss's database adapters have one). */
export type Listen = (
  channel: string,
  onNotification: (payload: string) => void,
  onReconnect: () => void,
) => Promise<{ close(): Promise<void> }>;

export interface RenderWatch {
  /**
   * Resolves true once the render may have changed since the previous call (or since `watch`), false
   * after `timeoutMs` without a notice. A change that lands between two calls is kept, so none is
   * missed between a read and the next wait.
   */
  changed(timeoutMs: number): Promise<boolean>;
  close(): void;
}

export interface RenderChanges {
  /** False when the database could not LISTEN: watches then only time out (the caller polls). */
  readonly live: boolean;
  watch(renderId: string): RenderWatch;
  close(): Promise<void>;
}

interface Watcher {
  dirty: boolean;
  wake?: () => void;
}

/**
 * Render changes pushed by the database: one LISTEN per process, each notice (a render id) wakes the
 * watches of that render, so an event stream reads the row when it changed instead of on a timer.
 * A resubscription after a lost connection wakes every watch (notices sent meanwhile are gone).
 *
 * @example
 * const changes = await startRenderChanges(queue.boss.getDb().listen, logger);
 * const watch = changes.watch(id); // before the first read of the row
 * await watch.changed(5000); // true: a notice came; read the row either way
 */
export async function startRenderChanges(listen: Listen | undefined, logger: Logger): Promise<RenderChanges> {
  const watchers = new Map<string, Set<Watcher>>();
  const wake = (watcher: Watcher) => {
    watcher.dirty = true;
    watcher.wake?.();
  };
  let handle: Awaited<ReturnType<Listen>> | undefined;
  if (listen) {
    try {
      handle = await listen(
        RENDER_CHANGED_CHANNEL,
        (payload) => {
          for (const watcher of watchers.get(payload.trim().toLowerCase()) ?? []) wake(watcher);
        },
        () => {
          for (const set of watchers.values()) for (const watcher of set) wake(watcher);
        },
      );
    } catch (error) {
      logger.warn({ err: error }, 'render changes: LISTEN failed; event streams poll instead');
    }
  }

  return {
    live: handle !== undefined,
    watch(renderId) {
      const id = renderId.toLowerCase();
      // Watch before reading the row: a change after the watch begins is never missed.
      const watcher: Watcher = { dirty: false };
      const set = watchers.get(id) ?? new Set<Watcher>();
      watchers.set(id, set);
      set.add(watcher);
      return {
        changed(timeoutMs) {
          if (watcher.dirty) {
            watcher.dirty = false;
            return Promise.resolve(true);
          }
          return new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => settle(false), timeoutMs);
            const settle = (notified: boolean) => {
              clearTimeout(timer);
              watcher.wake = undefined;
              watcher.dirty = false;
              resolve(notified);
            };
            watcher.wake = () => settle(true);
          });
        },
        close() {
          set.delete(watcher);
          if (set.size === 0 && watchers.get(id) === set) watchers.delete(id);
          watcher.wake?.();
        },
      };
    },
    async close() {
      for (const set of watchers.values()) for (const watcher of set) watcher.wake?.();
      watchers.clear();
      await handle?.close().catch(() => {});
    },
  };
}
