import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleApp } from '../../../console/app.ts';
import type { ConsoleSettings } from '../../../console/config.ts';
import { createLogger, createMetrics } from '../../../shared/observability/index.ts';
import { listen, type TestServer } from '../../support/http.ts';

/*
 * The console's own surface over real sockets: sign-in, the session guard, problem+json, masking and the
 * logged reveal. A stand-in voice-bridge answers GET /calls/:id with the service's shape and checks that
 * the console sends the service's key (never the browser's cookie).
 */
const KEY = 'integration-operator-key-0123456789abcdef';
const CALL_ID = '5b0f2a57-3c8e-4c43-9a1b-2f4a7e1d9c10';
let voice: TestServer;
let consoleServer: TestServer;
const logLines: Array<Record<string, unknown>> = [];
const seenAuthorization: string[] = [];

beforeAll(async () => {
  const upstream = new Hono();
  upstream.get('/calls/:id', (c) => {
    seenAuthorization.push(c.req.header('authorization') ?? '');
    return c.json({ id: c.req.param('id'), status: 'completed', to: '+14155550100', events: [] });
  });
  upstream.get('/calls/:id/transcript', (c) => c.json({ callId: c.req.param('id'), segments: [] }));
  voice = await listen(upstream);
  const unreachable = { baseUrl: 'http://127.0.0.1:9', apiKey: 'x' };
  const settings: ConsoleSettings = {
    operatorKey: KEY,
    pollMs: 100,
    services: {
      'voice-bridge': { baseUrl: voice.url, apiKey: 'voice-service-key' },
      'whatsapp-webhook': unreachable,
      'video-orchestrator': unreachable,
    },
  };
  const logger = createLogger({
    service: 'console',
    level: 'info',
    destination: { write: (line: string) => logLines.push(JSON.parse(line)) },
  });
  consoleServer = await listen(
    createConsoleApp({ settings, logger, metrics: createMetrics({ service: 'console' }) }),
  );
});

afterAll(async () => {
  await consoleServer?.close();
  await voice?.close();
});

async function signIn(operator = 'Ana'): Promise<string> {
  const response = await fetch(`${consoleServer.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ operator, key: KEY }),
  });
  expect(response.status).toBe(200);
  const cookie = response.headers.get('set-cookie') ?? '';
  expect(cookie).toMatch(/HttpOnly/i);
  expect(cookie).toMatch(/SameSite=Strict/i);
  return cookie.split(';')[0];
}

describe('console server', () => {
  it('answers bad sign-ins with problem+json naming the field, and sends pages without a session to sign-in', async () => {
    const wrong = await fetch(`${consoleServer.url}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ operator: 'Ana', key: 'guess' }),
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('content-type')).toBe('application/problem+json');
    expect((await wrong.json()).errors).toEqual([{ field: 'body.key', message: 'not the operator key' }]);

    const malformed = await fetch(`${consoleServer.url}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ operator: '<script>', key: KEY }),
    });
    expect(malformed.status).toBe(400);
    expect((await malformed.json()).errors[0].field).toBe('body.operator');

    const page = await fetch(`${consoleServer.url}/calls`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/sign-in?next=%2Fcalls');
    const api = await fetch(`${consoleServer.url}/api/calls/live`);
    expect(api.status).toBe(401);
    expect(api.headers.get('content-type')).toBe('application/problem+json');
  });

  it('reads a call with the service key, masks its numbers, and logs who revealed one', async () => {
    const cookie = await signIn();
    const response = await fetch(`${consoleServer.url}/api/calls/${CALL_ID}/live`, { headers: { cookie } });
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(seenAuthorization.at(-1)).toBe('Bearer voice-service-key');
    const snapshot = JSON.parse(/data: (.*)/.exec(text)![1]);
    expect(snapshot.call.to).toBe('+14*******00');
    expect(text).not.toContain('4155550100');

    const reveal = await fetch(`${consoleServer.url}/api/reveal`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ ref: snapshot.call.toRef }),
    });
    expect(await reveal.json()).toEqual({ value: '+14155550100' });
    const logged = logLines.find((line) => line.msg === 'console: phone number revealed');
    expect(logged).toMatchObject({ operator: 'Ana' });
    expect(JSON.stringify(logged)).not.toContain('4155550100');

    const forged = await fetch(`${consoleServer.url}/api/reveal`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ ref: 'A'.repeat(40) }),
    });
    expect(forged.status).toBe(400);
    expect((await forged.json()).errors[0].field).toBe('body.ref');
  });

  it('passes a service that does not answer through as a 502 problem', async () => {
    const cookie = await signIn();
    const response = await fetch(`${consoleServer.url}/api/renders/${CALL_ID}`, { headers: { cookie } });
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
  });

  it('limits sign-in attempts per client with a 429 problem', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i += 1) {
      const response = await fetch(`${consoleServer.url}/api/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ operator: 'Mallory', key: `guess-${i}` }),
      });
      statuses.push(response.status);
      await response.body?.cancel();
    }
    expect(statuses).toContain(429);
  });
});
