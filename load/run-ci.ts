/**
 * `npm run load:ci`: starts the whole system (provider sandbox, the three services, the render worker)
 * on a fresh PostgreSQL database, runs the CI profile against every service that is there, probes each
 * one's maximum sustainable rate (open model), stops the system, writes load/results/summary.json and
 * report.html, prints the comparison with the EasyMO seed, and exits 99 when a threshold failed.
 *
 * Environment (all optional): DATABASE_URL (server to create the load database on; default the local
 * PostgreSQL), LOAD_PROFILE (ci), LOAD_OPEN_PROFILE (open-model-ci; "none" skips the probe),
 * LOAD_RESULTS_DIR (load/results), LOAD_RATE_LIMIT_STORE (memory), LOAD_LOG_LEVEL (warn).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOAD_DEFAULTS, loadTargetsFromEnv } from './common/config.js';
import type { OpenModelResult } from './common/summary.js';
import { LOCAL_POSTGRES, migrateLoadDatabase, prepareLoadDatabase, redact } from './runner/load-database.ts';
import { loadClosedProfile, loadOpenProfile, loadSeedResults } from './runner/profiles.ts';
import { formatConsoleSummary, toSummaryFile, writeResults } from './runner/results.ts';
import { runClosedProfile } from './runner/run-closed.ts';
import { runOpenModel } from './runner/run-open.ts';
import {
  entryExists,
  freePort,
  ROOT,
  type RunningProcess,
  startProcess,
  stopProcess,
  waitForHealth,
} from './runner/system.ts';
import { type SystemPorts, systemProcesses } from './runner/system-env.ts';

/** The whole run's ceiling: CI's budget is shared with the tests and the benchmarks. */
const RUN_BUDGET_MS = 12 * 60_000;
const HEALTH_TIMEOUT_MS = 90_000;

const log = (line: string) => process.stdout.write(`[load] ${line}\n`);

async function main(): Promise<number> {
  const started = Date.now();
  const resultsDir = process.env.LOAD_RESULTS_DIR || join(ROOT, 'load/results');
  const profile = await loadClosedProfile(process.env.LOAD_PROFILE || 'ci');
  const openName = process.env.LOAD_OPEN_PROFILE ?? 'open-model-ci';
  const openProfile = openName && openName !== 'none' ? await loadOpenProfile(openName) : undefined;
  const seed = await loadSeedResults();

  const budget = new AbortController();
  const budgetTimer = setTimeout(() => {
    log(`run budget of ${RUN_BUDGET_MS / 60_000} minutes spent: stopping`);
    budget.abort();
  }, RUN_BUDGET_MS);
  budgetTimer.unref();
  const onSignal = () => budget.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const server = process.env.DATABASE_URL || LOCAL_POSTGRES;
  const database = await prepareLoadDatabase(server, log);
  log(`database: ${redact(database.url)}${database.dedicated ? ' (fresh)' : ''}`);
  await migrateLoadDatabase(database.url, log);

  const dataDir = await mkdtemp(join(tmpdir(), 'easymo-load-'));
  const ports: SystemPorts = {
    sandbox: await freePort(),
    'voice-bridge': await freePort(),
    'whatsapp-webhook': await freePort(),
    'video-orchestrator': await freePort(),
  };
  const specs = systemProcesses({
    ports,
    databaseUrl: database.url,
    dataDir,
    rateLimitStore: process.env.LOAD_RATE_LIMIT_STORE || 'memory',
    logLevel: process.env.LOAD_LOG_LEVEL || 'warn',
  });
  const logDir = join(resultsDir, 'logs');
  const running: RunningProcess[] = [];
  try {
    const present = specs.filter((spec) => {
      if (entryExists(spec)) return true;
      log(`${spec.name}: ${spec.entry} does not exist yet; not started${spec.service ? ', not loaded' : ''}`);
      return false;
    });
    // The sandbox first: the services reach it for Twilio, the Graph API and the voice agent.
    const [first, ...rest] =
      present[0]?.name === 'sandbox' ? [present[0], ...present.slice(1)] : [undefined, ...present];
    if (first) {
      const proc = await startProcess(first, logDir);
      running.push(proc);
      await waitForHealth(proc, first.healthUrl!, HEALTH_TIMEOUT_MS);
      log(`${first.name} healthy on ${first.healthUrl}`);
    }
    const others = await Promise.all(rest.map((spec) => startProcess(spec!, logDir)));
    running.push(...others);
    await Promise.all(
      others
        .filter((proc) => proc.spec.healthUrl)
        .map(async (proc) => {
          await waitForHealth(proc, proc.spec.healthUrl!, HEALTH_TIMEOUT_MS);
          log(`${proc.spec.name} healthy on ${proc.spec.healthUrl}`);
        }),
    );
    for (const proc of running) {
      void proc.exited.then((code) => {
        if (!stopping) log(`${proc.spec.name} exited (${code}) during the run; see ${proc.logPath}`);
      });
    }
    const services = running.map((proc) => proc.spec.service).filter((s): s is string => Boolean(s));
    if (services.length === 0) throw new Error('no service of the system exists yet: nothing to load');
    log(`system up in ${((Date.now() - started) / 1000).toFixed(1)} s; loading ${services.join(', ')}`);

    const targets = loadTargetsFromEnv({
      ...LOAD_DEFAULTS,
      BASE_VOICE_URL: `http://127.0.0.1:${ports['voice-bridge']}`,
      BASE_WHATSAPP_URL: `http://127.0.0.1:${ports['whatsapp-webhook']}`,
      BASE_VIDEO_URL: `http://127.0.0.1:${ports['video-orchestrator']}`,
    });
    log(`closed model: profile ${profile.name}`);
    const closed = await runClosedProfile({
      profile,
      seed,
      baseUrls: targets.baseUrls,
      config: targets.config,
      services,
      log,
      signal: budget.signal,
    });
    let openModel: Record<string, OpenModelResult> | null = null;
    if (openProfile && !budget.signal.aborted) {
      log(`open model: profile ${openProfile.name}`);
      openModel = await runOpenModel({
        profile: openProfile,
        baseUrls: targets.baseUrls,
        config: targets.config,
        services,
        log,
        signal: budget.signal,
      });
    }
    stopping = true;
    await Promise.all(running.map((proc) => stopProcess(proc)));

    const summary = toSummaryFile(closed, openModel, seed);
    const paths = await writeResults(summary, resultsDir);
    process.stdout.write(formatConsoleSummary(summary));
    log(`wrote ${paths.json} and ${paths.html} (service logs in ${logDir})`);
    if (budget.signal.aborted) {
      log('the run was cut short: failing');
      return 1;
    }
    return closed.exitCode;
  } finally {
    stopping = true;
    clearTimeout(budgetTimer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.all(running.map((proc) => stopProcess(proc)));
    await rm(dataDir, { recursive: true, force: true });
  }
}

let stopping = false;

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`[load] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
}
