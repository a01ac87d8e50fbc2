import { Hono } from 'hono';
import { createApp } from '../../../../services/whatsapp-webhook/app.ts';
import {
  createComponents,
  type WhatsAppComponents,
} from '../../../../services/whatsapp-webhook/components.ts';
import { loadWhatsAppConfig, type WhatsAppSettings } from '../../../../services/whatsapp-webhook/config.ts';
import { createWhatsAppQueues } from '../../../../services/whatsapp-webhook/jobs.ts';
import { startWorkers } from '../../../../services/whatsapp-webhook/workers.ts';
import { type Database, fromPostgresJs } from '../../../../shared/db/index.ts';
import { createLogger, createMetrics, type ServiceMetrics } from '../../../../shared/observability/index.ts';
import { type Queue, startQueue } from '../../../../shared/queue/index.ts';
import {
  type BreakerRegistry,
  createBreakerRegistry,
  createRateLimiterFactory,
} from '../../../../shared/resilience/index.ts';
import { signMetaPayload } from '../../../../shared/webhooks/meta-signature.ts';
import { createTestDatabase } from '../../../support/database.ts';
import { listen, type TestServer } from '../../../support/http.ts';

export const APP_SECRET = 'test-app-secret-0123456789abcdef';
export const API_KEY = 'test-api-key-0123456789abcdef0123';
export const VERIFY_TOKEN = 'test-verify-token-0123456789abcdef';
export const PHONE_NUMBER_ID = '106540352242922';

export async function waitFor<T>(
  read: () => Promise<T> | T,
  done: (v: T) => boolean,
  ms = 15_000,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Settings as the service would load them, with test secrets and quick retries. */
export function testSettings(env: Record<string, string> = {}): WhatsAppSettings {
  return loadWhatsAppConfig({
    WHATSAPP_APP_SECRET: APP_SECRET,
    WHATSAPP_API_KEY: API_KEY,
    WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN,
    WHATSAPP_PHONE_NUMBER_ID: PHONE_NUMBER_ID,
    WHATSAPP_ACCESS_TOKEN: 'test-access-token',
    GRAPH_API_URL: 'http://127.0.0.1:9',
    GRAPH_API_TIMEOUT_MS: '2000',
    WHATSAPP_SEND_RETRY_DELAY_SECONDS: '1',
    WHATSAPP_SEND_RETRY_DELAY_MAX_SECONDS: '2',
    WHATSAPP_MEDIA_DOWNLOAD: 'false',
    // The older suites send free-form messages to contacts who never wrote; conversations.test.ts turns it on.
    WHATSAPP_ENFORCE_SERVICE_WINDOW: 'false',
    WHATSAPP_AGENT_DEBOUNCE_MS: '0',
    DATA_DIR: '/tmp/whatsapp-webhook-test',
    ...env,
  }).settings;
}

export { switchableDatabase } from '../../../support/database.ts';

export interface Harness {
  /** The app itself (its routes, for the contract test). */
  app: { routes: { method: string; path: string }[] };
  db: Database;
  queue: Queue;
  metrics: ServiceMetrics;
  breakers: BreakerRegistry;
  components: WhatsAppComponents;
  server: TestServer;
  url: string;
  settings: WhatsAppSettings;
  close(): Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  /** Run the queue workers (retries, agent, media). */
  workers?: boolean;
  /** Database the app uses (default: the test database). */
  appDb?: (db: Database) => Database;
  /** Extra breaker env (BREAKER_<NAME>_*). */
  breakerEnv?: Record<string, string>;
  /** Where the service's log lines go (default: nowhere). */
  logDestination?: { write(line: string): void };
}

/** The real service over real HTTP, on a database of its own. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const db = await createTestDatabase();
  const instance = await startInstance(db, options);
  return {
    ...instance,
    async close() {
      await instance.close();
      await db.close();
    },
  };
}

/**
 * Another instance of the service (its own app, HTTP server, queue, workers, breakers and limiters) on
 * the harness's database: a second connection pool to the same schema on PostgreSQL, the same embedded
 * database on PGlite. Closing it leaves the database to the harness.
 */
export async function startSecondInstance(h: Harness, options: HarnessOptions = {}): Promise<Harness> {
  if (h.db.kind === 'pglite') return startInstance(h.db, options);
  const db = fromPostgresJs({ url: h.db.url!, schema: h.db.schema, max: 5 });
  const instance = await startInstance(db, options);
  return {
    ...instance,
    async close() {
      await instance.close();
      await db.close();
    },
  };
}

async function startInstance(db: Database, options: HarnessOptions): Promise<Harness> {
  const logger = createLogger({
    service: 'whatsapp-webhook-test',
    level: options.logDestination ? 'info' : 'silent',
    destination: options.logDestination,
  });
  const metrics = createMetrics({ service: 'whatsapp-webhook-test' });
  const queue = await startQueue(db, { logger, metrics });
  const settings = testSettings(options.env);
  await createWhatsAppQueues(queue, settings.sendRetry, settings.routing.retry);
  const breakers = createBreakerRegistry({ logger, metrics, env: options.breakerEnv ?? {} });
  const limiterFor = createRateLimiterFactory({ store: 'memory' });
  const appDb = options.appDb ? options.appDb(db) : db;
  const deps = { settings, db: appDb, queue, logger, metrics, breakers, limiterFor };
  const components = createComponents(deps);
  const app = createApp({ ...deps, components });
  if (options.workers) await startWorkers({ ...deps, components });
  const server = await listen(app);
  return {
    app,
    db,
    queue,
    metrics,
    breakers,
    components,
    server,
    url: server.url,
    settings,
    async close() {
      await server.close();
      await queue.stop({ graceful: false, timeoutMs: 1000 });
      breakers.shutdown();
    },
  };
}

export function envelope(value: Record<string, unknown>, field = 'messages'): Record<string, unknown> {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            field,
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_NUMBER_ID },
              ...value,
            },
          },
        ],
      },
    ],
  };
}

export function inboundEnvelope(
  message: Record<string, unknown>,
  contact = { name: 'Ana', waId: '250788000001' },
) {
  return envelope({
    contacts: [{ profile: { name: contact.name }, wa_id: contact.waId }],
    messages: [{ from: contact.waId, timestamp: '1700000000', ...message }],
  });
}

export function statusEnvelope(id: string, status: string, extra: Record<string, unknown> = {}) {
  return envelope({
    statuses: [{ id, status, timestamp: '1700000100', recipient_id: '250788000001', ...extra }],
  });
}

/** POSTs a body to /webhook signed like Meta (or with the given signature header). */
export async function postWebhook(url: string, body: unknown, signature?: string | null): Promise<Response> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const header = signature === undefined ? signMetaPayload(text, APP_SECRET) : signature;
  if (header !== null) headers['x-hub-signature-256'] = header;
  return fetch(`${url}/webhook`, { method: 'POST', headers, body: text });
}

export interface FakeGraphCall {
  phoneNumberId: string;
  body: Record<string, unknown>;
  authorization: string | undefined;
}

export type FakeGraphAnswer = { status: number; body: unknown } | { hangMs: number };

/** A local HTTP server playing the Graph API: answers are scripted, calls recorded. */
export async function startFakeGraph() {
  const calls: FakeGraphCall[] = [];
  const script: FakeGraphAnswer[] = [];
  let fallback: FakeGraphAnswer | null = null;
  let counter = 0;
  const app = new Hono();
  app.post('/:version/:phoneNumberId/messages', async (c) => {
    const body = (await c.req.json()) as Record<string, unknown>;
    calls.push({
      phoneNumberId: c.req.param('phoneNumberId'),
      body,
      authorization: c.req.header('authorization'),
    });
    const answer = script.shift() ?? fallback;
    if (answer && 'hangMs' in answer) {
      await new Promise((r) => setTimeout(r, answer.hangMs));
      return c.json({ error: { message: 'late', code: 2 } }, 503);
    }
    if (answer) return c.json(answer.body as object, answer.status as 200);
    counter += 1;
    return c.json({
      messaging_product: 'whatsapp',
      contacts: [{ input: body.to, wa_id: String(body.to).replace(/\D/g, '') }],
      messages: [{ id: `wamid.FAKE${counter}` }],
    });
  });
  const server = await listen(app);
  return {
    url: server.url,
    calls,
    /** Answers for the next calls, in order; then `fallback`, then success. */
    answer(...answers: FakeGraphAnswer[]) {
      script.push(...answers);
    },
    setFallback(answer: FakeGraphAnswer | null) {
      fallback = answer;
    },
    close: () => server.close(),
  };
}

export function graphError(status: number, code: number, message: string) {
  return {
    status,
    body: { error: { message: `(#${code}) ${message}`, type: 'OAuthException', code, fbtrace_id: 'AbCdEf' } },
  };
}

export async function countRows(db: Database, table: string): Promise<number> {
  const [row] = await db.query<{ n: number }>(`select count(*)::int as n from ${table}`);
  return row.n;
}
