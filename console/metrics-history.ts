import { parsePrometheusText } from '../shared/observability/index.ts';
import { type ServiceHealth, summarizeMetrics } from './metrics-summary.ts';

/** One point of a service's latency chart: the requests between two scrapes. */
export interface LatencyPoint {
  at: string;
  p50Ms: number | null;
  p95Ms: number | null;
  requestsPerSecond: number;
}

export type ServiceState = ServiceHealth | { service: string; up: false; error: string };

/** The q-quantile of a (non-cumulative-by-time) cumulative-by-bucket histogram: its bucket's upper bound. */
export function bucketQuantile(buckets: Array<{ le: number; count: number }>, q: number): number | null {
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const bucket = buckets.find((b) => b.count >= q * total);
  return bucket && bucket.le >= 0 ? Math.round(bucket.le * 1000 * 1000) / 1000 : null;
}

/** The chart point between two scrapes of the same service (counters only grow; a restart resets them). */
export function latencyPoint(before: ServiceHealth, after: ServiceHealth): LatencyPoint | null {
  const seconds = (Date.parse(after.at) - Date.parse(before.at)) / 1000;
  if (seconds <= 0 || after.requests.count < before.requests.count) return null;
  const deltas = after.requests.buckets.map((bucket, i) => ({
    le: bucket.le,
    count: bucket.count - (before.requests.buckets[i]?.count ?? 0),
  }));
  return {
    at: after.at,
    p50Ms: bucketQuantile(deltas, 0.5),
    p95Ms: bucketQuantile(deltas, 0.95),
    requestsPerSecond: Math.round(((after.requests.count - before.requests.count) / seconds) * 10) / 10,
  };
}

export interface MetricsHistoryOptions {
  services: Record<string, { baseUrl: string }>;
  intervalMs: number;
  /** How much history the charts keep. */
  windowMs: number;
}

/**
 * Scrapes each service's /metrics every `intervalMs` once someone first asks, and keeps the chart points of
 * the last `windowMs`, so a health page opened now shows the last minutes rather than starting empty.
 */
export function createMetricsHistory(options: MetricsHistoryOptions) {
  const latest = new Map<string, ServiceState>();
  const points = new Map<string, LatencyPoint[]>();
  let timer: NodeJS.Timeout | undefined;

  async function scrapeOnce(): Promise<void> {
    await Promise.all(
      Object.entries(options.services).map(async ([service, target]) => {
        try {
          const response = await fetch(`${target.baseUrl}/metrics`, { signal: AbortSignal.timeout(3000) });
          if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
          const now = summarizeMetrics(service, parsePrometheusText(await response.text()), new Date());
          const before = latest.get(service);
          const point = before?.up ? latencyPoint(before, now) : null;
          if (point) {
            const cutoff = Date.now() - options.windowMs;
            points.set(
              service,
              [...(points.get(service) ?? []), point].filter((p) => Date.parse(p.at) >= cutoff),
            );
          }
          latest.set(service, now);
        } catch (error) {
          latest.set(service, {
            service,
            up: false,
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }),
    );
  }

  return {
    /** The latest scrape of every service and each one's chart points; starts the scraping on first use. */
    async snapshot() {
      if (!timer) {
        await scrapeOnce();
        timer = setInterval(() => void scrapeOnce(), options.intervalMs);
        timer.unref();
      }
      return {
        services: Object.keys(options.services).map((service) => ({
          ...(latest.get(service) ?? { service, up: false, error: 'not scraped yet' }),
          latency: points.get(service) ?? [],
        })),
      };
    },
    stop() {
      clearInterval(timer);
    },
  };
}
