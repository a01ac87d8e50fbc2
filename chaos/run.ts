/**
 * `npm run chaos`: the fault-injection suite. Starts the whole system (sandbox, three services, render
 * worker) on loopback ports against a PostgreSQL cluster of its own (initdb on a free port, never the
 * machine's), injects one fault per scenario, checks what must hold, writes the figures to
 * chaos/results/latest.json and prints `N passed, N failed`. Bounded: every scenario has its own limits and
 * the whole run stops itself after CHAOS_TIMEOUT_S.
 *
 * CHAOS_ONLY=a,b runs some scenarios; CHAOS_SOAK_SECONDS sets the soak's length (default 120; 600 is the
 * issue's ten minutes); CHAOS_SOAK_CAPACITY gives the capacity (req/s per service) the soak runs at half
 * of, instead of measuring it with a short climb.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type StartedSystem, startSystem } from '../load/runner/start-system.ts';
import type { ChaosContext, Scenario, ScenarioResult } from './chaos-context.ts';
import { type PrivatePostgres, startPrivatePostgres } from './private-postgres.ts';
import { SCENARIOS } from './scenarios/index.ts';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
const soakSeconds = Number(process.env.CHAOS_SOAK_SECONDS ?? 120);
const timeoutS = Number(process.env.CHAOS_TIMEOUT_S ?? 900);
const only = (process.env.CHAOS_ONLY ?? '').split(',').filter(Boolean);
const log = (line: string) => process.stdout.write(`[chaos] ${line}\n`);

const selected: Scenario[] = only.length ? SCENARIOS.filter((s) => only.includes(s.name)) : SCENARIOS;
let postgres: PrivatePostgres | undefined;
let system: StartedSystem | undefined;

async function cleanup() {
  await system?.stop().catch((error) => log(`stopping the system: ${(error as Error).message}`));
  await postgres?.destroy().catch((error) => log(`removing PostgreSQL: ${(error as Error).message}`));
}

const watchdog = setTimeout(async () => {
  log(`still running after ${timeoutS} s: stopping`);
  await cleanup();
  process.stdout.write('0 passed, 1 failed\n');
  process.exit(1);
}, timeoutS * 1000);
watchdog.unref();

const results: Array<
  { name: string; passed: boolean; durationMs: number } & Partial<ScenarioResult> & { error?: string }
> = [];
const logDir = join(RESULTS_DIR, 'logs');
await mkdir(logDir, { recursive: true });
try {
  postgres = await startPrivatePostgres();
  log(`private PostgreSQL on port ${postgres.port}`);
  // SIGUSR1 opens a service's inspector on a port of its own (loopback): the soak reads memory after a
  // full GC through it.
  const inspectable = {
    NODE_OPTIONS: [process.env.NODE_OPTIONS, '--inspect-port=0'].filter(Boolean).join(' '),
  };
  system = await startSystem({
    ports: 'free',
    logDir,
    log,
    databaseServerUrl: postgres.url,
    healthTimeoutMs: 120_000,
    env: {
      // Recovery within the suite's time: the Graph breaker retries after 2 s, the outbox after 1 s.
      'whatsapp-webhook': {
        ...inspectable,
        BREAKER_WHATSAPP_GRAPH_RESET_MS: '2000',
        BREAKER_WHATSAPP_GRAPH_TIMEOUT_MS: '1500',
        WHATSAPP_SEND_RETRY_DELAY_SECONDS: '1',
        WHATSAPP_SEND_RETRY_DELAY_MAX_SECONDS: '2',
        WHATSAPP_SEND_RETRY_LIMIT: '30',
        GRAPH_API_TIMEOUT_MS: '1000',
      },
      // Twilio's breaker gives up on a request after 1.5 s, opens after 3 failures, retries after 2 s; an
      // unconfirmed call fails after 10 s. The agent's: 1 s to connect, opens after 2 failures, and stays
      // open 10 s, so a call placed the moment it opens is answered while it is still open.
      'voice-bridge': {
        ...inspectable,
        BREAKER_TWILIO_CALLS_TIMEOUT_MS: '1500',
        BREAKER_TWILIO_CALLS_RESET_MS: '2000',
        BREAKER_TWILIO_CALLS_VOLUME_THRESHOLD: '3',
        VOICE_PLACEMENT_CONFIRM_S: '10',
        VOICE_AGENT_CONNECT_TIMEOUT_MS: '1000',
        BREAKER_VOICE_AGENT_RESET_MS: '10000',
        BREAKER_VOICE_AGENT_VOLUME_THRESHOLD: '2',
      },
      'video-orchestrator': inspectable,
    },
  });
  const port = (name: keyof StartedSystem['ports']) => `http://127.0.0.1:${system!.ports[name]}`;
  const ctx: ChaosContext = {
    system,
    postgres,
    urls: {
      'voice-bridge': port('voice-bridge'),
      'whatsapp-webhook': port('whatsapp-webhook'),
      'video-orchestrator': port('video-orchestrator'),
      sandbox: port('sandbox'),
    },
    log,
    logDir,
    soakSeconds,
  };
  for (const scenario of selected) {
    const started = Date.now();
    log(`scenario ${scenario.name}`);
    try {
      const result = await scenario.run(ctx);
      const passed = Object.values(result.checks).every(Boolean);
      results.push({ name: scenario.name, passed, durationMs: Date.now() - started, ...result });
      for (const [check, ok] of Object.entries(result.checks)) log(`  ${ok ? 'ok  ' : 'FAIL'} ${check}`);
    } catch (error) {
      results.push({
        name: scenario.name,
        passed: false,
        durationMs: Date.now() - started,
        error: (error as Error).stack,
      });
      log(`  FAIL ${scenario.name}: ${(error as Error).message}`);
    }
  }
} catch (error) {
  results.push({ name: 'setup', passed: false, durationMs: 0, error: (error as Error).stack });
  log(`setup failed: ${(error as Error).message}`);
} finally {
  await cleanup();
}

const passed = results.filter((r) => r.passed).length;
const failed = results.length - passed;
await writeFile(
  join(RESULTS_DIR, 'latest.json'),
  `${JSON.stringify({ at: new Date().toISOString(), soakSeconds, passed, failed, scenarios: results }, null, 2)}\n`,
);
log(`figures: ${join(RESULTS_DIR, 'latest.json')}`);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
