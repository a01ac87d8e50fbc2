/**
 * Bare Hono vs the same route inside the kit (request ids, access log, metrics, body limit,
 * rate-limit policy, error handling), measured in the same run on the same machine.
 */
import { Hono } from 'hono';
import { fromPglite, openPglite } from '../shared/db/pglite-adapter.ts';
import { createService } from '../shared/http/index.ts';
import { createLogger } from '../shared/observability/logger.ts';
import { createMetrics } from '../shared/observability/metrics.ts';
import { createRateLimiterFactory, rateLimit } from '../shared/resilience/index.ts';
import { listen } from '../test/support/http.ts';
import { measureHttp } from './support/measure-http.ts';

export async function benchKitOverhead(options: { durationSeconds: number }) {
  const bare = new Hono();
  bare.get('/ping', (c) => c.json({ ok: true }));

  const db = fromPglite(await openPglite());
  const metrics = createMetrics({ service: 'bench' });
  const kit = createService({
    name: 'bench',
    db,
    logger: createLogger({ service: 'bench', level: 'info' }),
    metrics,
  });
  const limiterFor = createRateLimiterFactory({ store: 'memory' });
  const policy = { name: 'bench', points: 1_000_000_000, duration: 60, key: 'ip' as const };
  kit.get('/ping', rateLimit({ policy, limiter: limiterFor(policy), metrics }), (c) => c.json({ ok: true }));

  const results: Record<string, unknown> = {};
  for (const [name, app] of [
    ['bareHono', bare],
    ['kit', kit],
  ] as const) {
    const server = await listen(app);
    results[name] = await measureHttp({
      url: server.url,
      durationSeconds: options.durationSeconds,
      nextRequest: () => ({ path: '/ping' }),
    });
    await server.close();
  }
  await db.close();
  const bareRps = (results.bareHono as { requestsPerSecond: number }).requestsPerSecond;
  const kitRps = (results.kit as { requestsPerSecond: number }).requestsPerSecond;
  return { ...results, kitToBareThroughputRatio: Number((kitRps / bareRps).toFixed(3)) };
}
