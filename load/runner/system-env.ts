import { portVariable, SANDBOX, SERVICES, type ServiceName } from '../../services/manifest.js';
import { LOAD_DEFAULTS } from '../common/config.js';
import type { ProcessSpec } from './system.ts';

/** A port for the sandbox and for each service of services/manifest.js. */
export type SystemPorts = Record<'sandbox' | ServiceName, number>;

/**
 * Rate limits for the system under load, set explicitly so the limiter is not what the load measures:
 * per-key and per-route limits far above what the profile sends, while the per-destination toll-fraud
 * guard keeps a small policy that the ordinary load (random destinations) never reaches and the
 * `rate-limit` scenario deliberately exceeds. Names are the services' config variables.
 */
export const LOAD_RATE_LIMITS = {
  VOICE_OUTBOUND_RATE_POINTS: '1000000',
  VOICE_OUTBOUND_RATE_DURATION_S: '60',
  VOICE_DESTINATION_RATE_POINTS: '5',
  VOICE_DESTINATION_RATE_DURATION_S: '3600',
  WHATSAPP_MESSAGES_RATE_LIMIT: '1000000',
  WHATSAPP_MESSAGES_RATE_WINDOW_SECONDS: '60',
  VIDEO_RATE_POINTS: '1000000',
  VIDEO_RATE_DURATION_S: '60',
  VIDEO_READ_RATE_POINTS: '1000000',
  VIDEO_READ_RATE_DURATION_S: '60',
} as const;

// Variables of the developer's shell that must not leak into the system under load: ports and URLs
// the load sets itself, and credentials that would switch a service from the sandbox to a provider.
const STRIPPED = [
  /^PORT$/,
  /_PORT$/,
  /^DATABASE_URL$/,
  /^TWILIO_/,
  /^WHATSAPP_/,
  /^VOICE_/,
  /^VIDEO_/,
  /^GRAPH_API_URL$/,
  /^AGENT_URL$/,
  /^SUPABASE_/,
  /^STORAGE_DRIVER$/,
  /^DATA_DIR$/,
];

function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !STRIPPED.some((pattern) => pattern.test(key))) env[key] = value;
  }
  return env;
}

/**
 * Every process of the system as `npm run load:ci` starts it: the provider sandbox, the services of
 * services/manifest.js and their workers, on loopback ports chosen for this run, one PostgreSQL
 * database, quiet logs (LOG_LEVEL=warn: access logs would cost the CPU the load measures).
 */
export function systemProcesses(options: {
  ports: SystemPorts;
  databaseUrl: string;
  dataDir: string;
  rateLimitStore: string;
  logLevel: string;
}): ProcessSpec[] {
  const { ports } = options;
  const url = (port: number) => `http://127.0.0.1:${port}`;
  const sandboxUrl = url(ports.sandbox);
  const common: Record<string, string> = {
    ...inheritedEnv(),
    NODE_ENV: 'production',
    LOG_LEVEL: options.logLevel,
    HOST: '127.0.0.1',
    DATABASE_URL: options.databaseUrl,
    DATA_DIR: options.dataDir,
    RATE_LIMIT_STORE: options.rateLimitStore,
    SHUTDOWN_GRACE_MS: '5000',
    ...LOAD_RATE_LIMITS,
    VOICE_API_KEY: LOAD_DEFAULTS.VOICE_API_KEY,
    WHATSAPP_APP_SECRET: LOAD_DEFAULTS.WHATSAPP_APP_SECRET,
    WHATSAPP_API_KEY: LOAD_DEFAULTS.WHATSAPP_API_KEY,
    WHATSAPP_PHONE_NUMBER_ID: LOAD_DEFAULTS.WHATSAPP_PHONE_NUMBER_ID,
    VIDEO_API_KEY: LOAD_DEFAULTS.VIDEO_API_KEY,
    // NODE_ENV=production refuses the public dev defaults of the secrets the load does not use either.
    WHATSAPP_VERIFY_TOKEN: 'load-whatsapp-verify-token-0123456789',
    CALLBACK_SIGNING_SECRET: 'whsec_bG9hZC12aWRlby1jYWxsYmFjay1zaWduaW5nLWtleQ==',
  };
  // What each service needs beyond the common settings to run against the sandbox under load.
  const serviceEnv: Record<ServiceName, Record<string, string>> = {
    'voice-bridge': {
      VOICE_PUBLIC_URL: url(ports['voice-bridge']),
      // Sandbox credentials (TWILIO_ACCOUNT_SID/TOKEN unset) against the sandbox's Twilio API.
      TWILIO_API_URL: sandboxUrl,
      VOICE_AGENT_URL: `ws://127.0.0.1:${ports.sandbox}/agent/realtime`,
    },
    'whatsapp-webhook': {
      WHATSAPP_SANDBOX_URL: sandboxUrl,
      WHATSAPP_MEDIA_DOWNLOAD: 'false',
    },
    'video-orchestrator': {
      VIDEO_PUBLIC_URL: url(ports['video-orchestrator']),
      // ffmpeg shares two cores with everything else: one render at a time.
      RENDER_CONCURRENCY: '1',
      RENDER_FFMPEG_THREADS: '1',
      RENDER_X264_PRESET: 'ultrafast',
    },
  };
  const sandbox: ProcessSpec = {
    name: SANDBOX.name,
    entry: SANDBOX.entry,
    env: {
      ...common,
      [portVariable(SANDBOX)]: String(ports.sandbox),
      SANDBOX_HOST: '127.0.0.1',
      // Where the Graph sandbox posts its signed `sent → delivered → read` statuses.
      SANDBOX_WHATSAPP_WEBHOOK_URL: `${url(ports['whatsapp-webhook'])}/webhook`,
    },
    healthUrl: `${sandboxUrl}/health`,
  };
  const services = SERVICES.flatMap((service): ProcessSpec[] => {
    const port = String(ports[service.name]);
    const env = { ...common, PORT: port, [portVariable(service)]: port, ...serviceEnv[service.name] };
    const api: ProcessSpec = {
      name: service.name,
      service: service.name,
      entry: service.entry,
      env,
      healthUrl: `${url(ports[service.name])}/health`,
    };
    if (!service.worker) return [api];
    const worker = { ...service.worker, env: { ...env, PORT: '0', [portVariable(service)]: '0' } };
    return [api, worker];
  });
  return [sandbox, ...services];
}
