import type { HttpRequestSpec } from './measure-http.ts';
import { measureOpenRate, type OpenRateFigures } from './measure-open-rate.ts';
import { type RssFigures, sampleRss } from './rss-sampler.ts';
import type { StoredCheck } from './stored-check.ts';

export interface HalfCapacityMeasurement {
  /** What the closed-loop measurement just before reached: the service's capacity in this run. */
  capacityPerSecond: number;
  figures: OpenRateFigures;
  /** The service's RSS while it ran at half capacity (the bound: 200 MiB). */
  rssMiB: RssFigures;
  acknowledgedKeys: string[];
  unansweredAtStop: number;
}

/**
 * The service held at half the capacity it just showed, at a fixed offered rate (open model), with
 * its RSS sampled: memory at a sustainable load, not at saturation. It follows the capacity
 * measurement, so the heap it starts from has already seen full load: the figure is an upper bound.
 *
 * @example
 * const half = await measureHalfCapacity({ url, pid, capacityPerSecond: 3000, durationSeconds: 10, nextRequest });
 */
export async function measureHalfCapacity(options: {
  url: string;
  pid: number;
  capacityPerSecond: number;
  durationSeconds: number;
  nextRequest: () => HttpRequestSpec;
}): Promise<HalfCapacityMeasurement> {
  const rss = sampleRss({ service: options.pid });
  const measured = await measureOpenRate({
    url: options.url,
    ratePerSecond: Math.max(1, Math.round(options.capacityPerSecond / 2)),
    durationSeconds: options.durationSeconds,
    nextRequest: options.nextRequest,
  });
  return {
    capacityPerSecond: options.capacityPerSecond,
    figures: measured.figures,
    rssMiB: rss.stop().service,
    acknowledgedKeys: measured.acknowledgedKeys,
    unansweredAtStop: measured.unansweredAtStop,
  };
}

/** What a benchmark reports for its half-capacity run: the open-rate figures, its RSS and its stored check. */
export type HalfCapacityFigures = OpenRateFigures & {
  capacityPerSecond: number;
  stored: StoredCheck;
  rssMiB: RssFigures;
};

/**
 * The report of a half-capacity run, once its stored check is done.
 *
 * @example
 * const halfCapacity = halfCapacityFigures(half, await checkStored({ ... }));
 */
export function halfCapacityFigures(half: HalfCapacityMeasurement, stored: StoredCheck): HalfCapacityFigures {
  return { capacityPerSecond: half.capacityPerSecond, ...half.figures, rssMiB: half.rssMiB, stored };
}
