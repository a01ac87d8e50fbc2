import { describe, expect, it } from 'vitest';
import { combineMeasurements, type HttpMeasurement } from '../../../bench/support/measure-http.ts';
import { bareFigures, measureInTurns, roundRatio, turnRatio } from '../../../bench/support/turns.ts';

/** A measurement of `seconds` at `okPerSecond`, every response taking `latencyMs`. */
function measurement(
  okPerSecond: number,
  options: {
    seconds?: number;
    latencyMs?: number;
    cpu?: Record<string, number | null>;
    keys?: string[];
  } = {},
): HttpMeasurement {
  const seconds = options.seconds ?? 5;
  const requests = okPerSecond * seconds;
  const latencies = Array.from({ length: requests }, () => options.latencyMs ?? 1);
  return {
    figures: {
      requests,
      requestsPerSecond: okPerSecond,
      okPerSecond,
      non2xx: 0,
      errors: 0,
      latencyMs: { p50: 1, p95: 1, p97_5: 1, p99: 1, max: 1, mean: 1 },
      ...(options.cpu ? { cpuUsPerRequest: options.cpu } : {}),
    },
    acknowledgedKeys: options.keys ?? [],
    unansweredAtStop: 1,
    latencies,
    seconds,
  };
}

describe('measuring in turns with bare Hono', () => {
  it('runs bare Hono before every round and once after the last, each subject once a round', async () => {
    const order: string[] = [];
    const target = (name: string) => async (turn: number) => {
      order.push(`${name}${turn}`);
      return measurement(100);
    };
    const turns = await measureInTurns({
      rounds: 2,
      bare: target('bare'),
      subjects: { senders: target('senders'), hot: target('hot') },
    });
    expect(order).toEqual(['bare0', 'senders0', 'hot0', 'bare1', 'senders1', 'hot1', 'bare2']);
    expect(turns.bare).toHaveLength(3);
    expect(turns.subjects.senders).toHaveLength(2);
    expect(turns.subjects.hot).toHaveLength(2);
  });

  it('refuses a number of rounds that would leave no ratio', async () => {
    const target = async () => measurement(100);
    for (const rounds of [0, 1.5])
      await expect(measureInTurns({ rounds, bare: target, subjects: { kit: target } })).rejects.toThrow(
        /rounds must be a whole number/,
      );
  });

  it('compares each round with bare Hono just before and after it, and takes the median', () => {
    // The host slows by a third between the first and second rounds (as bare Hono did here between two
    // measurements 15 s apart): one round straddles the step, the others are clean.
    const bare = [20_000, 20_000, 13_000, 13_000].map((rate) => measurement(rate));
    const kit = [18_000, 12_000, 11_700].map((rate) => measurement(rate));
    const { ratio, perRound } = turnRatio(kit, bare);
    expect(perRound).toEqual([0.9, 0.727, 0.9]);
    expect(ratio).toBe(0.9);
  });

  it('compares two subjects round by round', () => {
    const hot = [3_000, 2_000, 3_300].map((rate) => measurement(rate));
    const senders = [3_000, 4_000, 3_000].map((rate) => measurement(rate));
    expect(roundRatio(hot, senders)).toEqual({ ratio: 1, perRound: [1, 0.5, 1.1] });
  });

  it('combines measurements: throughput over all their seconds, percentiles over all responses', () => {
    const combined = combineMeasurements([
      measurement(100, { seconds: 5, latencyMs: 1, keys: ['a', 'b'] }),
      measurement(300, { seconds: 5, latencyMs: 9, keys: ['b', 'c'] }),
    ]);
    expect(combined.figures.requests).toBe(2_000);
    expect(combined.figures.okPerSecond).toBe(200);
    expect(combined.seconds).toBe(10);
    // 500 responses at 1 ms, 1,500 at 9 ms.
    expect(combined.figures.latencyMs.p50).toBe(9);
    expect(combined.figures.latencyMs.mean).toBe(7);
    expect(combined.acknowledgedKeys.sort()).toEqual(['a', 'b', 'c']);
    expect(combined.unansweredAtStop).toBe(2);
  });

  it("weights each part's CPU per request by its requests, and keeps a gap as null", () => {
    const combined = combineMeasurements([
      measurement(100, { cpu: { service: 200, postgres: null, loadGenerator: 60 } }),
      measurement(300, { cpu: { service: 100, postgres: 80, loadGenerator: 40 } }),
    ]);
    expect(combined.figures.cpuUsPerRequest).toEqual({ service: 125, postgres: null, loadGenerator: 45 });
    expect(
      combineMeasurements([measurement(100), measurement(100, { cpu: { service: 1 } })]).figures,
    ).not.toHaveProperty('cpuUsPerRequest');
  });

  it("reports bare Hono over all its turns, each turn's rate, and its CPU per request", () => {
    const bare = bareFigures([
      measurement(10_000, { cpu: { bareHono: 30, loadGenerator: 40 } }),
      measurement(6_000, { cpu: { bareHono: 50, loadGenerator: 40 } }),
    ]);
    expect(bare.bareHonoPerTurn).toEqual([10_000, 6_000]);
    expect(bare.bareHonoPerSecond).toBe(8_000);
    expect(bare.bareHonoCpuUsPerRequest).toBe(37.5);
  });
});
