import autocannon from 'autocannon';
import { percentile } from '../../load/runner/percentile.ts';
import { type CpuPerRequest, type CpuTargets, sampleCpu } from './cpu-sampler.ts';
import { combineGroupCommit, type GroupCommitByWriter, sampleGroupCommit } from './group-commit-sampler.ts';

export interface HttpRequestSpec {
  method?: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** What identifies the request's effect (a wamid, a CallSid + sequence), for the stored check. */
  key?: string;
}

export interface MeasureHttpOptions {
  url: string;
  /** Default 50. */
  connections?: number;
  durationSeconds: number;
  /** Seconds of load before the measured ones, not in the figures (default 5, WARM_UP_SECONDS; 0: none). */
  warmUpSeconds?: number;
  /** Called per request, so every request can carry a fresh id and its own signature. */
  nextRequest: () => HttpRequestSpec;
  /** Processes (and the database's backends) whose CPU per request the measured seconds report. */
  cpu?: CpuTargets;
  /** The service's /metrics: how its group-commit writers grouped the measured seconds' rows. */
  groupCommitMetricsUrl?: string;
}

export interface LatencyFigures {
  p50: number;
  p95: number;
  p97_5: number;
  p99: number;
  max: number;
  mean: number;
}

export interface HttpFigures {
  /** Responses received. */
  requests: number;
  requestsPerSecond: number;
  /** 2xx answers per second: what the ratios compare (a fast 503 is no throughput). */
  okPerSecond: number;
  non2xx: number;
  errors: number;
  latencyMs: LatencyFigures;
  /** CPU µs per answered request of each process asked for (`cpu`), the load generator's included. */
  cpuUsPerRequest?: CpuPerRequest;
  /** The service's group-commit flushes over the measured seconds, by writer (`groupCommitMetricsUrl`). */
  groupCommit?: GroupCommitByWriter;
}

export interface HttpMeasurement {
  figures: HttpFigures;
  /** Keys of the requests answered 2xx, each once. */
  acknowledgedKeys: string[];
  /** Requests sent and never answered: still in flight when the measurement stopped. */
  unansweredAtStop: number;
  /** Every measured response time (ms) and the measured seconds, so measurements can be combined. */
  latencies: number[];
  seconds: number;
}

/**
 * A fresh service process under this load is still compiling its hot paths for its first ~4 seconds
 * (V8's worker threads spent 13 % of whatsapp-webhook's CPU in the optimizing compiler then). One run,
 * 10,000-sender deliveries, 1-second windows from its first request: 2,020, 2,890, 3,260, 2,470 and
 * 3,450 deliveries/s at 422, 274, 243, 337 and 195 µs of service CPU each, then 3,130–3,980/s at
 * 169–208 µs. A 1-second warm-up left most of that inside a 5-second measurement; production runs warm.
 */
export const WARM_UP_SECONDS = 5;

/** Milliseconds as the bench reports them: to the microsecond. */
export const roundMs = (n: number) => Math.round(n * 1000) / 1000;

/** p50/p95/p97.5/p99/max/mean of response times, with the repository's one percentile function. */
export function latencyFigures(latencies: number[]): LatencyFigures {
  const sorted = Float64Array.from(latencies).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    p50: roundMs(percentile(sorted, 50)),
    p95: roundMs(percentile(sorted, 95)),
    p97_5: roundMs(percentile(sorted, 97.5)),
    p99: roundMs(percentile(sorted, 99)),
    max: roundMs(sorted.at(-1) ?? 0),
    mean: roundMs(sum / Math.max(1, sorted.length)),
  };
}

/**
 * Drives a server with autocannon (closed model: `connections` each with one request in flight) for a
 * fixed time; returns throughput, latency percentiles from every response time, and which requests
 * were acknowledged. autocannon hands each connection's context to both its request setup and its
 * response, so a 2xx is tied to the exact request it answers.
 *
 * @example
 * const { figures } = await measureHttp({ url, durationSeconds: 5, nextRequest: () => ({ path: '/health' }) });
 */
export async function measureHttp(options: MeasureHttpOptions): Promise<HttpMeasurement> {
  const acknowledgedKeys = new Set<string>();
  // Warm-up: the target's JIT and pools settle before the measured seconds; its requests still count
  // for the stored check (they are acknowledged or cut like any other).
  const warmUpSeconds = options.warmUpSeconds ?? WARM_UP_SECONDS;
  const warmUp = warmUpSeconds > 0 ? await runAutocannon(options, warmUpSeconds, acknowledgedKeys) : null;
  // Scraped outside the CPU sampling, so the scrapes' own cost is not in the CPU per request.
  const groupCommitSampling = options.groupCommitMetricsUrl
    ? await sampleGroupCommit(options.groupCommitMetricsUrl)
    : null;
  const cpu = options.cpu ? sampleCpu(options.cpu) : null;
  const run = await runAutocannon(options, options.durationSeconds, acknowledgedKeys);
  const { latencies, result } = run;
  const cpuUsPerRequest = cpu?.stop(latencies.length);
  const groupCommit = await groupCommitSampling?.stop();
  const seconds = result.duration || options.durationSeconds;
  return {
    figures: {
      requests: latencies.length,
      requestsPerSecond: Math.round((latencies.length / seconds) * 10) / 10,
      okPerSecond: Math.round(((latencies.length - result.non2xx) / seconds) * 10) / 10,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
      latencyMs: latencyFigures(latencies),
      ...(cpuUsPerRequest ? { cpuUsPerRequest } : {}),
      ...(groupCommit ? { groupCommit } : {}),
    },
    acknowledgedKeys: [...acknowledgedKeys],
    unansweredAtStop: run.unanswered + (warmUp?.unanswered ?? 0),
    latencies,
    seconds,
  };
}

/**
 * Several measurements of one target as one: throughput over all their seconds, percentiles over all
 * their responses, CPU per request weighted by each one's requests (null where any lacks it), group
 * commit summed over the parts that have it.
 */
export function combineMeasurements(parts: readonly HttpMeasurement[]): HttpMeasurement {
  if (parts.length === 0) throw new Error('combineMeasurements: nothing to combine');
  const sum = (value: (part: HttpMeasurement) => number) => parts.reduce((total, p) => total + value(p), 0);
  const seconds = sum((p) => p.seconds);
  const requests = sum((p) => p.figures.requests);
  const non2xx = sum((p) => p.figures.non2xx);
  const latencies = parts.flatMap((p) => p.latencies);
  // CPU µs per request of each process, weighted by each part's requests; null where a part lacks it.
  let cpuUsPerRequest: CpuPerRequest | undefined;
  if (parts.every((p) => p.figures.cpuUsPerRequest)) {
    cpuUsPerRequest = {};
    for (const name of Object.keys(parts[0].figures.cpuUsPerRequest as CpuPerRequest)) {
      let us: number | null = 0;
      for (const p of parts) {
        const value = p.figures.cpuUsPerRequest?.[name];
        us = typeof value === 'number' && us !== null ? us + value * p.figures.requests : null;
      }
      cpuUsPerRequest[name] = us === null || requests === 0 ? null : Math.round((us / requests) * 10) / 10;
    }
  }
  const groupCommitParts = parts.flatMap((p) => (p.figures.groupCommit ? [p.figures.groupCommit] : []));
  return {
    figures: {
      requests,
      requestsPerSecond: Math.round((requests / seconds) * 10) / 10,
      okPerSecond: Math.round(((requests - non2xx) / seconds) * 10) / 10,
      non2xx,
      errors: sum((p) => p.figures.errors),
      latencyMs: latencyFigures(latencies),
      ...(cpuUsPerRequest ? { cpuUsPerRequest } : {}),
      ...(groupCommitParts.length > 0 ? { groupCommit: combineGroupCommit(groupCommitParts) } : {}),
    },
    acknowledgedKeys: [...new Set(parts.flatMap((p) => p.acknowledgedKeys))],
    unansweredAtStop: sum((p) => p.unansweredAtStop),
    latencies,
    seconds,
  };
}

async function runAutocannon(options: MeasureHttpOptions, seconds: number, acknowledgedKeys: Set<string>) {
  const latencies: number[] = [];
  let built = 0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections ?? 50,
        duration: seconds,
        requests: [
          {
            setupRequest: (request, context: { key?: string }) => {
              built += 1;
              const next = options.nextRequest();
              context.key = next.key;
              return {
                ...request,
                method: next.method ?? 'GET',
                path: next.path,
                headers: next.headers ?? {},
                body: next.body,
              };
            },
            onResponse: (status: number, _body: string, context: { key?: string }) => {
              if (status >= 200 && status < 300 && typeof context.key === 'string')
                acknowledgedKeys.add(context.key);
            },
          },
        ],
      },
      (error, finished) => (error ? reject(error) : resolve(finished)),
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
      latencies.push(responseTime);
    });
  });
  return { latencies, result, unanswered: Math.max(0, built - latencies.length) };
}
