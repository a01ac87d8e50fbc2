import type { StartedSystem } from '../load/runner/start-system.ts';
import type { PrivatePostgres } from './private-postgres.ts';

/** What every scenario gets: the system under test on a private PostgreSQL, and where to log. */
export interface ChaosContext {
  system: StartedSystem;
  postgres: PrivatePostgres;
  /** Base URL of each service and of the sandbox. */
  urls: Record<'voice-bridge' | 'whatsapp-webhook' | 'video-orchestrator' | 'sandbox', string>;
  log: (line: string) => void;
  logDir: string;
  soakSeconds: number;
}

export interface ScenarioResult {
  /** Each named check and whether it held. */
  checks: Record<string, boolean>;
  /** Measured figures, written to the results JSON. */
  figures: Record<string, unknown>;
}

export interface Scenario {
  name: string;
  run(ctx: ChaosContext): Promise<ScenarioResult>;
}
