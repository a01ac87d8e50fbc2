import type { Database, Sql } from './database.ts';

/** Thrown to a caller when the writer's queue is full: answer 503 with Retry-After, the sender retries. */
export class WriterOverloadedError extends Error {
  readonly retryAfterSeconds: number;
  constructor(writer: string, retryAfterSeconds: number) {
    super(`${writer}: too many writes waiting; retry later`);
    this.name = 'WriterOverloadedError';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** What the writer reports after each flush (the service turns it into metrics). */
export interface FlushReport {
  writer: string;
  items: number;
  ms: number;
  ok: boolean;
}

export interface GroupCommitOptions<Item, Result> {
  /** Names the writer in errors and metrics. */
  name: string;
  db: Database;
  /**
   * Writes every item in one transaction and returns one result per item, in order. Build one multi-row
   * statement per table: the point is one round trip per table and one commit for the whole group.
   */
  flush: (tx: Sql, items: Item[]) => Promise<Result[]>;
  /**
   * The flush is one statement, atomic on its own: run it without BEGIN/COMMIT (two round trips fewer).
   * A function decides per group (e.g. only groups that enqueue no job).
   */
  singleStatement?: boolean | ((items: Item[]) => boolean);
  /** Flush as soon as this many items wait (default 256). */
  maxBatch?: number;
  /** Longest an item waits for company before its group is flushed (default 1 ms, at most 2 ms). */
  maxDelayMs?: number;
  /** Items accepted and not yet committed, beyond which `submit` refuses (default 4,096). */
  maxQueued?: number;
  /** Flushes in flight at once: 1 on PGlite (one connection); a couple on a server (default 2). */
  concurrency?: number;
  /** Retry-After handed to refused callers (default 1 s). */
  retryAfterSeconds?: number;
  onFlush?: (report: FlushReport) => void;
  /** A submission was refused (queue full). */
  onReject?: (writer: string) => void;
  /** Items waiting or committing, reported as each flush starts and ends. */
  onDepth?: (writer: string, depth: number) => void;
  /** Attempts of one flush when another transaction deadlocks with it (default 3). */
  attempts?: number;
}

export interface GroupCommitWriter<Item, Result> {
  /** Resolves with this item's own result once its group has committed; rejects if the group failed. */
  submit(item: Item): Promise<Result>;
  /** Items accepted and not yet committed (waiting or in a flush). */
  readonly depth: number;
  /** Flushes what waits and resolves when nothing is in flight (graceful shutdown). */
  drain(): Promise<void>;
}

/**
 * Several instances flush at once, and two groups can lock the same rows in different orders: PostgreSQL
 * then aborts one (40P01), or a serializable conflict (40001). The whole group is simply written again.
 */
async function withDeadlockRetry<T>(write: () => Promise<T>, attempts: number): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await write();
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt >= attempts || (code !== '40P01' && code !== '40001')) throw error;
    }
  }
}

interface Pending<Item, Result> {
  item: Item;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for hot write paths (PostgreSQL's own `commit_delay` idea, one level up): concurrent
 * callers submit rows, one flush writes all of them in one transaction, and each caller is answered only
 * after that commit, with its own result. A failed flush fails every caller in it; none is dropped.
 *
 * A group leaves when it is full, when its oldest item has waited `maxDelayMs`, or at once when no flush
 * is in flight (an idle system pays no delay); while flushes are in flight, arrivals gather for the next.
 *
 * @example
 * const writer = createGroupCommitWriter({ name: 'status-events', db, flush: (tx, events) => insertAll(tx, events) });
 * const result = await writer.submit(event); // after COMMIT
 */
export function createGroupCommitWriter<Item, Result>(
  options: GroupCommitOptions<Item, Result>,
): GroupCommitWriter<Item, Result> {
  const maxBatch = options.maxBatch ?? 256;
  const maxDelayMs = Math.min(options.maxDelayMs ?? 1, 2);
  const maxQueued = options.maxQueued ?? 4096;
  const concurrency = options.db.kind === 'pglite' ? 1 : (options.concurrency ?? 2);
  const retryAfter = options.retryAfterSeconds ?? 1;

  let waiting: Pending<Item, Result>[] = [];
  let inFlight = 0;
  let committing = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let idle: (() => void)[] = [];
  /** The oldest waiting item has waited maxDelayMs. */
  let expired = false;

  const settleIdle = () => {
    if (inFlight > 0 || waiting.length > 0) return;
    for (const done of idle) done();
    idle = [];
  };

  async function flushGroup(group: Pending<Item, Result>[]): Promise<void> {
    inFlight += 1;
    committing += group.length;
    options.onDepth?.(options.name, waiting.length + committing);
    const started = performance.now();
    try {
      const items = group.map((p) => p.item);
      // Checked inside the transaction, so a flush that miscounts rolls back rather than commits unanswered.
      const write = async (sql: Sql) => {
        const results = await options.flush(sql, items);
        if (results.length !== items.length) {
          throw new Error(
            `${options.name}: flush returned ${results.length} results for ${items.length} items`,
          );
        }
        return results;
      };
      const single =
        typeof options.singleStatement === 'function'
          ? options.singleStatement(items)
          : options.singleStatement;
      const results = await withDeadlockRetry(
        () => (single ? write(options.db) : options.db.transaction(write)),
        options.attempts ?? 3,
      );
      report(group.length, started, true);
      group.forEach((p, i) => {
        p.resolve(results[i]);
      });
    } catch (error) {
      report(group.length, started, false);
      for (const p of group) p.reject(error);
    } finally {
      inFlight -= 1;
      committing -= group.length;
      options.onDepth?.(options.name, waiting.length + committing);
      schedule();
      settleIdle();
    }
  }

  function report(items: number, started: number, ok: boolean) {
    options.onFlush?.({ writer: options.name, items, ms: performance.now() - started, ok });
  }

  function takeGroup() {
    const group = waiting.length <= maxBatch ? waiting : waiting.slice(0, maxBatch);
    waiting = group === waiting ? [] : waiting.slice(maxBatch);
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    void flushGroup(group);
  }

  /** Decides, after every arrival, timer and finished flush, whether a group leaves now. */
  function schedule() {
    while (
      waiting.length > 0 &&
      inFlight < concurrency &&
      (inFlight === 0 || expired || waiting.length >= maxBatch)
    ) {
      expired = false;
      takeGroup();
    }
    if (waiting.length > 0 && !timer && !expired) {
      timer = setTimeout(() => {
        timer = null;
        // If every slot is busy, the group leaves with the first one that frees.
        expired = true;
        schedule();
      }, maxDelayMs);
    }
  }

  return {
    submit(item) {
      if (waiting.length + committing >= maxQueued) {
        options.onReject?.(options.name);
        return Promise.reject(new WriterOverloadedError(options.name, retryAfter));
      }
      return new Promise<Result>((resolve, reject) => {
        waiting.push({ item, resolve, reject });
        schedule();
      });
    },
    get depth() {
      return waiting.length + committing;
    },
    drain() {
      expired = true;
      schedule();
      return new Promise<void>((resolve) => {
        idle.push(resolve);
        settleIdle();
      });
    },
  };
}
