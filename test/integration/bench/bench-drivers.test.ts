import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { perCore, sampleCpu } from '../../../bench/support/cpu-sampler.ts';
import { measureHalfCapacity } from '../../../bench/support/half-capacity.ts';
import { measureHttp } from '../../../bench/support/measure-http.ts';
import { measureOpenRate } from '../../../bench/support/measure-open-rate.ts';
import { readRssMiB } from '../../../bench/support/rss-sampler.ts';
import { checkStored } from '../../../bench/support/stored-check.ts';
import {
  freePort,
  type RunningProcess,
  startProcess,
  stopProcess,
  waitForHealth,
} from '../../../load/runner/system.ts';
import { listen, type TestServer } from '../../support/http.ts';

/** Answers 200 to even request numbers and 503 to odd ones, remembering what it acknowledged. */
function stubServer() {
  const acknowledged = new Set<string>();
  let received = 0;
  const app = new Hono();
  app.post('/events', async (c) => {
    received += 1;
    const key = await c.req.text();
    if (Number(key) % 2 === 1) return c.text('busy', 503);
    acknowledged.add(key);
    return c.json({ ok: true });
  });
  return { app, acknowledged, received: () => received };
}

describe('bench drivers', () => {
  let server: TestServer;
  let stub: ReturnType<typeof stubServer>;
  beforeAll(async () => {
    stub = stubServer();
    server = await listen(stub.app);
  });
  afterAll(async () => {
    await server.close();
  });

  it('measureHttp ties every 2xx to the request it answers, warm-up included', async () => {
    let n = 0;
    const { figures, acknowledgedKeys, unansweredAtStop } = await measureHttp({
      url: server.url,
      connections: 4,
      durationSeconds: 1,
      warmUpSeconds: 1,
      nextRequest: () => {
        const key = String(n++);
        return { method: 'POST', path: '/events', body: key, key };
      },
      // The stub runs in this process: its CPU per request is the generator's own.
      cpu: { pids: { stub: process.pid } },
    });
    expect(figures.requests).toBeGreaterThan(20);
    expect(figures.cpuUsPerRequest?.stub).toBeGreaterThan(0);
    // Read a moment apart, and /proc rounds user and system time down to 10 ms ticks each: a few ticks
    // over the measured requests may lie between the two readings.
    const { stub: stubCpu, loadGenerator } = figures.cpuUsPerRequest as Record<string, number>;
    expect(Math.abs(stubCpu - loadGenerator)).toBeLessThanOrEqual(
      loadGenerator * 0.05 + (3 * 10_000) / figures.requests,
    );
    // The warm-up second's requests count for the stored check, not for the figures.
    expect(acknowledgedKeys.length).toBeGreaterThan(figures.requests - figures.non2xx);
    expect(acknowledgedKeys.every((key) => Number(key) % 2 === 0)).toBe(true);
    expect(acknowledgedKeys.every((key) => stub.acknowledged.has(key))).toBe(true);
    // The server may have answered a request the measurement cut: never more than were cut.
    expect(stub.acknowledged.size - acknowledgedKeys.length).toBeLessThanOrEqual(unansweredAtStop);
    expect(figures.okPerSecond).toBeLessThan(figures.requestsPerSecond);
    const l = figures.latencyMs;
    expect(l.p50).toBeLessThanOrEqual(l.p95);
    expect(l.p95).toBeLessThanOrEqual(l.p97_5);
    expect(l.p97_5).toBeLessThanOrEqual(l.p99);
    expect(l.p99).toBeLessThanOrEqual(l.max);
  });

  it('measureOpenRate offers a fixed rate whatever the answers, times only after its warm-up, and waits for the last', async () => {
    // A server of its own: the closed measurement's cut requests must not land in this count.
    const own = stubServer();
    const ownServer = await listen(own.app);
    let n = 0;
    // The generator itself stalls: 300 ms in its warm-up (not reported) and 60 ms in the timed second.
    const stall = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    const { figures, acknowledgedKeys } = await measureOpenRate({
      url: ownServer.url,
      ratePerSecond: 100,
      durationSeconds: 1,
      warmupSeconds: 0.5,
      nextRequest: () => {
        if (n === 10) stall(300);
        if (n === 100) stall(60);
        const key = String(n++);
        return { method: 'POST', path: '/events', body: key, key };
      },
    });
    expect(figures.generatorDelayMs.max).toBeGreaterThanOrEqual(55);
    expect(figures.generatorDelayMs.max).toBeLessThan(300);
    expect(figures.generatorDelayMs.p99).toBeLessThanOrEqual(figures.generatorDelayMs.max);
    expect(figures.offeredPerSecond).toBe(100);
    expect(figures.dropped).toBe(0);
    expect(figures.errors).toBe(0);
    await ownServer.close();
    expect(own.received()).toBe(n);
    // Half a second of warm-up, then one timed second, at 100/s.
    expect(n).toBeGreaterThanOrEqual(145);
    expect(n).toBeLessThanOrEqual(151);
    expect(figures.requests).toBeGreaterThanOrEqual(95);
    expect(figures.requests).toBeLessThanOrEqual(101);
    // Every 2xx is acknowledged, the warm-up's too, so the stored check covers everything sent.
    expect(new Set(acknowledgedKeys)).toEqual(own.acknowledged);
    expect(acknowledgedKeys.length).toBeGreaterThan(figures.requests - figures.non2xx);
    // 2xx per second of the timed window (longer when the last answer came later).
    expect(figures.achievedPerSecond).toBeGreaterThan(0);
    expect(figures.achievedPerSecond).toBeLessThanOrEqual(figures.requests - figures.non2xx);
  });

  it('measureHalfCapacity offers half the given capacity and samples the process RSS meanwhile', async () => {
    const own = stubServer();
    const ownServer = await listen(own.app);
    let n = 0;
    const half = await measureHalfCapacity({
      url: ownServer.url,
      pid: process.pid,
      capacityPerSecond: 120,
      durationSeconds: 1,
      nextRequest: () => {
        const key = String(n++);
        return { method: 'POST', path: '/events', body: key, key };
      },
    });
    await ownServer.close();
    expect(half.capacityPerSecond).toBe(120);
    expect(half.figures.offeredPerSecond).toBe(60);
    // One second of warm-up and one timed, at 60/s.
    expect(n).toBeGreaterThanOrEqual(117);
    expect(n).toBeLessThanOrEqual(121);
    expect(half.acknowledgedKeys.every((key) => own.acknowledged.has(key))).toBe(true);
    // This process's own RSS: a real reading at the start and a peak no lower than it.
    expect(half.rssMiB.idleMiB).toBeGreaterThan(10);
    expect(half.rssMiB.peakMiB).toBeGreaterThanOrEqual(half.rssMiB.idleMiB!);
  });

  it('checkStored passes only when every acknowledged event is stored and nothing unsent is', async () => {
    const counting = (stored: number, ofAcked: number) => ({
      countStored: async () => stored,
      countStoredOf: async () => ofAcked,
    });
    const keys = ['a', 'b', 'c'];
    expect((await checkStored({ acknowledgedKeys: keys, unansweredAtStop: 2, ...counting(5, 3) })).ok).toBe(
      true,
    );
    expect((await checkStored({ acknowledgedKeys: keys, unansweredAtStop: 2, ...counting(5, 2) })).ok).toBe(
      false,
    );
    expect((await checkStored({ acknowledgedKeys: keys, unansweredAtStop: 2, ...counting(6, 3) })).ok).toBe(
      false,
    );
    expect((await checkStored({ acknowledgedKeys: keys, unansweredAtStop: 0, ...counting(3, 3) })).ok).toBe(
      true,
    );
  });

  it('bare Hono runs in a process of its own, answering the benchmarked routes as the services do', async () => {
    const logDir = await mkdtemp(join(tmpdir(), 'bare-hono-'));
    const port = await freePort();
    let bare: RunningProcess | undefined;
    try {
      bare = await startProcess(
        {
          name: 'bare-hono',
          entry: 'bench/support/bare-hono-server.ts',
          env: {
            PATH: process.env.PATH ?? '',
            BARE_PORT: String(port),
            BARE_HEALTH_SERVICE: 'whatsapp-webhook',
            BARE_HEALTH_BREAKERS: JSON.stringify({ 'graph-api': 'closed' }),
          },
        },
        logDir,
      );
      const base = `http://127.0.0.1:${port}`;
      await waitForHealth(bare, `${base}/health`, 20_000);
      expect(bare.child.pid).not.toBe(process.pid);
      expect(readRssMiB(bare.child.pid!)).toBeGreaterThan(10);
      const health = await (await fetch(`${base}/health`)).json();
      expect(Object.keys(health).sort()).toEqual(['breakers', 'service', 'status', 'timestamp', 'uptime']);
      expect(health).toMatchObject({
        status: 'ok',
        service: 'whatsapp-webhook',
        breakers: { 'graph-api': 'closed' },
      });
      const webhook = await fetch(`${base}/webhook`, { method: 'POST', body: '{}' });
      expect(await webhook.json()).toEqual({
        received: true,
        messages: 1,
        duplicates: 0,
        statuses: 0,
        events: 0,
      });
      const status = await fetch(`${base}/webhooks/voice/status`, { method: 'POST', body: 'CallSid=x' });
      expect(status.headers.get('content-type')).toMatch(/^text\/xml/);
      expect(await status.text()).toContain('<Response');
    } finally {
      if (bare) await stopProcess(bare);
      await rm(logDir, { recursive: true, force: true });
    }
  });
  it('sampleCpu reports the CPU a process spent per request', () => {
    const cpu = sampleCpu({ pids: {} });
    const started = process.cpuUsage();
    let spent = 0;
    let x = 0;
    while (spent < 300_000) {
      for (let i = 0; i < 100_000; i++) x += Math.sqrt(i);
      const used = process.cpuUsage(started);
      spent = used.user + used.system;
    }
    const figures = cpu.stop(100);
    expect(x).toBeGreaterThan(0);
    // Clock ticks are 10 ms: 300+ ms of work is read to within a few percent.
    expect(figures.loadGenerator).toBeGreaterThan((spent / 100) * 0.85);
    expect(figures.loadGenerator).toBeLessThan((spent / 100) * 1.15 + 200);
    expect(perCore(250)).toBe(4000);
    expect(perCore(null)).toBeNull();
  });

  it.skipIf(!process.env.DATABASE_URL)(
    'sampleCpu counts the PostgreSQL backends of its database and of no other',
    async () => {
      const server = new URL(process.env.DATABASE_URL!);
      const name = (label: string) => `cpu_sample_${label}_${process.pid}`;
      const admin = postgres(server.href, { max: 1, onnotice: () => undefined });
      const urlOf = (database: string) =>
        Object.assign(new URL(server.href), { pathname: `/${database}` }).href;
      const databases = [name('busy'), name('idle')];
      for (const database of databases) await admin.unsafe(`create database ${database}`);
      const [busy, idle] = databases.map((database) => postgres(urlOf(database), { max: 1 }));
      try {
        await busy`select 1`;
        await idle`select 1`;
        const busyCpu = sampleCpu({ pids: {}, database: databases[0] });
        const idleCpu = sampleCpu({ pids: {}, database: databases[1] });
        await busy`select count(*) from generate_series(1, 5000000)`;
        const [busyFigures, idleFigures] = [busyCpu.stop(1), idleCpu.stop(1)];
        // Five million rows take the backend well over 100 ms of CPU; the idle one spends none of it
        // (at most the 10 ms ticks /proc rounds to).
        expect(busyFigures.postgres).toBeGreaterThan(100_000);
        expect(idleFigures.postgres).toBeLessThanOrEqual(30_000);
      } finally {
        await busy.end();
        await idle.end();
        for (const database of databases)
          await admin.unsafe(`drop database if exists ${database} with (force)`);
        await admin.end();
      }
    },
  );
});
