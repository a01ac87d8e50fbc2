import { METRIC_TYPES, parseMetricKey } from '../common/options.js';
import { percentile } from './percentile.ts';
import { evaluateThreshold, parseThreshold, type ThresholdSpec } from './thresholds.ts';

export type MetricType = 'counter' | 'rate' | 'trend' | 'gauge';
export type Tags = Readonly<Record<string, string>>;

/** One metric (or sub-metric) as k6 exports it in `handleSummary(data).metrics`. */
export interface K6Metric {
  type: MetricType;
  contains: 'time' | 'default';
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}

interface Series {
  type: MetricType;
  contains: 'time' | 'default';
  values: number[];
  times: number[];
  tags: Tags[];
}

const TIME_METRICS = new Set(['http_req_duration', 'iteration_duration', 'render_processing_duration']);

function matches(tags: Tags, selector: Record<string, string>): boolean {
  for (const key in selector) if (tags[key] !== selector[key]) return false;
  return true;
}

/**
 * Every sample the Node runner records, kept raw so any sub-metric (`metric{tag:value,...}`) can be
 * aggregated afterwards exactly as k6 would: trends keep every value, as k6's do.
 */
export class MetricRegistry {
  readonly #series = new Map<string, Series>();
  readonly #clock: () => number;

  constructor(clock: () => number = () => performance.now()) {
    this.#clock = clock;
  }

  add(metric: string, value: number, tags: Tags = {}, time = this.#clock()): void {
    let series = this.#series.get(metric);
    if (!series) {
      const type = ((METRIC_TYPES as Record<string, string>)[metric] ?? 'trend') as MetricType;
      series = {
        type,
        contains: TIME_METRICS.has(metric) ? 'time' : 'default',
        values: [],
        times: [],
        tags: [],
      };
      this.#series.set(metric, series);
    }
    series.values.push(value);
    series.times.push(time);
    series.tags.push(tags);
  }

  /** Declares a metric so it is exported even when nothing was recorded (k6 lists declared metrics). */
  declare(metric: string): void {
    if (this.#series.has(metric)) return;
    this.add(metric, 0);
    const series = this.#series.get(metric)!;
    series.values.pop();
    series.times.pop();
    series.tags.pop();
  }

  names(): string[] {
    return [...this.#series.keys()];
  }

  /** Samples of `metric` whose tags match and whose time lies in [from, to). */
  select(
    key: string,
    window?: { from: number; to: number },
  ): { type: MetricType; values: number[] } | undefined {
    const { metric, tags } = parseMetricKey(key);
    const series = this.#series.get(metric);
    if (!series) return undefined;
    const values: number[] = [];
    const filterTags = Object.keys(tags).length > 0;
    for (let i = 0; i < series.values.length; i++) {
      if (filterTags && !matches(series.tags[i], tags)) continue;
      if (window && (series.times[i] < window.from || series.times[i] >= window.to)) continue;
      values.push(series.values[i]);
    }
    return { type: series.type, values };
  }

  /**
   * The k6 `values` object of a metric or sub-metric; `durationMs` is the test run's length, which
   * counters divide by for their `rate` as k6 does.
   */
  aggregate(key: string, durationMs: number, window?: { from: number; to: number }): K6Metric | undefined {
    const { metric } = parseMetricKey(key);
    const series = this.#series.get(metric);
    const selected = this.select(key, window);
    if (!series || !selected) return undefined;
    return {
      type: series.type,
      contains: series.contains,
      values: aggregateValues(series.type, selected.values, durationMs),
    };
  }

  /**
   * The whole run as k6's `data.metrics`: every recorded metric, every sub-metric a threshold names,
   * each threshold evaluated.
   */
  toK6Metrics(
    thresholds: Record<string, readonly ThresholdSpec[]>,
    durationMs: number,
  ): Record<string, K6Metric> {
    const out: Record<string, K6Metric> = {};
    for (const name of this.#series.keys()) out[name] = this.aggregate(name, durationMs)!;
    for (const [key, specs] of Object.entries(thresholds)) {
      const { metric } = parseMetricKey(key);
      const type = ((METRIC_TYPES as Record<string, string>)[metric] ?? 'trend') as MetricType;
      const entry: K6Metric = out[key] ??
        this.aggregate(key, durationMs) ?? {
          type,
          contains: TIME_METRICS.has(metric) ? 'time' : 'default',
          values: aggregateValues(type, [], durationMs),
        };
      const selected = this.select(key)?.values ?? [];
      const sorted = entry.type === 'trend' ? Float64Array.from(selected).sort() : undefined;
      entry.thresholds = {};
      for (const spec of specs) {
        const parsed = parseThreshold(typeof spec === 'string' ? spec : spec.threshold);
        entry.thresholds[parsed.source] = {
          ok: evaluateThreshold(parsed, entry.values, (p) => percentile(sorted ?? [], p)),
        };
      }
      out[key] = entry;
    }
    return out;
  }
}

export function aggregateValues(
  type: MetricType,
  values: number[],
  durationMs: number,
): Record<string, number> {
  const seconds = durationMs > 0 ? durationMs / 1000 : 1;
  switch (type) {
    case 'counter': {
      let count = 0;
      for (const v of values) count += v;
      return { count, rate: count / seconds };
    }
    case 'rate': {
      let passes = 0;
      for (const v of values) if (v !== 0) passes++;
      return { rate: values.length ? passes / values.length : 0, passes, fails: values.length - passes };
    }
    case 'gauge': {
      if (values.length === 0) return { value: 0, min: 0, max: 0 };
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      for (const v of values) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      return { value: values[values.length - 1], min, max };
    }
    case 'trend': {
      const sorted = Float64Array.from(values).sort();
      const n = sorted.length;
      let sum = 0;
      for (const v of sorted) sum += v;
      return {
        avg: n ? sum / n : 0,
        min: n ? sorted[0] : 0,
        med: percentile(sorted, 50),
        max: n ? sorted[n - 1] : 0,
        'p(90)': percentile(sorted, 90),
        'p(95)': percentile(sorted, 95),
        'p(99)': percentile(sorted, 99),
        count: n,
      };
    }
  }
}
