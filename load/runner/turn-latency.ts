/**
 * Voice turn latency for the load report: read from voice-bridge's own `voice_turn_latency_seconds`
 * histogram after the run (the service measures each turn where it happens: end of caller speech to the
 * first agent audio frame sent to Twilio), so the report shows what callers waited during the load.
 */

export interface TurnLatency {
  turns: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

const METRIC = 'voice_turn_latency_seconds';

/**
 * A quantile from cumulative histogram buckets, interpolated linearly inside the bucket that holds it
 * (Prometheus's `histogram_quantile`); the open +Inf bucket answers its lower bound.
 */
export function histogramQuantile(q: number, buckets: { le: number; count: number }[]): number | null {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of sorted) {
    if (bucket.count >= rank) {
      if (!Number.isFinite(bucket.le)) return lowerBound;
      const inBucket = bucket.count - lowerCount;
      return inBucket === 0
        ? bucket.le
        : lowerBound + ((bucket.le - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound;
}

/** Parses the histogram out of a /metrics text (all label sets summed). */
export function turnLatencyFromMetrics(text: string): TurnLatency {
  const byLe = new Map<number, number>();
  const pattern = new RegExp(`^${METRIC}_bucket\\{([^}]*)\\} (\\S+)$`, 'gm');
  for (const [, labels, value] of text.matchAll(pattern)) {
    const le = /(?:^|,)le="([^"]+)"/.exec(labels)?.[1];
    if (!le) continue;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    byLe.set(bound, (byLe.get(bound) ?? 0) + Number(value));
  }
  const buckets = [...byLe].map(([le, count]) => ({ le, count }));
  const toMs = (seconds: number | null) => (seconds === null ? null : Math.round(seconds * 1000));
  return {
    turns: buckets.length ? Math.max(...buckets.map((b) => b.count)) : 0,
    p50Ms: toMs(histogramQuantile(0.5, buckets)),
    p95Ms: toMs(histogramQuantile(0.95, buckets)),
  };
}

/** Scrapes voice-bridge's /metrics; null when it does not answer. */
export async function scrapeTurnLatency(voiceBaseUrl: string): Promise<TurnLatency | null> {
  try {
    const res = await fetch(`${voiceBaseUrl.replace(/\/+$/, '')}/metrics`, {
      signal: AbortSignal.timeout(5000),
    });
    return res.ok ? turnLatencyFromMetrics(await res.text()) : null;
  } catch {
    return null;
  }
}
