import { describe, expect, it } from 'vitest';
import { bareBracket, throughputRatio } from '../../../bench/support/bare-bracket.ts';
import type { HttpFigures } from '../../../bench/support/measure-http.ts';

const figures = (okPerSecond: number): HttpFigures => ({
  requests: okPerSecond * 5,
  requestsPerSecond: okPerSecond,
  okPerSecond,
  non2xx: 0,
  errors: 0,
  latencyMs: { p50: 1, p95: 2, p97_5: 3, p99: 4, max: 5, mean: 1 },
});

describe('bare Hono bracket', () => {
  it('keeps both measurements and takes ratios against their mean', () => {
    const bare = bareBracket(figures(11_000), figures(7_965));
    expect(bare.bareHono.okPerSecond).toBe(11_000);
    expect(bare.bareHonoAfter.okPerSecond).toBe(7_965);
    expect(bare.bareHonoPerSecond).toBe(9_482.5);
    expect(throughputRatio(3_925, bare.bareHonoPerSecond)).toBe(0.414);
    expect(bare.bareHonoCpuUsPerRequest).toBeNull();
  });

  it("takes bare Hono's CPU per request as the mean of the runs that measured it", () => {
    const cpu = (us: number) => ({
      ...figures(10_000),
      cpuUsPerRequest: { bareHono: us, loadGenerator: 40 },
    });
    expect(bareBracket(cpu(30), cpu(35)).bareHonoCpuUsPerRequest).toBe(32.5);
    expect(bareBracket(cpu(30), figures(10_000)).bareHonoCpuUsPerRequest).toBe(30);
  });
});
