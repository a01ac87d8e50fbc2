import { z } from 'zod';
import { baseUrlVariable, CONSOLE, SERVICES } from '../services/manifest.js';
import {
  envEnum,
  envInt,
  envOptionalPort,
  envOptionalString,
  envPort,
  envSecret,
  envString,
  loadConfig,
  refuseDevSecretsWhenLive,
} from '../shared/config/index.ts';

/** Public dev defaults (the same the services use when their keys are unset): never deploy with them. */
export const DEV_OPERATOR_API_KEY = 'dev-operator-api-key';
const DEV_SERVICE_KEYS = {
  'voice-bridge': 'dev-voice-api-key',
  'whatsapp-webhook': 'dev-whatsapp-api-key',
  'video-orchestrator': 'dev-video-api-key',
} as const;
const SERVICE_KEY_VARIABLES = {
  'voice-bridge': 'VOICE_API_KEY',
  'whatsapp-webhook': 'WHATSAPP_API_KEY',
  'video-orchestrator': 'VIDEO_API_KEY',
} as const;

const httpUrl = (fallback: string) =>
  z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).default(fallback),
  );

const consoleEnvShape = {
  LOG_LEVEL: envEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  HOST: envString('0.0.0.0'),
  SHUTDOWN_GRACE_MS: envInt(10_000, { min: 0 }),
  PORT: envPort(CONSOLE.port),
  CONSOLE_PORT: envOptionalPort(),
  /** The key an operator signs in with; the services' own keys never leave this server. */
  OPERATOR_API_KEY: envSecret(DEV_OPERATOR_API_KEY),
  /** How often the live pages re-read the services' list endpoints. */
  CONSOLE_POLL_MS: envInt(1000, { min: 100, max: 60_000 }),
  TRUST_PROXY: envOptionalString(),
};

/** The console's own settings plus, per service of the manifest, BASE_<prefix>_URL and its API key. */
const fullShape = {
  ...consoleEnvShape,
  ...(Object.fromEntries(
    SERVICES.flatMap((service) => [
      [baseUrlVariable(service), httpUrl(`http://127.0.0.1:${service.port}`)],
      [SERVICE_KEY_VARIABLES[service.name], envSecret(DEV_SERVICE_KEYS[service.name])],
    ]),
  ) as Record<string, z.ZodType<string>>),
};

/** Dev keys are public: with NODE_ENV=production the console refuses to start on them. */
export const ConsoleEnvSchema = z
  .object(fullShape)
  .superRefine(refuseDevSecretsWhenLive(fullShape, () => null));

export interface ServiceTarget {
  baseUrl: string;
  apiKey: string;
}

export interface ConsoleSettings {
  operatorKey: string;
  pollMs: number;
  /** Header naming the client IP behind a trusted proxy (TRUST_PROXY), for the sign-in limit. */
  trustProxy?: string;
  /** How often the health page's history scrapes each service's /metrics (default 2 s). */
  metricsIntervalMs?: number;
  services: Record<(typeof SERVICES)[number]['name'], ServiceTarget>;
}

export interface ConsoleConfig extends ConsoleSettings {
  port: number;
  host: string;
  logLevel: string;
  graceMs: number;
}

export function consoleConfigFromEnv(env?: Record<string, string | undefined>): ConsoleConfig {
  const parsed = loadConfig('console', ConsoleEnvSchema, env) as z.infer<
    z.ZodObject<typeof consoleEnvShape>
  > &
    Record<string, unknown>;
  const services = Object.fromEntries(
    SERVICES.map((service) => [
      service.name,
      {
        baseUrl: String(parsed[baseUrlVariable(service)]).replace(/\/$/, ''),
        apiKey: String(parsed[SERVICE_KEY_VARIABLES[service.name]]),
      },
    ]),
  ) as ConsoleSettings['services'];
  return {
    port: parsed.CONSOLE_PORT ?? parsed.PORT,
    host: parsed.HOST,
    logLevel: parsed.LOG_LEVEL,
    graceMs: parsed.SHUTDOWN_GRACE_MS,
    operatorKey: parsed.OPERATOR_API_KEY,
    pollMs: parsed.CONSOLE_POLL_MS,
    trustProxy: parsed.TRUST_PROXY,
    services,
  };
}
