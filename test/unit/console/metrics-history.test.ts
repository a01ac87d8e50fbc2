import { describe, expect, it } from 'vitest';
import { bucketQuantile, latencyPoint } from '../../../console/metrics-history.ts';
import { summarizeMetrics } from '../../../console/metrics-summary.ts';
import { parsePrometheusText } from '../../../shared/observability/index.ts';

const scrape = (count: number, fast: number) => `# HELP http_request_duration_seconds x
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.005",method="GET",route="/calls/:id",status="200"} ${fast}
http_request_duration_seconds_bucket{le="0.05",method="GET",route="/calls/:id",status="200"} ${count}
http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/calls/:id",status="200"} ${count}
http_request_duration_seconds_sum{method="GET",route="/calls/:id",status="200"} 0.1
http_request_duration_seconds_count{method="GET",route="/calls/:id",status="200"} ${count}
circuit_breaker_state{breaker="twilio-calls"} 2
rate_limit_rejections_total{policy="voice-outbound"} 3
queue_depth{queue="video-renders"} 4
`;

describe('health from /metrics', () => {
  it('reads breakers, rejections and queue depths', () => {
    const health = summarizeMetrics('voice-bridge', parsePrometheusText(scrape(10, 5)), new Date());
    expect(health.breakers).toEqual([{ name: 'twilio-calls', state: 'open' }]);
    expect(health.rateLimitRejections).toEqual([{ policy: 'voice-outbound', total: 3 }]);
    expect(health.queueDepths).toEqual([{ queue: 'video-renders', depth: 4 }]);
    expect(health.requests.count).toBe(10);
  });

  it('charts the requests between two scrapes, not since the start', () => {
    const before = summarizeMetrics(
      's',
      parsePrometheusText(scrape(10, 10)),
      new Date('2026-12-01T00:00:00Z'),
    );
    // 10 more requests, only 1 of them fast: p50 and p95 fall in the 50 ms bucket.
    const after = summarizeMetrics(
      's',
      parsePrometheusText(scrape(20, 11)),
      new Date('2026-12-01T00:00:02Z'),
    );
    expect(latencyPoint(before, after)).toEqual({
      at: '2026-12-01T00:00:02.000Z',
      p50Ms: 50,
      p95Ms: 50,
      requestsPerSecond: 5,
    });
    // A restart resets the counters: no point rather than a negative one.
    expect(latencyPoint(after, before)).toBeNull();
  });

  it('has no quantile without requests', () => {
    expect(
      bucketQuantile(
        [
          { le: 0.005, count: 0 },
          { le: -1, count: 0 },
        ],
        0.5,
      ),
    ).toBeNull();
  });
});
