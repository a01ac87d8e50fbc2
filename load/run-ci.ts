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
import { join } from 'node:path';
import { baseUrlVariable, SERVICES } from '../services/manifest.js';
import { LOAD_DEFAULTS, loadTargetsFromEnv } from './common/config.js';
import { loadClosedProfile, loadOpenProfile, loadSeedResults } from './runner/profiles.ts';
import { formatConsoleSummary, toSummaryFile, writeResults } from './runner/results.ts';
import { runLoad } from './runner/run-load.ts';
import { type StartedSystem, startSystem } from './runner/start-system.ts';
import { ROOT } from './runner/system.ts';
import { scrapeTurnLatency } from './runner/turn-latency.ts';

/** The whole run's ceiling: CI's budget is shared with the tests and the benchmarks. */
const RUN_BUDGET_MS = 12 * 60_000;

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

  let system: StartedSystem | undefined;
  try {
    system = await startSystem({
      ports: 'free',
      logDir: join(resultsDir, 'logs'),
      log,
      rateLimitStore: process.env.LOAD_RATE_LIMIT_STORE || 'memory',
      logLevel: process.env.LOAD_LOG_LEVEL || 'warn',
    });
    const { ports, services } = system;
    if (services.length === 0) throw new Error('no service of the system exists yet: nothing to load');
    log(`system up in ${((Date.now() - started) / 1000).toFixed(1)} s; loading ${services.join(', ')}`);

    const targets = loadTargetsFromEnv({
      ...LOAD_DEFAULTS,
      ...Object.fromEntries(
        SERVICES.map((service) => [baseUrlVariable(service), `http://127.0.0.1:${ports[service.name]}`]),
      ),
    });
    const { closed, openModel } = await runLoad({
      profile,
      openProfile,
      seed,
      baseUrls: targets.baseUrls,
      config: targets.config,
      services,
      log,
      signal: budget.signal,
    });
    const voiceTurnLatency = services.includes('voice-bridge')
      ? await scrapeTurnLatency(`http://127.0.0.1:${ports['voice-bridge']}`)
      : null;
    await system.stop();

    const summary = toSummaryFile(closed, openModel, seed, voiceTurnLatency);
    const paths = await writeResults(summary, resultsDir);
    process.stdout.write(formatConsoleSummary(summary));
    log(`wrote ${paths.json} and ${paths.html} (service logs in ${system.logDir})`);
    log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    if (budget.signal.aborted) {
      log('the run was cut short: failing');
      return 1;
    }
    return closed.exitCode;
  } finally {
    clearTimeout(budgetTimer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await system?.stop();
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`[load] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
}
