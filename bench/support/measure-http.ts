import autocannon from 'autocannon';

export interface HttpRequestSpec {
  method?: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface MeasureHttpOptions {
  url: string;
  connections?: number;
  durationSeconds?: number;
  /** Called per request, so every request can carry a fresh id and its own signature. */
  nextRequest: () => HttpRequestSpec;
}

export interface HttpFigures {
  requests: number;
  requestsPerSecond: number;
  non2xx: number;
  errors: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return Number(sorted[Math.max(0, index)].toFixed(3));
}

/**
 * Drives a server with autocannon for a fixed time and returns throughput and latency
 * percentiles (p95 computed from every response time: autocannon's own table has no p95).
 *
 * @example
 * const figures = await measureHttp({ url, nextRequest: () => ({ path: '/health' }) });
 */
export async function measureHttp(options: MeasureHttpOptions): Promise<HttpFigures> {
  const latencies: number[] = [];
  let finish: (result: autocannon.Result) => void = () => {};
  let fail: (error: Error) => void = () => {};
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const instance = autocannon(
    {
      url: options.url,
      connections: options.connections ?? 20,
      duration: options.durationSeconds ?? 5,
      requests: [
        {
          setupRequest: (request) => {
            const next = options.nextRequest();
            return {
              ...request,
              method: next.method ?? 'GET',
              path: next.path,
              headers: next.headers ?? {},
              body: next.body,
            };
          },
        },
      ],
    },
    (error, result) => (error ? fail(error) : finish(result)),
  );
  instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
    latencies.push(responseTime);
  });
  const result = await done;
  latencies.sort((a, b) => a - b);
  const seconds = result.duration || options.durationSeconds || 1;
  const requests = result.requests.total;
  return {
    requests,
    requestsPerSecond: Number((requests / seconds).toFixed(1)),
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    latencyMs: {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? 0,
      mean: Number((latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length)).toFixed(3)),
    },
  };
}
