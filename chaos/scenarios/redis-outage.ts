import { LOAD_DEFAULTS } from '../../load/common/config.js';
import {
  freePort,
  type RunningProcess,
  startProcess,
  stopProcess,
  waitForHealth,
} from '../../load/runner/system.ts';
import type { LoadRequest } from '../../load/scenarios/flows.js';
import type { ChaosContext, Scenario } from '../chaos-context.ts';
import { startPrivateRedis } from '../private-redis.ts';
import { is2xx, is5xx, send, statusCounts } from '../traffic.ts';

const LIMIT = 20;

function messageRequest(i: number): LoadRequest {
  return {
    service: 'whatsapp-webhook',
    method: 'POST',
    path: '/messages',
    name: 'POST /messages',
    headers: {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${LOAD_DEFAULTS.WHATSAPP_API_KEY}`,
    },
    // A template: free text to someone who has not written first is refused (24-hour window).
    body: JSON.stringify({
      to: `+25078${String(8000000 + i).padStart(7, '0')}`,
      type: 'template',
      template: { name: 'ride_update', language: 'en' },
    }),
    expected: [201, 202, 429],
  };
}

/**
 * Redis (a private instance) killed while a whatsapp-webhook process limits POST /messages through it: the
 * in-memory insurance limiter keeps limiting, and nothing answers 5xx.
 */
export const redisOutage: Scenario = {
  name: 'redis-outage',
  async run(ctx: ChaosContext) {
    const redis = await startPrivateRedis();
    let proc: RunningProcess | undefined;
    try {
      const first = ctx.system.processes.find((p) => p.spec.name === 'whatsapp-webhook');
      if (!first) throw new Error('whatsapp-webhook is not running');
      const port = await freePort();
      const spec = {
        ...first.spec,
        name: 'whatsapp-webhook-redis',
        env: {
          ...first.spec.env,
          PORT: String(port),
          WHATSAPP_PORT: String(port),
          RATE_LIMIT_STORE: 'redis',
          REDIS_URL: redis.url,
          WHATSAPP_MESSAGES_RATE_LIMIT: String(LIMIT),
          WHATSAPP_MESSAGES_RATE_WINDOW_SECONDS: '60',
        },
        healthUrl: `http://127.0.0.1:${port}/health`,
      };
      proc = await startProcess(spec, ctx.logDir);
      await waitForHealth(proc, spec.healthUrl, 60_000);
      const url = `http://127.0.0.1:${port}`;
      const burst = (from: number, n: number) =>
        Promise.all(
          Array.from({ length: n }, (_, i) => send(url, messageRequest(from + i), String(from + i))),
        );

      const withRedis = await burst(0, LIMIT + 10);
      ctx.log('killing Redis');
      await redis.stop();
      const withoutRedis = await burst(1000, LIMIT + 20);
      await redis.start();
      const exited = proc.child.exitCode !== null || proc.child.signalCode !== null;
      const limited = (outcomes: typeof withRedis) => outcomes.filter((o) => o.status === 429).length;
      return {
        checks: {
          'limits through Redis': withRedis.filter(is2xx).length === LIMIT && limited(withRedis) === 10,
          'still limiting without Redis':
            withoutRedis.filter(is2xx).length <= LIMIT && limited(withoutRedis) >= 20,
          'no 5xx or failed request': [...withRedis, ...withoutRedis].every(
            (o) => !is5xx(o) && o.status !== 'error',
          ),
          'no process exited': !exited,
        },
        figures: {
          limit: LIMIT,
          withRedis: statusCounts(withRedis),
          withoutRedis: statusCounts(withoutRedis),
        },
      };
    } finally {
      if (proc) await stopProcess(proc, 10_000);
      await redis.destroy();
    }
  },
};
