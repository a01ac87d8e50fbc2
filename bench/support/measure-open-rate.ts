import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Pool } from 'undici';
import { runRampingArrivalRate } from '../../load/runner/arrival-rate-executor.ts';
import {
  type HttpMeasurement,
  type HttpRequestSpec,
  type LatencyFigures,
  latencyFigures,
  roundMs,
} from './measure-http.ts';

export interface MeasureOpenRateOptions {
  url: string;
  /** Requests started per second, whatever the server's latency (open model). */
  ratePerSecond: number;
  durationSeconds: number;
  /** Requests in flight at most; an arrival finding them all busy is dropped (default one second's worth). */
  maxInFlight?: number;
  /**
   * Seconds at the same rate before the measured window (default 1): connections open and code warms up.
   * Those requests are answered and counted as acknowledged (the stored check covers them), not timed.
   */
  warmupSeconds?: number;
  nextRequest: () => HttpRequestSpec;
}

export interface OpenRateFigures {
  offeredPerSecond: number;
  /** 2xx answers per second, from the first arrival to the last answer (at least the offered window). */
  achievedPerSecond: number;
  requests: number;
  non2xx: number;
  errors: number;
  /** Arrivals not sent because `maxInFlight` requests were already waiting. */
  dropped: number;
  latencyMs: LatencyFigures;
  /**
   * The load generator's own event-loop delay over the timed window (ms): while it is stalled no answer
   * is read, so every request in flight then carries the stall in its latency. On a quiet machine a few
   * ms at most; where the generator itself stalls tens of ms, the tail above is partly the host's.
   */
  generatorDelayMs: GeneratorDelayFigures;
}

export interface GeneratorDelayFigures {
  p99: number;
  max: number;
}

/**
 * A fixed offered rate (the load runner's `ramping-arrival-rate` executor held at one rate): requests
 * start on schedule rather than when the previous one is answered, so a slow server shows up as
 * latency and drops instead of a politely lower rate. Requests still in flight at the end are waited
 * for, so every request sent is answered or counted as an error. Arrivals are released every
 * millisecond, as k6 spaces them, not in bursts; the first `warmupSeconds` are not timed (connection
 * setup and cold code cost the first 200 ms up to 700 ms a request, even against bare Hono).
 *
 * @example
 * const { figures } = await measureOpenRate({ url, ratePerSecond: 2000, durationSeconds: 5, nextRequest });
 */
export async function measureOpenRate(
  options: MeasureOpenRateOptions,
): Promise<Pick<HttpMeasurement, 'acknowledgedKeys' | 'unansweredAtStop'> & { figures: OpenRateFigures }> {
  const pool = new Pool(options.url, { connections: 256, keepAliveTimeout: 30_000 });
  const generatorDelay = monitorEventLoopDelay({ resolution: 1 });
  generatorDelay.enable();
  const latencies: number[] = [];
  const acknowledgedKeys: string[] = [];
  let non2xx = 0;
  let errors = 0;
  let dropped = 0;
  let warmupErrors = 0;
  const durationMs = options.durationSeconds * 1000;
  const warmupMs = (options.warmupSeconds ?? 1) * 1000;
  const started = performance.now();
  const measuredFrom = started + warmupMs;
  let lastAnswer = measuredFrom;
  // Arrivals are timed by their place in the schedule, not by when they left: a loaded machine wakes the
  // executor late and it then starts every arrival already due at once, warm-up ones included.
  const warmupArrivals = Math.floor((options.ratePerSecond * warmupMs) / 1000);
  let arrivals = 0;
  try {
    await runRampingArrivalRate({
      scenario: 'bench',
      stages: [
        { durationMs: warmupMs, target: options.ratePerSecond },
        { durationMs, target: options.ratePerSecond },
      ],
      startRate: options.ratePerSecond,
      maxVUs: options.maxInFlight ?? options.ratePerSecond,
      gracefulStopMs: 10_000,
      tickMs: 1,
      iterate: async () => {
        const timed = arrivals++ >= warmupArrivals;
        if (arrivals === warmupArrivals + 1) generatorDelay.reset();
        const next = options.nextRequest();
        const sent = performance.now();
        try {
          const response = await pool.request({
            method: next.method ?? 'GET',
            path: next.path,
            headers: next.headers,
            body: next.body,
          });
          await response.body.dump();
          const ok = response.statusCode >= 200 && response.statusCode < 300;
          if (ok && next.key !== undefined) acknowledgedKeys.push(next.key);
          if (!timed) return;
          lastAnswer = performance.now();
          latencies.push(lastAnswer - sent);
          if (!ok) non2xx += 1;
        } catch {
          if (timed) errors += 1;
          else warmupErrors += 1;
        }
      },
      hooks: {
        onDropped: (elapsedMs) => {
          if (elapsedMs >= warmupMs) dropped += 1;
        },
      },
    });
  } finally {
    generatorDelay.disable();
    await pool.close();
  }
  const acknowledged = latencies.length - non2xx;
  // Over the time the answers took, not the offered window: a server that falls behind finishes late.
  const seconds = Math.max(durationMs, lastAnswer - measuredFrom) / 1000;
  return {
    figures: {
      offeredPerSecond: options.ratePerSecond,
      achievedPerSecond: Math.round((acknowledged / seconds) * 10) / 10,
      requests: latencies.length,
      non2xx,
      errors,
      dropped,
      latencyMs: latencyFigures(latencies),
      generatorDelayMs: {
        p99: roundMs(generatorDelay.percentile(99) / 1e6),
        max: roundMs(generatorDelay.max / 1e6),
      },
    },
    acknowledgedKeys,
    // A request that failed on the wire may still have been stored.
    unansweredAtStop: errors + warmupErrors,
  };
}
