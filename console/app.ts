import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Context, Hono } from 'hono';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { z } from 'zod';
import {
  type AppEnv,
  errorHandler,
  notFoundHandler,
  ProblemError,
  parseInput,
  readJsonBody,
  safeEqual,
  withRequestContext,
} from '../shared/http/index.ts';
import type { Logger, ServiceMetrics } from '../shared/observability/index.ts';
import { rateLimit } from '../shared/resilience/index.ts';
import type { ConsoleSettings } from './config.ts';
import { liveFeed } from './live-feed.ts';
import { createMetricsHistory } from './metrics-history.ts';
import {
  type ConsoleEnv,
  endSession,
  OPERATOR_NAME,
  requireOperator,
  sessionSecret,
  startSession,
} from './operator-session.ts';
import { renderPage, renderSignIn } from './pages.ts';
import { createPhoneVault } from './phone-masking.ts';
import { type ServiceAnswer, serviceClient } from './service-client.ts';

export interface ConsoleDeps {
  settings: ConsoleSettings;
  logger: Logger;
  metrics: ServiceMetrics;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Files the browser may load: the page modules and styles, Chart.js from node_modules (no CDN offline). */
const ASSETS: Record<string, { path: string; type: string }> = {
  'chart.umd.js': { path: 'node_modules/chart.js/dist/chart.umd.js', type: 'text/javascript' },
};
const PUBLIC_FILE = /^[a-z-]+\.(js|css)$/;

const Id = z.object({ id: z.uuid({ error: 'must be a UUID' }) });
const SessionBody = z.object({
  operator: z.string().regex(OPERATOR_NAME, { error: 'letters, digits, space . _ @ - (1-64)' }),
  key: z.string().min(1, { error: 'required' }),
});
const RevealBody = z.object({ ref: z.string().min(16, { error: 'a reference from the console' }) });
/** Call statuses after which nothing about the call changes (once its last events are in). */
const SETTLED_AFTER_MS = 10_000;
const CALL_ENDED = new Set(['completed', 'failed', 'busy', 'no-answer', 'canceled']);
const HandoffBody = z.object({ handoff: z.boolean({ error: 'must be true or false' }) });
const RefParams = z.object({ ref: z.string().min(16, { error: 'a reference from the console' }) });

/**
 * The operator console: pages, live feeds (SSE) and a few actions, all read through the services' own APIs
 * with their keys held here. Operators sign in with OPERATOR_API_KEY; numbers reach the browser masked.
 *
 * @example
 * const app = createConsoleApp({ settings: consoleConfigFromEnv(), logger, metrics });
 */
export function createConsoleApp(deps: ConsoleDeps): Hono<AppEnv> {
  const { settings } = deps;
  const voice = serviceClient(settings.services['voice-bridge']);
  const whatsapp = serviceClient(settings.services['whatsapp-webhook']);
  const video = serviceClient(settings.services['video-orchestrator']);
  const vault = createPhoneVault();
  const secret = sessionSecret(settings.operatorKey);
  const app = new Hono<AppEnv>();
  withRequestContext(app, { logger: deps.logger, metrics: deps.metrics });
  app.notFound(notFoundHandler);
  app.onError(errorHandler);

  // A service's problem answer is the console's answer: same status, same problem+json body.
  const relay = (c: Context, answer: ServiceAnswer) =>
    c.body(JSON.stringify(vault.mask(answer.body)), answer.status as 200, {
      'content-type': answer.contentType.includes('json') ? answer.contentType : 'application/json',
    });
  const masked = (answer: ServiceAnswer) =>
    answer.status < 400 ? vault.mask(answer.body) : { error: answer.body };

  // Liveness, like the services' (the page of the same name is /system-health).
  app.get('/health', (c) => c.json({ status: 'ok', service: 'console' }));

  app.get('/assets/:file', async (c) => {
    const file = c.req.param('file');
    const asset =
      ASSETS[file] ??
      (PUBLIC_FILE.test(file)
        ? { path: `console/public/${file}`, type: file.endsWith('.css') ? 'text/css' : 'text/javascript' }
        : undefined);
    if (!asset) return c.notFound();
    const body = await readFile(join(ROOT, asset.path)).catch(() => null);
    if (!body) return c.notFound();
    return c.body(body, 200, { 'content-type': `${asset.type}; charset=utf-8`, 'cache-control': 'no-cache' });
  });

  app.get('/sign-in', (c) => {
    const next = c.req.query('next') ?? '/calls';
    return c.html(renderSignIn(next.startsWith('/') && !next.startsWith('//') ? next : '/calls'));
  });
  // Guessing the operator key: a few tries a minute per client address (one console process, so in memory).
  const signInPolicy = { name: 'console-sign-in', points: 10, duration: 60, key: 'ip' } as const;
  const signInLimit = rateLimit({
    policy: signInPolicy,
    limiter: new RateLimiterMemory({ points: signInPolicy.points, duration: signInPolicy.duration }),
    metrics: deps.metrics,
    trustProxy: settings.trustProxy,
  });
  app.post('/api/session', signInLimit, async (c) => {
    const body = await readJsonBody(c, SessionBody);
    if (!safeEqual(body.key, settings.operatorKey)) {
      deps.logger.warn({ operator: body.operator }, 'console sign-in refused');
      throw new ProblemError({
        status: 401,
        title: 'Unauthorized',
        detail: 'the operator key is not valid',
        errors: [{ field: 'body.key', message: 'not the operator key' }],
      });
    }
    await startSession(c, secret, body.operator);
    deps.logger.info({ operator: body.operator }, 'console sign-in');
    return c.json({ operator: body.operator });
  });
  app.post('/sign-out', (c) => {
    endSession(c);
    return c.redirect('/sign-in', 303);
  });

  // --- pages ------------------------------------------------------------------------------------------
  const pages = new Hono<ConsoleEnv>();
  pages.use(requireOperator({ secret, api: false }));
  pages.get('/', (c) => c.redirect('/calls', 303));
  pages.get('/calls', (c) => c.html(renderPage('calls', c.get('operator'))));
  pages.get('/calls/:id', (c) => {
    const { id } = parseInput(Id, c.req.param(), 'params');
    return c.html(renderPage('call', c.get('operator'), { id }));
  });
  pages.get('/conversations', (c) => c.html(renderPage('conversations', c.get('operator'))));
  pages.get('/conversations/:ref', (c) => {
    const { ref } = parseInput(RefParams, c.req.param(), 'params');
    if (!vault.open(ref))
      throw new ProblemError({ status: 404, title: 'Not Found', detail: 'no such contact' });
    return c.html(renderPage('contact', c.get('operator'), { ref }));
  });
  pages.get('/renders', (c) => c.html(renderPage('renders', c.get('operator'))));
  pages.get('/renders/:id', (c) => {
    const { id } = parseInput(Id, c.req.param(), 'params');
    return c.html(renderPage('render', c.get('operator'), { id }));
  });
  pages.get('/system-health', (c) => c.html(renderPage('health', c.get('operator'))));

  // --- API: live feeds and actions ------------------------------------------------------------------------
  const api = new Hono<ConsoleEnv>();
  api.use(requireOperator({ secret, api: true }));
  const every = settings.pollMs;

  // The list does not carry turn latency (a percentile over the call's events): it comes from GET /calls/:id,
  // read every time for live calls and once for calls ended a while ago (the bridge's last event can land
  // just after the final status), whose latency no longer changes.
  const endedLatency = new Map<string, unknown>();
  const withTurnLatency = async (answer: ServiceAnswer) => {
    const page = answer.body as { items?: Array<{ id: string; status: string; updatedAt?: string }> };
    if (answer.status !== 200 || !Array.isArray(page.items)) return answer;
    const items = await Promise.all(
      page.items.map(async (call) => {
        const ended =
          CALL_ENDED.has(call.status) && Date.now() - Date.parse(call.updatedAt ?? '') > SETTLED_AFTER_MS;
        if (ended && endedLatency.has(call.id)) return { ...call, turnLatency: endedLatency.get(call.id) };
        const detail = await voice(`/calls/${call.id}`);
        const turnLatency =
          detail.status === 200 ? (detail.body as { turnLatency?: unknown }).turnLatency : undefined;
        if (ended && turnLatency !== undefined) {
          if (endedLatency.size >= 1000) endedLatency.delete(endedLatency.keys().next().value as string);
          endedLatency.set(call.id, turnLatency);
        }
        return { ...call, turnLatency };
      }),
    );
    return { ...answer, body: { ...page, items } };
  };
  api.get('/calls/live', (c) =>
    liveFeed(c, {
      intervalMs: every,
      read: async () => masked(await withTurnLatency(await voice('/calls?limit=25'))),
    }),
  );
  api.get('/calls/:id/live', (c) => {
    const { id } = parseInput(Id, c.req.param(), 'params');
    return liveFeed(c, {
      intervalMs: every,
      read: async () => {
        const [call, transcript] = await Promise.all([
          voice(`/calls/${id}`),
          voice(`/calls/${id}/transcript`),
        ]);
        return { call: masked(call), transcript: masked(transcript) };
      },
    });
  });
  api.get('/messages/live', (c) =>
    liveFeed(c, { intervalMs: every, read: async () => masked(await whatsapp('/messages?limit=50')) }),
  );
  const contactNumber = (ref: string) => {
    const waId = vault.open(ref);
    if (!waId) throw new ProblemError({ status: 404, title: 'Not Found', detail: 'no such contact' });
    return encodeURIComponent(waId.replace(/^\+/, ''));
  };
  // The timeline, and the conversation state (window, opt-out, handoff) where the service has it: a 404
  // from an older whatsapp-webhook just leaves those fields out.
  api.get('/contacts/:ref/live', (c) => {
    const { ref } = parseInput(RefParams, c.req.param(), 'params');
    const waId = contactNumber(ref);
    return liveFeed(c, {
      intervalMs: every,
      read: async () => {
        const [timeline, conversation] = await Promise.all([
          whatsapp(`/contacts/${waId}/messages?limit=50`),
          whatsapp(`/contacts/${waId}/conversation`),
        ]);
        return {
          ...(masked(timeline) as object),
          conversation: conversation.status === 200 ? vault.mask(conversation.body) : null,
        };
      },
    });
  });
  api.post('/contacts/:ref/handoff', async (c) => {
    const { ref } = parseInput(RefParams, c.req.param(), 'params');
    const { handoff } = await readJsonBody(c, HandoffBody);
    deps.logger.info({ operator: c.get('operator'), handoff }, 'console: conversation handoff switched');
    return relay(
      c,
      await whatsapp(`/contacts/${contactNumber(ref)}/conversation`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ handoff }),
      }),
    );
  });
  api.get('/renders/live', (c) =>
    liveFeed(c, { intervalMs: every, read: async () => masked(await video('/renders?limit=25')) }),
  );
  api.get('/renders/:id', async (c) => {
    const { id } = parseInput(Id, c.req.param(), 'params');
    return relay(c, await video(`/renders/${id}`));
  });
  // The render's own SSE stream, relayed as it comes (the service polls its row and ends after a final status).
  api.get('/renders/:id/events', async (c) => {
    const { id } = parseInput(Id, c.req.param(), 'params');
    const target = settings.services['video-orchestrator'];
    const upstream = await fetch(`${target.baseUrl}/renders/${id}/events`, {
      headers: { authorization: `Bearer ${target.apiKey}`, accept: 'text/event-stream' },
    }).catch(() => null);
    if (!upstream)
      throw new ProblemError({
        status: 502,
        title: 'Bad Gateway',
        detail: 'video-orchestrator did not answer',
      });
    if (!upstream.ok || !upstream.body) {
      return c.body(await upstream.text(), upstream.status as 400, {
        'content-type': upstream.headers.get('content-type') ?? 'application/problem+json',
      });
    }
    return new Response(upstream.body, {
      headers: {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no',
      },
    });
  });
  api.post('/renders/:id/cancel', async (c) => {
    const { id } = parseInput(Id, c.req.param(), 'params');
    deps.logger.info({ operator: c.get('operator'), renderId: id }, 'console: render cancel');
    return relay(c, await video(`/renders/${id}`, { method: 'DELETE' }));
  });
  api.post('/renders/:id/retry', async (c) => {
    const { id } = parseInput(Id, c.req.param(), 'params');
    deps.logger.info({ operator: c.get('operator'), renderId: id }, 'console: render retry');
    return relay(c, await video(`/renders/${id}/retry`, { method: 'POST' }));
  });
  // Output and poster through the console (the service's signed URLs name its own host), ranges kept.
  for (const kind of ['output', 'poster'] as const) {
    api.get(`/renders/:id/${kind}`, async (c) => {
      const { id } = parseInput(Id, c.req.param(), 'params');
      const target = settings.services['video-orchestrator'];
      const range = c.req.header('range');
      const upstream = await fetch(`${target.baseUrl}/renders/${id}/${kind}`, {
        headers: { authorization: `Bearer ${target.apiKey}`, ...(range ? { range } : {}) },
      }).catch(() => null);
      if (!upstream)
        throw new ProblemError({
          status: 502,
          title: 'Bad Gateway',
          detail: 'video-orchestrator did not answer',
        });
      const headers = new Headers();
      for (const name of ['content-type', 'content-length', 'content-range', 'accept-ranges']) {
        const value = upstream.headers.get(name);
        if (value) headers.set(name, value);
      }
      return new Response(upstream.body, { status: upstream.status, headers });
    });
  }
  const history = createMetricsHistory({
    services: settings.services,
    intervalMs: settings.metricsIntervalMs ?? 2000,
    windowMs: 10 * 60_000,
  });
  api.get('/health/live', (c) =>
    liveFeed(c, {
      intervalMs: Math.min(every, settings.metricsIntervalMs ?? 2000),
      read: () => history.snapshot(),
    }),
  );
  // Revealing a number is an operator's deliberate act, and logged with who did it (never the number).
  api.post('/reveal', async (c) => {
    const { ref } = await readJsonBody(c, RevealBody);
    const value = vault.open(ref);
    if (!value) {
      throw new ProblemError({
        status: 400,
        title: 'Bad Request',
        detail: 'the reference is not one this console issued',
        errors: [{ field: 'body.ref', message: 'unknown reference' }],
      });
    }
    deps.logger.info(
      { operator: c.get('operator'), revealed: value.replace(/\d(?=\d{2})/g, '*'), ref: ref.slice(0, 12) },
      'console: phone number revealed',
    );
    return c.json({ value });
  });

  app.route('/api', api);
  app.route('/', pages);
  return app;
}
