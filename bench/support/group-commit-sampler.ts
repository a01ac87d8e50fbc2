import { parsePrometheusText, type Sample } from '../../shared/observability/index.ts';

/** One group-commit writer across a measurement's timed seconds, from the service's own /metrics. */
export interface GroupCommitFigures {
  /** Flushes (transactions or single statements), committed or failed. */
  flushes: number;
  /** Rows (callers) those flushes carried. */
  items: number;
  /** items ÷ flushes. */
  meanBatch: number;
  /** Mean time from a flush's start to its commit (or failure), as the service measured it: the
   * database's work, its WAL flush and the wait for the service's event loop to read the answer. */
  meanFlushMs: number;
}

/** The writers that flushed during a measurement, by name. */
export type GroupCommitByWriter = Record<string, GroupCommitFigures>;

interface Counters {
  flushes: number;
  items: number;
  flushSeconds: number;
}

const noFlushes = (): Counters => ({ flushes: 0, items: 0, flushSeconds: 0 });

const twoDecimals = (n: number) => Math.round(n * 100) / 100;

function figuresOf(c: Counters): GroupCommitFigures {
  return {
    flushes: c.flushes,
    items: c.items,
    meanBatch: twoDecimals(c.items / c.flushes),
    meanFlushMs: twoDecimals((c.flushSeconds * 1000) / c.flushes),
  };
}

function writerCounters(samples: readonly Sample[]): Map<string, Counters> {
  const writers = new Map<string, Counters>();
  const of = (writer: string) => {
    const counters = writers.get(writer) ?? noFlushes();
    writers.set(writer, counters);
    return counters;
  };
  for (const s of samples) {
    const writer = s.labels.writer;
    if (writer === undefined) continue;
    // Every flush, committed or failed (the measurement's non-2xx tells of failures).
    if (s.name === 'group_commit_batch_size_count') of(writer).flushes += s.value;
    else if (s.name === 'group_commit_batch_size_sum') of(writer).items += s.value;
    else if (s.name === 'group_commit_flush_duration_seconds_sum') of(writer).flushSeconds += s.value;
  }
  return writers;
}

/** What changed between two scrapes: writers that flushed in between, with their means. */
export function groupCommitBetween(before: readonly Sample[], after: readonly Sample[]): GroupCommitByWriter {
  const start = writerCounters(before);
  const figures: GroupCommitByWriter = {};
  for (const [writer, end] of writerCounters(after)) {
    const from = start.get(writer) ?? noFlushes();
    const flushes = end.flushes - from.flushes;
    if (flushes <= 0) continue;
    figures[writer] = figuresOf({
      flushes,
      items: end.items - from.items,
      flushSeconds: end.flushSeconds - from.flushSeconds,
    });
  }
  return figures;
}

/** Several measurements' figures as one: counts summed, means weighted by flushes. */
export function combineGroupCommit(parts: readonly GroupCommitByWriter[]): GroupCommitByWriter {
  const totals = new Map<string, Counters>();
  for (const part of parts) {
    for (const [writer, f] of Object.entries(part)) {
      const t = totals.get(writer) ?? noFlushes();
      t.flushes += f.flushes;
      t.items += f.items;
      t.flushSeconds += (f.meanFlushMs * f.flushes) / 1000;
      totals.set(writer, t);
    }
  }
  return Object.fromEntries([...totals].map(([writer, t]) => [writer, figuresOf(t)]));
}

async function scrape(metricsUrl: string): Promise<Sample[]> {
  const response = await fetch(metricsUrl);
  if (!response.ok) throw new Error(`GET ${metricsUrl} answered ${response.status}`);
  return parsePrometheusText(await response.text());
}

/**
 * The service's group-commit flushes across a measurement (rows per flush, time per flush), read from its
 * /metrics before and after: how the writer grouped that load. Scrape before the CPU sampling starts and
 * after it stops, so the scrapes' own cost is not in the CPU per request.
 *
 * @example
 * const groupCommit = await sampleGroupCommit(`${url}/metrics`);
 * await load();
 * const figures = await groupCommit.stop(); // { 'whatsapp-webhooks': { flushes: 1400, meanBatch: 15.4, … } }
 */
export async function sampleGroupCommit(metricsUrl: string) {
  const before = await scrape(metricsUrl);
  return { stop: async () => groupCommitBetween(before, await scrape(metricsUrl)) };
}
