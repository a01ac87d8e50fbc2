import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import postgres from 'postgres';
import { LOAD_DEFAULTS } from '../../load/common/config.js';
import { type StartedSystem, startSystem } from '../../load/runner/start-system.ts';
import {
  freePort,
  type RunningProcess,
  startProcess,
  stopProcess,
  waitForHealth,
} from '../../load/runner/system.ts';
import type { CpuTargets } from './cpu-sampler.ts';

/** The system the bench measures: `npm start`'s processes on a fresh PostgreSQL database, and bare Hono beside it. */
export interface BenchSystem {
  urls: { voice: string; whatsapp: string; video: string; bare: string };
  /** What voice-bridge signs Twilio callbacks against (VOICE_PUBLIC_URL). */
  voicePublicUrl: string;
  /** The secrets the system runs with (its processes' environment). */
  secrets: { whatsappAppSecret: string; twilioAuthToken: string; voiceApiKey: string };
  /** Process ids by name: the services, the sandbox, the render worker and `bare-hono`. */
  pids: Record<string, number>;
  /** The run's database, to count what was stored. */
  sql: postgres.Sql;
  /** Its name (the bench samples the CPU of the PostgreSQL backends serving it). */
  database: string;
  logDir: string;
  stop(): Promise<void>;
}

/**
 * The only variables the bench sets beyond `npm run load:ci`'s (load/runner/system-env.ts, which
 * already lifts the rate limits out of the way): the sandbox keeps the calls the bench creates queued
 * (hours between stages), so they are live calls and nothing but the bench posts their callbacks.
 */
export const BENCH_ENV = {
  sandbox: { SANDBOX_TWILIO_STAGE_DELAY_MS: String(6 * 3600_000) },
} as const;

/**
 * Where BENCH_CPU_PROFILE=voice-bridge,whatsapp-webhook writes those processes' V8 CPU profiles, and
 * BENCH_HEAP_SNAPSHOT=… their heap snapshots (taken when the benchmarks are done, before the stop).
 */
export const PROFILE_DIR = new URL('../results/profiles/', import.meta.url).pathname;

const named = (variable: string) => process.env[variable]?.split(',').filter(Boolean) ?? [];

/** What a closed-loop measurement samples the CPU of (measure-http's `cpu`): a service and its database's backends. */
export const serviceCpu = (system: BenchSystem, service: string): CpuTargets => ({
  pids: { service: system.pids[service] },
  database: system.database,
});

/** The same for bare Hono, which has no database. */
export const bareHonoCpu = (system: BenchSystem): CpuTargets => ({
  pids: { bareHono: system.pids['bare-hono'] },
});

/** BENCH_ENV plus the diagnostics BENCH_CPU_PROFILE and BENCH_HEAP_SNAPSHOT ask for. */
function benchEnv(): Record<string, Record<string, string>> {
  const env: Record<string, Record<string, string>> = { ...BENCH_ENV };
  const flags = (name: string, flag: string) => {
    const before = env[name]?.NODE_OPTIONS;
    env[name] = { ...env[name], NODE_OPTIONS: before ? `${before} ${flag}` : flag };
  };
  for (const name of named('BENCH_CPU_PROFILE')) flags(name, `--cpu-prof --cpu-prof-dir=${PROFILE_DIR}`);
  for (const name of named('BENCH_HEAP_SNAPSHOT'))
    flags(name, `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${PROFILE_DIR}`);
  return env;
}

/** Asks each process BENCH_HEAP_SNAPSHOT names for a heap snapshot and waits until it is written. */
export async function takeHeapSnapshots(system: BenchSystem, log: (line: string) => void): Promise<void> {
  for (const name of named('BENCH_HEAP_SNAPSHOT')) {
    const pid = system.pids[name];
    if (!pid) continue;
    const before = new Set(await readdir(PROFILE_DIR).catch(() => []));
    process.kill(pid, 'SIGUSR2');
    // V8 writes the file while the process stands still; it is whole once its size stops changing.
    let file: string | undefined;
    let lastSize = -1;
    for (let tries = 0; tries < 1200; tries++) {
      await delay(250);
      file ??= (await readdir(PROFILE_DIR)).find(
        (f) => !before.has(f) && f.endsWith('.heapsnapshot') && f.includes(`.${pid}.`),
      );
      if (!file) continue;
      const size = (await stat(join(PROFILE_DIR, file))).size;
      if (size > 0 && size === lastSize) break;
      lastSize = size;
    }
    log(file ? `heap snapshot of ${name}: ${join(PROFILE_DIR, file)}` : `no heap snapshot of ${name}`);
  }
}

/**
 * Starts the whole system as `npm run load:ci` does (each service its own Node process, free ports,
 * a fresh database, migrated) and bare Hono in a process of its own, answering /health with the same
 * fields as whatsapp-webhook's.
 *
 * @example
 * const system = await startBenchSystem({ log: console.log });
 * try { ... } finally { await system.stop(); }
 */
export async function startBenchSystem(options: { log: (line: string) => void }): Promise<BenchSystem> {
  const logDir = await mkdtemp(join(tmpdir(), 'easymo-bench-'));
  await mkdir(PROFILE_DIR, { recursive: true });
  const system: StartedSystem = await startSystem({
    ports: 'free',
    logDir,
    log: options.log,
    rateLimitStore: 'memory',
    logLevel: 'warn',
    env: benchEnv(),
  });
  let bare: RunningProcess | undefined;
  let sql: postgres.Sql | undefined;
  const stop = async () => {
    if (bare) await stopProcess(bare);
    await sql?.end({ timeout: 5 });
    await system.stop();
    await rm(logDir, { recursive: true, force: true });
  };
  try {
    const { ports } = system;
    const url = (port: number) => `http://127.0.0.1:${port}`;
    const whatsapp = url(ports['whatsapp-webhook']);
    const health = (await (await fetch(`${whatsapp}/health`)).json()) as {
      service: string;
      breakers: Record<string, string>;
    };
    const barePort = await freePort();
    bare = await startProcess(
      {
        name: 'bare-hono',
        entry: 'bench/support/bare-hono-server.ts',
        env: {
          PATH: process.env.PATH ?? '',
          NODE_ENV: 'production',
          BARE_PORT: String(barePort),
          BARE_HEALTH_SERVICE: health.service,
          BARE_HEALTH_BREAKERS: JSON.stringify(health.breakers),
        },
      },
      logDir,
    );
    await waitForHealth(bare, `${url(barePort)}/health`, 30_000);
    sql = postgres(system.databaseUrl, { max: 2, onnotice: () => undefined });
    // postgres.js learns array types when its first connection opens; a first query carrying
    // sql.array() would otherwise go out typed as a scalar (voiceStatus alone failed that way).
    await sql`select 1`;
    const pids: Record<string, number> = { 'bare-hono': bare.child.pid! };
    for (const proc of system.processes) pids[proc.spec.name] = proc.child.pid!;
    const envOf = (name: string) => system.processes.find((p) => p.spec.name === name)?.spec.env ?? {};
    const voiceEnv = envOf('voice-bridge');
    return {
      urls: {
        voice: url(ports['voice-bridge']),
        whatsapp,
        video: url(ports['video-orchestrator']),
        bare: url(barePort),
      },
      voicePublicUrl: voiceEnv.VOICE_PUBLIC_URL ?? url(ports['voice-bridge']),
      secrets: {
        whatsappAppSecret: envOf('whatsapp-webhook').WHATSAPP_APP_SECRET ?? LOAD_DEFAULTS.WHATSAPP_APP_SECRET,
        // Unset TWILIO_AUTH_TOKEN: voice-bridge runs with the sandbox's dev account, as `npm start` does.
        twilioAuthToken: voiceEnv.TWILIO_AUTH_TOKEN ?? LOAD_DEFAULTS.TWILIO_AUTH_TOKEN,
        voiceApiKey: voiceEnv.VOICE_API_KEY ?? LOAD_DEFAULTS.VOICE_API_KEY,
      },
      pids,
      sql,
      database: decodeURIComponent(new URL(system.databaseUrl).pathname.slice(1)),
      logDir,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
