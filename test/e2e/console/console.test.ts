import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleApp } from '../../../console/app.ts';
import type { ConsoleSettings } from '../../../console/config.ts';
import { LOAD_DEFAULTS } from '../../../load/common/config.js';
import { type StartedSystem, startSystem } from '../../../load/runner/start-system.ts';
import { createLogger, createMetrics } from '../../../shared/observability/index.ts';
import { HAS_BROWSER, launchBrowser, seriousViolations } from '../../support/console-browser.ts';
import { listen, type TestServer } from '../../support/http.ts';

/*
 * The operator console end to end: the whole system (sandbox, three services, render worker) on free
 * ports and a fresh PostgreSQL database, the console in-process in front of it, Debian Chromium driving
 * the pages. Everything shown arrives over the console's SSE feeds: each test watches a page change
 * without a navigation. Screenshots go to test/artifacts/console/ (git-ignored).
 */

const ARTIFACTS = join(process.cwd(), 'test', 'artifacts', 'console');
const OPERATOR_KEY = 'e2e-operator-key-0123456789abcdef0123';
const CALLEE = '+14155550100';
const CONTACT = '+250788123456';

let system: StartedSystem;
let consoleServer: TestServer;
let browser: Browser;
let context: BrowserContext;
const logLines: string[] = [];
/** The console's own log lines (JSON). */
const consoleLog: string[] = [];
const url = (port: number) => `http://127.0.0.1:${port}`;

async function service(
  name: 'voice' | 'whatsapp' | 'video' | 'sandbox',
  path: string,
  init: RequestInit = {},
) {
  const ports = system.ports;
  const base = {
    voice: [ports['voice-bridge'], LOAD_DEFAULTS.VOICE_API_KEY],
    whatsapp: [ports['whatsapp-webhook'], LOAD_DEFAULTS.WHATSAPP_API_KEY],
    video: [ports['video-orchestrator'], LOAD_DEFAULTS.VIDEO_API_KEY],
    sandbox: [ports.sandbox, ''],
  }[name] as [number, string];
  const headers = new Headers(init.headers);
  if (base[1]) headers.set('authorization', `Bearer ${base[1]}`);
  if (typeof init.body === 'string') headers.set('content-type', 'application/json');
  const response = await fetch(`${url(base[0])}${path}`, { ...init, headers });
  const text = await response.text();
  if (!response.ok) throw new Error(`${name} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Counts top-level navigations: a page that updates live has exactly one. */
function countNavigations(page: Page) {
  let count = 0;
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) count += 1;
  });
  return () => count;
}

async function snapshot(page: Page, name: string) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  expect(await seriousViolations(page), `axe on ${name}`).toEqual([]);
}

describe.skipIf(!HAS_BROWSER && !process.env.CI)('operator console in a browser', () => {
  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    system = await startSystem({
      ports: 'free',
      logDir: join(ARTIFACTS, 'logs'),
      log: (line) => logLines.push(line),
      healthTimeoutMs: 60_000,
      env: { sandbox: { SANDBOX_TWILIO_STAGE_DELAY_MS: '1500' } },
    });
    const p = system.ports;
    const settings: ConsoleSettings = {
      operatorKey: OPERATOR_KEY,
      pollMs: 250,
      metricsIntervalMs: 1000,
      services: {
        'voice-bridge': { baseUrl: url(p['voice-bridge']), apiKey: LOAD_DEFAULTS.VOICE_API_KEY },
        'whatsapp-webhook': { baseUrl: url(p['whatsapp-webhook']), apiKey: LOAD_DEFAULTS.WHATSAPP_API_KEY },
        'video-orchestrator': { baseUrl: url(p['video-orchestrator']), apiKey: LOAD_DEFAULTS.VIDEO_API_KEY },
      },
    };
    const logger = createLogger({
      service: 'console',
      level: 'info',
      destination: { write: (line: string) => consoleLog.push(line) },
    });
    consoleServer = await listen(
      createConsoleApp({ settings, logger, metrics: createMetrics({ service: 'console' }) }),
    );
    browser = await launchBrowser();
    // Signed in once for the pages' tests; the sign-in test uses a context of its own.
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const session = await context.request.post(`${consoleServer.url}/api/session`, {
      data: { operator: 'Ana', key: OPERATOR_KEY },
    });
    expect(session.status()).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await consoleServer?.close();
    await system?.stop();
  }, 60_000);

  it('signs an operator in with the operator key; a wrong key is refused with the problem detail', async () => {
    const fresh = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await fresh.newPage();
    await page.goto(`${consoleServer.url}/calls`);
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    await page.fill('#operator', 'Ana');
    await page.fill('#key', 'not-the-key');
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('#sign-in-error')).toContain('the operator key is not valid');
    await snapshot(page, 'sign-in');
    await page.fill('#key', OPERATOR_KEY);
    await page.click('button[type=submit]');
    await page.waitForURL(`${consoleServer.url}/calls`);
    expect(await page.textContent('header')).toContain('Signed in as Ana');
    // The API behind the pages answers problem+json without a session.
    const anonymous = await fetch(`${consoleServer.url}/api/reveal`, { method: 'POST', body: '{}' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toBe('application/problem+json');
    await fresh.close();
  });

  it('shows a sandbox call on the calls page and fills its call page while it runs', async () => {
    const list = await context.newPage();
    const listNavigations = countNavigations(list);
    await list.goto(`${consoleServer.url}/calls`);
    await list.waitForSelector('text=Live ·');
    const call = await service('voice', '/calls/outbound', {
      method: 'POST',
      body: JSON.stringify({ to: CALLEE }),
    });

    // The sandbox spaces the call's stages (SANDBOX_TWILIO_STAGE_DELAY_MS): the page sees it before it ends.
    const detail = await context.newPage();
    const detailNavigations = countNavigations(detail);
    await detail.goto(`${consoleServer.url}/calls/${call.id}`);
    const firstState = await detail.locator('.facts .badge').first().textContent({ timeout: 10_000 });
    expect(firstState).not.toBe('completed');
    await detail.waitForSelector('.facts .badge-completed', { timeout: 60_000 });
    await detail.waitForSelector('table:has(caption:text("What was said")) tbody tr');
    await detail.waitForSelector('table:has(caption:text("Provider and bridge events")) tbody tr');
    expect(await detail.textContent('.facts')).toMatch(/p50 \d+ ms/);
    expect(await detail.textContent('#content')).not.toContain(CALLEE);
    expect(detailNavigations()).toBe(1);
    await snapshot(detail, 'call');
    await detail.close();

    const row = list.locator(`tr:has(a[href="/calls/${call.id}"])`);
    await row.locator('.badge-completed').waitFor({ timeout: 20_000 });
    await expect.poll(() => row.textContent()).toMatch(/\d+ ms/);
    // Masked until the operator asks; then the number (the console logs who asked).
    expect(await row.textContent()).not.toContain(CALLEE);
    await row.getByRole('button', { name: /Reveal/ }).click();
    await expect.poll(() => row.textContent()).toContain(CALLEE);
    expect(listNavigations()).toBe(1);
    const reveal = consoleLog
      .map((line) => JSON.parse(line))
      .find((e) => e.msg === 'console: phone number revealed');
    expect(reveal).toMatchObject({ operator: 'Ana' });
    expect(JSON.stringify(reveal)).not.toContain(CALLEE.slice(1));
    await snapshot(list, 'calls');
    await list.close();
  }, 90_000);

  it('shows an inbound WhatsApp message, then a reply whose status moves to read, without a reload', async () => {
    const page = await context.newPage();
    const navigations = countNavigations(page);
    await page.goto(`${consoleServer.url}/conversations`);
    await page.waitForSelector('text=Live ·');
    await service('sandbox', '/sandbox/whatsapp/inbound', {
      method: 'POST',
      body: JSON.stringify({ from: CONTACT, text: 'Muraho console' }),
    });
    await page.waitForSelector('td:text("Muraho console")', { timeout: 20_000 });
    expect(await page.textContent('#content')).not.toContain(CONTACT.slice(1));
    expect(navigations()).toBe(1);

    await page.getByRole('link', { name: 'Conversation', exact: true }).first().click();
    await page.waitForSelector('.bubble:has-text("Muraho console")');
    expect(await page.textContent('.facts')).toContain('open until');
    expect(await page.textContent('.facts')).toContain('subscribed');
    // The handoff switch: PATCHed through the console, shown from the service's next answer.
    await page.getByRole('switch', { name: 'Hand to a human', checked: false }).click();
    await page
      .getByRole('switch', { name: 'Hand to a human', checked: true })
      .waitFor({ timeout: 10_000 })
      .catch(async (error) => {
        throw new Error(
          `${error.message}\n${await page.textContent('#content')}\n${await page.innerHTML('.facts')}`,
        );
      });
    expect(await page.textContent('.facts')).toContain('with a human agent');
    await service('whatsapp', '/messages', {
      method: 'POST',
      body: JSON.stringify({ to: CONTACT, type: 'text', text: { body: 'Murakoze, we got it' } }),
    });
    await page.waitForSelector('.bubble:has-text("Murakoze") .badge-read', { timeout: 30_000 });
    expect(navigations()).toBe(2);
    await snapshot(page, 'conversation');
    await page.goto(`${consoleServer.url}/conversations`);
    await page.waitForSelector('td:text("Murakoze, we got it")');
    await snapshot(page, 'conversations');
    await page.close();
  }, 90_000);

  it('follows a render from the queue to its player, and cancels a queued one', async () => {
    const image = join(ARTIFACTS, 'still.png');
    execFileSync('ffmpeg', [
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'color=c=teal:s=320x240',
      '-frames:v',
      '1',
      image,
    ]);
    const form = new FormData();
    form.append('file', new Blob([await readFile(image)], { type: 'image/png' }), 'still.png');
    const asset = await service('video', '/assets', { method: 'POST', body: form });
    const spec = (seconds: number) =>
      JSON.stringify({
        output: { width: 320, height: 240, fps: 15, format: 'mp4' },
        clips: [{ type: 'image', src: asset.src, duration: seconds }],
        captions: [{ text: 'EasyMO console', start: 0, end: seconds }],
      });

    const page = await context.newPage();
    const navigations = countNavigations(page);
    await page.goto(`${consoleServer.url}/renders`);
    await page.waitForSelector('text=Live ·');
    // The render worker is frozen (SIGSTOP) while both renders are submitted and the second is canceled,
    // so the second is still waiting when the browser gets to its Cancel button whatever the machine's
    // speed: a first render long enough to cover it on a slow host was done in seconds on a fast one.
    const worker = system.processes.find((p) => p.spec.name === 'render-worker')?.child;
    if (!worker) throw new Error('no render-worker process');
    worker.kill('SIGSTOP');
    let render: { id: string };
    let queued: { id: string };
    let other: Page;
    const row = (id: string) => page.locator(`tr:has(a[href="/renders/${id}"])`);
    try {
      render = await service('video', '/renders', { method: 'POST', body: spec(6) });
      queued = await service('video', '/renders', { method: 'POST', body: spec(3) });
      const firstStatus = await row(render.id).locator('.badge').textContent({ timeout: 20_000 });
      expect(firstStatus).not.toBe('completed');

      // While the first waits, the second is canceled from its own page.
      other = await context.newPage();
      await other.goto(`${consoleServer.url}/renders/${queued.id}`);
      await other.getByRole('button', { name: 'Cancel render' }).click();
      await other.waitForSelector('.facts .badge-canceled');
    } finally {
      worker.kill('SIGCONT');
    }
    // Retried from the same page: a new render (its own page) that the worker takes after the first.
    await other.getByRole('button', { name: 'Retry render' }).click();
    await other.waitForURL(
      (url) => /\/renders\/[0-9a-f-]{36}$/.test(url.pathname) && !url.pathname.endsWith(queued.id),
    );
    await other.waitForSelector('.facts .badge-completed', { timeout: 90_000 });
    await other.close();

    await row(render.id).locator('.badge-completed').waitFor({ timeout: 60_000 });
    await page.waitForSelector(`tr:has(a[href="/renders/${queued.id}"]) .badge-canceled`);
    expect(navigations()).toBe(1);
    await snapshot(page, 'renders');

    await page.goto(`${consoleServer.url}/renders/${render.id}`);
    await page.waitForSelector('.facts .badge-completed', { timeout: 60_000 });
    await page.waitForSelector('video');
    await page.waitForFunction(
      () => (document.querySelector('video') as HTMLVideoElement).readyState >= 1,
      null,
      {
        timeout: 15_000,
      },
    );
    await page.waitForFunction(
      () => (document.querySelector('img.poster') as HTMLImageElement).naturalWidth > 0,
    );
    await snapshot(page, 'render');
    await page.close();
  }, 120_000);

  it('charts each service from its /metrics: breakers, rejections, queues, latency', async () => {
    const page = await context.newPage();
    await page.goto(`${consoleServer.url}/system-health`);
    await page.waitForFunction(() => document.querySelectorAll('.badge-up').length === 3, null, {
      timeout: 20_000,
    });
    expect(await page.locator('canvas').count()).toBe(3);
    expect(await page.textContent('#content')).toContain('twilio-calls: closed');
    expect(await page.textContent('#content')).toContain('video-renders: 0');
    // Traffic while the page watches: each chart point is the latency of the requests between two scrapes.
    let traffic = true;
    const sending = (async () => {
      while (traffic) {
        await Promise.all([
          fetch(`${url(system.ports['voice-bridge'])}/calls/${randomUUID()}`, {
            headers: { authorization: `Bearer ${LOAD_DEFAULTS.VOICE_API_KEY}` },
          }),
          fetch(`${url(system.ports['whatsapp-webhook'])}/messages/${randomUUID()}`, {
            headers: { authorization: `Bearer ${LOAD_DEFAULTS.WHATSAPP_API_KEY}` },
          }),
          fetch(`${url(system.ports['video-orchestrator'])}/renders/${randomUUID()}`, {
            headers: { authorization: `Bearer ${LOAD_DEFAULTS.VIDEO_API_KEY}` },
          }),
        ]);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    try {
      await page.waitForFunction(
        () =>
          [...document.querySelectorAll<HTMLElement>('.chart')].filter((c) => Number(c.dataset.measured) >= 2)
            .length === 3,
        null,
        { timeout: 30_000 },
      );
    } finally {
      traffic = false;
      await sending;
    }
    await snapshot(page, 'health');
    await page.close();
  }, 60_000);
});
