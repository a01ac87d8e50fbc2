import type { Hono } from 'hono';
import type { Database } from '../db/index.ts';
import type { ServiceMetrics } from '../observability/metrics.ts';
import type { AppEnv } from './app-env.ts';
import { problem } from './problem.ts';

export interface OperationalRoutesOptions {
  name: string;
  db: Database;
  metrics: ServiceMetrics;
  /** Breaker states by name, for /health. */
  breakerStates?: () => Record<string, string>;
  /** Refreshes gauges that are cheaper to read on scrape than to keep current (queue depth). */
  beforeScrape?: () => Promise<void>;
  /** Extra readiness checks beside the database; each throws when not ready. */
  readinessChecks?: Record<string, () => Promise<void>>;
  startedAt?: number;
}

const READY_TIMEOUT_MS = 2000;

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** GET /health (liveness: the process answers), /ready (its database answers), /metrics. */
export function mountOperationalRoutes(app: Hono<AppEnv>, options: OperationalRoutesOptions): void {
  const startedAt = options.startedAt ?? Date.now();

  app.get('/health', (c) =>
    c.json({
      status: 'ok',
      service: options.name,
      uptime: Math.round((Date.now() - startedAt) / 1000),
      timestamp: new Date().toISOString(),
      breakers: options.breakerStates?.() ?? {},
    }),
  );

  app.get('/ready', async (c) => {
    const checks = { database: () => options.db.ping(), ...(options.readinessChecks ?? {}) };
    const failures: { field: string; message: string }[] = [];
    for (const [name, check] of Object.entries(checks)) {
      try {
        await withTimeout(check(), READY_TIMEOUT_MS);
      } catch (error) {
        failures.push({ field: name, message: (error as Error).message });
      }
    }
    if (failures.length > 0) {
      return problem(c, {
        status: 503,
        title: 'Service Unavailable',
        detail: `not ready: ${failures.map((f) => f.field).join(', ')}`,
        errors: failures,
        headers: { 'Retry-After': '5' },
      });
    }
    return c.json({ status: 'ready', service: options.name, checks: Object.keys(checks) });
  });

  app.get('/metrics', async (c) => {
    await options.beforeScrape?.().catch(() => {});
    const text = await options.metrics.registry.metrics();
    return c.body(text, 200, { 'content-type': options.metrics.registry.contentType });
  });
}
