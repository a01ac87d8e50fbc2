import { describe, expect, it } from 'vitest';
import { evaluateThreshold, parseThreshold } from '../../../load/runner/thresholds.ts';

describe('k6 threshold expressions', () => {
  it('parses the seed thresholds', () => {
    expect(parseThreshold('p(95)<500')).toMatchObject({
      aggregation: 'p',
      percentile: 95,
      op: '<',
      value: 500,
    });
    expect(parseThreshold('rate<0.1')).toMatchObject({ aggregation: 'rate', op: '<', value: 0.1 });
    expect(parseThreshold('rate < 0.05')).toMatchObject({ aggregation: 'rate', op: '<', value: 0.05 });
    expect(parseThreshold('p(99.9) <= 1e3')).toMatchObject({ percentile: 99.9, op: '<=', value: 1000 });
    expect(parseThreshold('count>=0')).toMatchObject({ aggregation: 'count', op: '>=', value: 0 });
    expect(parseThreshold('rate==1')).toMatchObject({ aggregation: 'rate', op: '==', value: 1 });
  });

  it('rejects what k6 rejects', () => {
    for (const bad of ['p95<500', 'p(95)', 'rate<', 'mean<3', 'p(101)<1', 'rate<<1', '']) {
      expect(() => parseThreshold(bad), bad).toThrow();
    }
  });

  it('evaluates against a metric’s values, computing any percentile on demand', () => {
    const values = { rate: 0.02, count: 10, avg: 120 };
    const pct = (p: number) => p * 5;
    expect(evaluateThreshold(parseThreshold('rate<0.1'), values, pct)).toBe(true);
    expect(evaluateThreshold(parseThreshold('rate<0.01'), values, pct)).toBe(false);
    expect(evaluateThreshold(parseThreshold('p(95)<500'), values, pct)).toBe(true);
    expect(evaluateThreshold(parseThreshold('p(99)<490'), values, pct)).toBe(false);
    expect(evaluateThreshold(parseThreshold('avg!=120'), values, pct)).toBe(false);
  });

  it('refuses an aggregation the metric does not have', () => {
    expect(() => evaluateThreshold(parseThreshold('rate<1'), { count: 1 }, () => 0)).toThrow(/rate/);
  });
});
