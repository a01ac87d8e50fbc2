import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SANDBOX, SERVICES } from '../../services/manifest.js';
import {
  dropLoadDatabase,
  LOCAL_POSTGRES,
  migrateLoadDatabase,
  prepareLoadDatabase,
  redact,
} from './load-database.ts';
import {
  entryExists,
  freePort,
  type RunningProcess,
  startProcess,
  stopProcess,
  waitForHealth,
} from './system.ts';
import { type SystemPorts, systemProcesses } from './system-env.ts';

/** The ports the seed ran on (and `npm start` uses): what the k6 scripts target by default. */
export const STANDARD_PORTS = Object.fromEntries([
  [SANDBOX.name, SANDBOX.port],
  ...SERVICES.map((service) => [service.name, service.port]),
]) as SystemPorts;

async function freePorts(): Promise<SystemPorts> {
  const ports: Record<string, number> = {};
  for (const name of Object.keys(STANDARD_PORTS)) ports[name] = await freePort();
  return ports as SystemPorts;
}

export interface StartedSystem {
  ports: SystemPorts;
  databaseUrl: string;
  /** Services that exist and answered /health: the ones to load. */
  services: string[];
  processes: RunningProcess[];
  logDir: string;
  stop(): Promise<void>;
}

export interface StartSystemOptions {
  /** `standard` (3001, 8080, 3002, sandbox 4010) or `free` (ports the OS hands out now). */
  ports: 'standard' | 'free';
  logDir: string;
  log: (line: string) => void;
  /** Server to create the load database on (default DATABASE_URL, else the local PostgreSQL). */
  databaseServerUrl?: string;
  rateLimitStore?: string;
  logLevel?: string;
  healthTimeoutMs?: number;
  /** Variables added to one process's environment, by process name (`sandbox`, `whatsapp-webhook`, ...). */
  env?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/**
 * Starts the whole system with the load configuration (system-env.ts): a fresh PostgreSQL database,
 * migrated, then the provider sandbox, the services and the render worker, each waited on until its
 * /health answers. A service whose entry file does not exist yet is skipped, and said so.
 */
export async function startSystem(options: StartSystemOptions): Promise<StartedSystem> {
  const { log } = options;
  const server = options.databaseServerUrl || process.env.DATABASE_URL || LOCAL_POSTGRES;
  const database = await prepareLoadDatabase(server, log);
  log(`database: ${redact(database.url)}${database.dedicated ? ' (fresh)' : ''}`);
  await migrateLoadDatabase(database.url, log);

  const dataDir = await mkdtemp(join(tmpdir(), 'easymo-load-'));
  const ports = options.ports === 'standard' ? STANDARD_PORTS : await freePorts();
  const specs = systemProcesses({
    ports,
    databaseUrl: database.url,
    dataDir,
    rateLimitStore: options.rateLimitStore ?? 'memory',
    logLevel: options.logLevel ?? 'warn',
  }).map((spec) => ({ ...spec, env: { ...spec.env, ...options.env?.[spec.name] } }));
  const healthTimeoutMs = options.healthTimeoutMs ?? 90_000;
  const running: RunningProcess[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // Services first, so nothing calls a sandbox that is already gone.
    await Promise.all(running.filter((p) => p.spec.name !== 'sandbox').map((p) => stopProcess(p)));
    await Promise.all(running.filter((p) => p.spec.name === 'sandbox').map((p) => stopProcess(p)));
    await rm(dataDir, { recursive: true, force: true });
    if (database.dedicated) await dropLoadDatabase(server, log);
  };

  try {
    const present = specs.filter((spec) => {
      if (entryExists(spec)) return true;
      log(`${spec.name}: ${spec.entry} does not exist yet; not started${spec.service ? ', not loaded' : ''}`);
      return false;
    });
    // The sandbox first: the services reach it for Twilio, the Graph API and the voice agent.
    const sandbox = present.find((spec) => spec.name === 'sandbox');
    if (sandbox) {
      const proc = await startProcess(sandbox, options.logDir);
      running.push(proc);
      await waitForHealth(proc, sandbox.healthUrl!, healthTimeoutMs);
      log(`sandbox healthy on ${sandbox.healthUrl}`);
    }
    const others = await Promise.all(
      present.filter((spec) => spec !== sandbox).map((spec) => startProcess(spec, options.logDir)),
    );
    running.push(...others);
    await Promise.all(
      others
        .filter((proc) => proc.spec.healthUrl)
        .map(async (proc) => {
          await waitForHealth(proc, proc.spec.healthUrl!, healthTimeoutMs);
          log(`${proc.spec.name} healthy on ${proc.spec.healthUrl}`);
        }),
    );
    for (const proc of running) {
      void proc.exited.then((code) => {
        if (!stopped) log(`${proc.spec.name} exited (${code}) while the system ran; see ${proc.logPath}`);
      });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    ports,
    databaseUrl: database.url,
    services: running.map((proc) => proc.spec.service).filter((s): s is string => Boolean(s)),
    processes: running,
    logDir: options.logDir,
    stop,
  };
}
