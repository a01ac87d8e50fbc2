import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregateValues, MetricRegistry } from '../../../load/runner/metrics.ts';
import { percentile } from '../../../load/runner/percentile.ts';

describe('percentile (k6 trend sink)', () => {
  it('interpolates between closest ranks as k6 does', () => {
    const sorted = Float64Array.from([10, 20, 30, 40, 50]);
    expect(percentile(sorted, 50)).toBe(30);
    expect(percentile(sorted, 95)).toBeCloseTo(48);
    expect(percentile(sorted, 90)).toBeCloseTo(46);
    expect(percentile(Float64Array.from([7]), 99)).toBe(7);
    expect(percentile(new Float64Array(0), 95)).toBe(0);
    const hundred = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 95)).toBeCloseTo(95.05);
    expect(percentile(hundred, 99)).toBeCloseTo(99.01);
  });

  it('is monotonic and stays within min and max', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1 }),
        fc.nat(99),
        (values, p) => {
          const sorted = Float64Array.from(values).sort();
          const a = percentile(sorted, p);
          const b = percentile(sorted, p + 1);
          return a <= b && a >= sorted[0] && b <= sorted[sorted.length - 1];
        },
      ),
    );
  });
});

describe('aggregateValues', () => {
  it('gives counters a count and a per-second rate over the run', () => {
    expect(aggregateValues('counter', [1, 1, 1, 1], 2000)).toEqual({ count: 4, rate: 2 });
  });
  it('gives rates passes over samples', () => {
    expect(aggregateValues('rate', [1, 0, 0, 1], 1000)).toEqual({ rate: 0.5, passes: 2, fails: 2 });
    expect(aggregateValues('rate', [], 1000)).toEqual({ rate: 0, passes: 0, fails: 0 });
  });
  it('gives trends the summary statistics', () => {
    expect(aggregateValues('trend', [4, 1, 3, 2], 1000)).toMatchObject({
      avg: 2.5,
      min: 1,
      med: 2.5,
      max: 4,
      count: 4,
    });
  });
  it('gives gauges last, min and max', () => {
    expect(aggregateValues('gauge', [3, 9, 1, 5], 1000)).toEqual({ value: 5, min: 1, max: 9 });
  });
});

describe('MetricRegistry', () => {
  it('aggregates sub-metrics by tag and evaluates thresholds as k6 exports them', () => {
    let now = 0;
    const registry = new MetricRegistry(() => now);
    for (let i = 1; i <= 100; i++) {
      now = i * 10;
      registry.add('http_req_duration', i, {
        service: i % 2 ? 'voice-bridge' : 'video-orchestrator',
        stage: '0',
      });
      registry.add('http_reqs', 1, { service: i % 2 ? 'voice-bridge' : 'video-orchestrator', stage: '0' });
      registry.add('errors', i <= 3 ? 1 : 0, { service: 'voice-bridge' });
    }
    const metrics = registry.toK6Metrics(
      {
        http_req_duration: ['p(95)<500'],
        'http_req_duration{service:voice-bridge}': ['p(95)<90'],
        errors: ['rate<0.1'],
        'http_reqs{stage:1}': ['count>=0'],
      },
      1000,
    );
    expect(metrics.http_req_duration.values['p(95)']).toBeCloseTo(95.05);
    expect(metrics.http_req_duration.thresholds).toEqual({ 'p(95)<500': { ok: true } });
    expect(metrics['http_req_duration{service:voice-bridge}'].values.count).toBe(50);
    expect(metrics['http_req_duration{service:voice-bridge}'].thresholds).toEqual({
      'p(95)<90': { ok: false },
    });
    expect(metrics.errors.values).toEqual({ rate: 0.03, passes: 3, fails: 97 });
    expect(metrics.http_reqs.values).toEqual({ count: 100, rate: 100 });
    // A sub-metric nothing matched still exists, empty, as in k6.
    expect(metrics['http_reqs{stage:1}'].values.count).toBe(0);
  });

  it('selects samples in a time window', () => {
    let now = 0;
    const registry = new MetricRegistry(() => now);
    for (now = 0; now < 10; now++) registry.add('http_req_duration', now);
    expect(registry.select('http_req_duration', { from: 3, to: 6 })?.values).toEqual([3, 4, 5]);
  });
});
