import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type CircuitBreaker from 'opossum';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../../shared/observability/logger.ts';
import { createMetrics, type ServiceMetrics } from '../../../../shared/observability/metrics.ts';
import {
  type BreakerRegistry,
  createBreakerRegistry,
} from '../../../../shared/resilience/circuit-breaker.ts';
import { DependencyError } from '../../../../shared/resilience/dependency-error.ts';

/** How the fake provider answers the next requests. */
type Mode = { status: number } | { delayMs: number };

/** A real HTTP dependency on loopback that fails on demand and counts what reaches it. */
const provider = {
  server: undefined as Server | undefined,
  url: '',
  hits: 0,
  mode: { status: 200 } as Mode,
};

beforeAll(async () => {
  provider.server = createServer((_req, res) => {
    provider.hits++;
    const mode = provider.mode;
    const status = 'status' in mode ? mode.status : 200;
    const send = () => res.writeHead(status, { 'content-type': 'application/json' }).end('{"ok":true}');
    if ('delayMs' in mode) setTimeout(send, mode.delayMs).unref();
    else send();
  });
  provider.server.listen(0, '127.0.0.1');
  await once(provider.server, 'listening');
  provider.url = `http://127.0.0.1:${(provider.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  provider.server?.closeAllConnections();
  await new Promise<void>((resolve) => provider.server?.close(() => resolve()));
});

/** What a provider client does: a non-2xx answer becomes a DependencyError carrying the status. */
async function callProvider(path: string): Promise<unknown> {
  const res = await fetch(provider.url + path, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) throw new DependencyError(`provider answered ${res.status}`, { status: res.status });
  return res.json();
}

let metrics: ServiceMetrics;
let logLines: Array<Record<string, unknown>>;
let registry: BreakerRegistry;

function newRegistry(env: Record<string, string> = {}): BreakerRegistry {
  const logger = createLogger({
    service: 'test',
    level: 'debug',
    destination: { write: (line: string) => void logLines.push(JSON.parse(line)) },
  });
  return createBreakerRegistry({ logger, metrics, env });
}

beforeEach(() => {
  provider.hits = 0;
  provider.mode = { status: 200 };
  metrics = createMetrics({ service: 'test' });
  logLines = [];
  registry = newRegistry();
});

afterEach(() => registry.shutdown());

async function fireAll(breaker: CircuitBreaker<[string], unknown>, times: number): Promise<unknown[]> {
  const outcomes: unknown[] = [];
  for (let i = 0; i < times; i++) outcomes.push(await breaker.fire('/send').catch((error: unknown) => error));
  return outcomes;
}

/** opossum exposes its resolved options at runtime; @types/opossum does not declare them. */
function optionsOf(breaker: CircuitBreaker<[string], unknown>): Record<string, unknown> {
  return (breaker as unknown as { options: Record<string, unknown> }).options;
}

function metricLine(text: string, name: string, breaker: string): string | undefined {
  return text
    .split('\n')
    .find((line) => line.startsWith(`${name}{`) && line.includes(`breaker="${breaker}"`));
}

describe('circuit breaker against a real HTTP dependency', () => {
  it('goes closed → open → half-open → closed, failing fast while open', async () => {
    const breaker = registry.create('twilio', callProvider, { resetTimeout: 200 });
    expect(registry.states()).toEqual({ twilio: 'closed' });

    provider.mode = { status: 503 };
    const failures = await fireAll(breaker, 5);
    expect(failures.every((e) => e instanceof DependencyError && e.status === 503)).toBe(true);
    expect(provider.hits).toBe(5);
    expect(registry.states()).toEqual({ twilio: 'open' });

    // Open: answered without touching the dependency, and fast.
    const started = performance.now();
    const rejected = await fireAll(breaker, 3);
    expect(performance.now() - started).toBeLessThan(50);
    expect(rejected.map((e) => (e as { code?: string }).code)).toEqual([
      'EOPENBREAKER',
      'EOPENBREAKER',
      'EOPENBREAKER',
    ]);
    expect(provider.hits).toBe(5);

    const openText = await metrics.registry.metrics();
    expect(metricLine(openText, 'circuit_breaker_state', 'twilio')).toMatch(/ 2$/);
    expect(metricLine(openText, 'circuit_breaker_open_total', 'twilio')).toMatch(/ 1$/);
    expect(metricLine(openText, 'circuit_breaker_reject_total', 'twilio')).toMatch(/ 3$/);

    await once(breaker, 'halfOpen');
    expect(registry.states()).toEqual({ twilio: 'halfOpen' });
    expect(metricLine(await metrics.registry.metrics(), 'circuit_breaker_state', 'twilio')).toMatch(/ 1$/);

    provider.mode = { status: 200 };
    await expect(breaker.fire('/send')).resolves.toEqual({ ok: true });
    expect(provider.hits).toBe(6);
    expect(registry.states()).toEqual({ twilio: 'closed' });
    expect(metricLine(await metrics.registry.metrics(), 'circuit_breaker_state', 'twilio')).toMatch(/ 0$/);

    // Each transition logged exactly once, at the level its severity deserves.
    const transitions = logLines.filter((l) => String(l.event).startsWith('breaker.'));
    expect(transitions.map((l) => [l.event, l.level, l.breaker])).toEqual([
      ['breaker.open', 'warn', 'twilio'],
      ['breaker.half_open', 'info', 'twilio'],
      ['breaker.close', 'info', 'twilio'],
    ]);
  });

  it('re-opens when the half-open trial call fails', async () => {
    const breaker = registry.create('graph', callProvider, { resetTimeout: 100 });
    provider.mode = { status: 500 };
    await fireAll(breaker, 5);
    await once(breaker, 'halfOpen');
    await fireAll(breaker, 1);
    expect(registry.states()).toEqual({ graph: 'open' });
    expect(provider.hits).toBe(6);
    expect(metricLine(await metrics.registry.metrics(), 'circuit_breaker_open_total', 'graph')).toMatch(
      / 2$/,
    );
  });

  it.each([400, 401, 404, 422])('does not open on caller errors (%i)', async (status) => {
    const breaker = registry.create('caller', callProvider);
    provider.mode = { status };
    const outcomes = await fireAll(breaker, 10);
    expect(outcomes.every((e) => e instanceof DependencyError && e.status === status)).toBe(true);
    expect(provider.hits).toBe(10);
    expect(registry.states()).toEqual({ caller: 'closed' });
  });

  it.each([408, 429, 500, 502])('opens on dependency errors (%i)', async (status) => {
    const breaker = registry.create('dependency', callProvider);
    provider.mode = { status };
    await fireAll(breaker, 5);
    expect(registry.states()).toEqual({ dependency: 'open' });
    await expect(breaker.fire('/send')).rejects.toMatchObject({ code: 'EOPENBREAKER' });
    expect(provider.hits).toBe(5);
  });

  it('opens on timeouts and counts them', async () => {
    const breaker = registry.create('slow', callProvider, { timeout: 50 });
    provider.mode = { delayMs: 400 };
    const outcomes = await fireAll(breaker, 5);
    expect(outcomes.map((e) => (e as { code?: string }).code)).toEqual(Array(5).fill('ETIMEDOUT'));
    expect(registry.states()).toEqual({ slow: 'open' });
    expect(metricLine(await metrics.registry.metrics(), 'circuit_breaker_timeout_total', 'slow')).toMatch(
      / 5$/,
    );
  });

  it('counts fallbacks and answers with them while open', async () => {
    const breaker = registry.create('ai-agent', callProvider);
    breaker.fallback(() => ({ ok: false, degraded: true }));
    provider.mode = { status: 500 };
    const outcomes = await fireAll(breaker, 7);
    expect(outcomes.at(-1)).toEqual({ ok: false, degraded: true });
    expect(registry.states()).toEqual({ 'ai-agent': 'open' });
    expect(provider.hits).toBe(5);
    expect(
      metricLine(await metrics.registry.metrics(), 'circuit_breaker_fallback_total', 'ai-agent'),
    ).toMatch(/ 7$/);
  });

  it('lets BREAKER_<NAME>_* env vars override code options and defaults', async () => {
    registry.shutdown();
    registry = newRegistry({
      BREAKER_WHATSAPP_GRAPH_VOLUME_THRESHOLD: '2',
      BREAKER_WHATSAPP_GRAPH_RESET_MS: '120',
      BREAKER_WHATSAPP_GRAPH_TIMEOUT_MS: '1500',
      BREAKER_WHATSAPP_GRAPH_ERROR_THRESHOLD: '40',
    });
    const breaker = registry.create('whatsapp-graph', callProvider, {
      volumeThreshold: 20,
      resetTimeout: 60_000,
    });
    expect(optionsOf(breaker)).toMatchObject({
      timeout: 1500,
      errorThresholdPercentage: 40,
      resetTimeout: 120,
    });
    expect(breaker.volumeThreshold).toBe(2);

    provider.mode = { status: 500 };
    await fireAll(breaker, 2);
    expect(registry.states()).toEqual({ 'whatsapp-graph': 'open' });
    await once(breaker, 'halfOpen');
    expect(registry.states()).toEqual({ 'whatsapp-graph': 'halfOpen' });

    // Untouched breakers keep the code options, then the defaults.
    const other = registry.create('other', callProvider, { resetTimeout: 999 });
    expect(optionsOf(other)).toMatchObject({
      timeout: 3000,
      errorThresholdPercentage: 50,
      resetTimeout: 999,
    });
    expect(other.volumeThreshold).toBe(5);
  });

  it('rejects a malformed env override at create time', () => {
    registry.shutdown();
    registry = newRegistry({ BREAKER_TWILIO_TIMEOUT_MS: 'soon' });
    expect(() => registry.create('twilio', callProvider)).toThrow(/BREAKER_TWILIO_TIMEOUT_MS/);
  });

  it('lists every breaker for /health and refuses duplicate names', async () => {
    registry.create('a', callProvider);
    const b = registry.create('b', callProvider, { volumeThreshold: 1 });
    provider.mode = { status: 500 };
    await fireAll(b, 1);
    expect(registry.states()).toEqual({ a: 'closed', b: 'open' });
    expect(registry.get('b')).toBe(b);
    expect(registry.get('missing')).toBeUndefined();
    expect(() => registry.create('a', callProvider)).toThrow(/already exists/);
    const text = await metrics.registry.metrics();
    expect(metricLine(text, 'circuit_breaker_state', 'a')).toMatch(/ 0$/);
  });
});
