import type { Sample } from '../shared/observability/index.ts';

/** What the health page shows of one service at one scrape. */
export interface ServiceHealth {
  service: string;
  up: boolean;
  at: string;
  breakers: Array<{ name: string; state: string }>;
  rateLimitRejections: Array<{ policy: string; total: number }>;
  queueDepths: Array<{ queue: string; depth: number }>;
  /** Cumulative request-duration histogram over every route: the page charts the deltas between scrapes. */
  requests: { count: number; sum: number; buckets: Array<{ le: number; count: number }> };
}

const BREAKER_STATES: Record<string, string> = { '0': 'closed', '1': 'half-open', '2': 'open' };

export function summarizeMetrics(service: string, samples: Sample[], at: Date): ServiceHealth {
  const byName = (name: string) => samples.filter((s) => s.name === name);
  const buckets = new Map<number, number>();
  for (const s of byName('http_request_duration_seconds_bucket')) {
    const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + s.value);
  }
  const total = (name: string) => byName(name).reduce((sum, s) => sum + s.value, 0);
  const grouped = (name: string, label: string) => {
    const map = new Map<string, number>();
    for (const s of byName(name))
      map.set(s.labels[label] ?? '', (map.get(s.labels[label] ?? '') ?? 0) + s.value);
    return [...map];
  };
  return {
    service,
    up: true,
    at: at.toISOString(),
    breakers: byName('circuit_breaker_state').map((s) => ({
      name: s.labels.breaker ?? '',
      state: BREAKER_STATES[String(s.value)] ?? String(s.value),
    })),
    rateLimitRejections: grouped('rate_limit_rejections_total', 'policy').map(([policy, t]) => ({
      policy,
      total: t,
    })),
    queueDepths: grouped('queue_depth', 'queue').map(([queue, depth]) => ({ queue, depth })),
    requests: {
      count: total('http_request_duration_seconds_count'),
      sum: total('http_request_duration_seconds_sum'),
      buckets: [...buckets]
        .sort((a, b) => a[0] - b[0])
        .map(([le, count]) => ({ le: Number.isFinite(le) ? le : -1, count })),
    },
  };
}
