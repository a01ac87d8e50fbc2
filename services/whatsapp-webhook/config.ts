import { z } from 'zod';
import {
  baseEnvShape,
  envBool,
  envInt,
  envList,
  envOptionalPort,
  envOptionalString,
  envPort,
  envSecret,
  envString,
  envUrl,
  loadConfig,
  refuseDevSecretsWhenLive,
  runtimeEnv,
} from '../../shared/config/index.ts';
import { type GroupCommitSettings, groupCommitSettings } from '../../shared/db/index.ts';
import type { QueueRetrySettings } from './jobs.ts';
import { type RouteConfig, RoutesJson, resolveRoutes } from './route-config.ts';

/**
 * Development defaults so `npm start` runs with no variables and no Meta account. They are public
 * (in this file and the README): set real values in every deployed environment.
 */
export const DEV_DEFAULTS = {
  verifyToken: 'dev-whatsapp-verify-token',
  appSecret: 'dev-whatsapp-app-secret',
  apiKey: 'dev-whatsapp-api-key',
  phoneNumberId: '100000000000001',
  sandboxUrl: 'http://127.0.0.1:4010',
  sandboxAccessToken: 'sandbox-access-token',
} as const;

const whatsAppEnvShape = {
  ...baseEnvShape,
  PORT: envPort(8080),
  /** Wins over PORT when several services share one environment. */
  WHATSAPP_PORT: envOptionalPort(),
  WHATSAPP_VERIFY_TOKEN: envSecret(DEV_DEFAULTS.verifyToken),
  WHATSAPP_APP_SECRET: envSecret(DEV_DEFAULTS.appSecret),
  WHATSAPP_API_KEY: envSecret(DEV_DEFAULTS.apiKey),
  /** Set: outbound goes to the real Graph API. Unset: to the local provider sandbox. */
  WHATSAPP_ACCESS_TOKEN: envOptionalString(),
  WHATSAPP_PHONE_NUMBER_ID: envString(DEV_DEFAULTS.phoneNumberId),
  /** Default https://graph.facebook.com with an access token, else WHATSAPP_SANDBOX_URL. */
  GRAPH_API_URL: envUrl(),
  GRAPH_API_VERSION: envString('v21.0'),
  GRAPH_API_TIMEOUT_MS: envInt(10_000, { min: 100, max: 60_000 }),
  WHATSAPP_SANDBOX_URL: envString(DEV_DEFAULTS.sandboxUrl),
  AGENT_URL: envUrl(),
  AGENT_TIMEOUT_MS: envInt(8_000, { min: 100, max: 60_000 }),
  /** Meta sends up to 3 MB per delivery. */
  WHATSAPP_WEBHOOK_BODY_LIMIT_BYTES: envInt(3 * 1024 * 1024, { min: 1024 }),
  /** POST /messages requests per API key per window. */
  WHATSAPP_MESSAGES_RATE_LIMIT: envInt(600, { min: 1 }),
  WHATSAPP_MESSAGES_RATE_WINDOW_SECONDS: envInt(60, { min: 1 }),
  /** Graph API sends per second per phone_number_id (Meta's default throughput is 80). */
  WHATSAPP_SEND_PER_SECOND: envInt(80, { min: 1 }),
  /** Bad webhook signatures allowed per IP per window before the IP is blocked. */
  WHATSAPP_SIGNATURE_FAILURE_LIMIT: envInt(20, { min: 1 }),
  WHATSAPP_SIGNATURE_FAILURE_WINDOW_SECONDS: envInt(60, { min: 1 }),
  WHATSAPP_SIGNATURE_BLOCK_SECONDS: envInt(300, { min: 0 }),
  WHATSAPP_SEND_RETRY_LIMIT: envInt(10, { min: 0, max: 100 }),
  WHATSAPP_SEND_RETRY_DELAY_SECONDS: envInt(5, { min: 1 }),
  WHATSAPP_SEND_RETRY_DELAY_MAX_SECONDS: envInt(600, { min: 1 }),
  WHATSAPP_MEDIA_DOWNLOAD: envBool(true),
  WHATSAPP_MEDIA_MAX_BYTES: envInt(100 * 1024 * 1024, { min: 1024 }),
  /** Default `${DATA_DIR}/whatsapp-webhook/media`. */
  WHATSAPP_MEDIA_DIR: envOptionalString(),
  WHATSAPP_WORKER_CONCURRENCY: envInt(4, { min: 1, max: 64 }),
  /** Free-form messages go only within this many hours of the contact's last message (Meta: 24). */
  WHATSAPP_SERVICE_WINDOW_HOURS: envInt(24, { min: 1, max: 24 * 7 }),
  /** Refuse free-form messages outside the window here (422) instead of letting Meta fail them. */
  WHATSAPP_ENFORCE_SERVICE_WINDOW: envBool(true),
  /** An approved template sent in place of a free-form message outside the window, when the request allows it. */
  WHATSAPP_WINDOW_TEMPLATE_NAME: envOptionalString(),
  WHATSAPP_WINDOW_TEMPLATE_LANGUAGE: envString('en'),
  /** Whole messages (any case) that opt a contact out, and back in. */
  WHATSAPP_OPT_OUT_KEYWORDS: envList(['stop', 'unsubscribe', 'hagarika', 'acha', 'arrêter', 'arreter']),
  WHATSAPP_OPT_IN_KEYWORDS: envList(['start', 'subscribe', 'tangira', 'anza', 'commencer']),
  WHATSAPP_OPT_OUT_CONFIRMATION: envString(
    'You will no longer receive messages from us. Reply START to receive them again.',
  ),
  /** A contact's messages this close together go to the agent as one call (0: each alone). */
  WHATSAPP_AGENT_DEBOUNCE_MS: envInt(1500, { min: 0, max: 60_000 }),
  /** The longest a contact's first unanswered message waits while they keep typing. */
  WHATSAPP_AGENT_MAX_WAIT_MS: envInt(6000, { min: 0, max: 300_000 }),
  /** Templates that may still go to opted-out contacts (e.g. a payment receipt). */
  WHATSAPP_OPT_OUT_ALLOWED_TEMPLATES: envList([]),
  /** Downstream handlers by reply id, keyword or sticky conversation: a JSON array (see route-config.ts). */
  WHATSAPP_ROUTES: z.preprocess((v) => (v === '' ? undefined : v), RoutesJson.optional()),
  WHATSAPP_ROUTE_TIMEOUT_MS: envInt(10_000, { min: 100, max: 60_000 }),
  /** Attempts after the first before a handler delivery becomes a dead letter. */
  WHATSAPP_ROUTE_RETRY_LIMIT: envInt(8, { min: 0, max: 50 }),
  WHATSAPP_ROUTE_RETRY_DELAY_SECONDS: envInt(10, { min: 1 }),
  WHATSAPP_ROUTE_RETRY_DELAY_MAX_SECONDS: envInt(3600, { min: 1 }),
  /** How long a claimed conversation stays with its route after the latest message (unless a route or answer says). */
  WHATSAPP_ROUTE_STICKY_TTL_SECONDS: envInt(1800, { min: 1, max: 7 * 86_400 }),
};

export const WhatsAppEnvSchema = z
  .object(whatsAppEnvShape)
  .superRefine(
    refuseDevSecretsWhenLive(whatsAppEnvShape, (env) =>
      env.WHATSAPP_ACCESS_TOKEN ? 'WHATSAPP_ACCESS_TOKEN is set' : null,
    ),
  );
export type WhatsAppEnv = z.infer<typeof WhatsAppEnvSchema>;

export interface ConversationSettings {
  serviceWindowHours: number;
  enforceServiceWindow: boolean;
  /** The template used outside the window (and after a 131047 failure), when configured. */
  windowTemplate: { name: string; language: string } | null;
  optOutKeywords: string[];
  optInKeywords: string[];
  optOutConfirmation: string;
  optOutAllowedTemplates: string[];
  agentDebounceMs: number;
  agentMaxWaitMs: number;
}

export interface RoutingSettings {
  routes: RouteConfig[];
  /** Handler deliveries: pg-boss retries with exponential backoff, then a dead letter. */
  retry: QueueRetrySettings;
}

/** What the app and workers need, in plain terms (tests build it directly). */
export interface WhatsAppSettings {
  verifyToken: string;
  appSecret: string;
  apiKey: string;
  phoneNumberId: string;
  graph: { baseUrl: string; version: string; accessToken: string; timeoutMs: number; sandbox: boolean };
  agent: { url: string; timeoutMs: number } | null;
  webhookBodyLimitBytes: number;
  bodyLimitBytes: number;
  trustProxy?: string;
  messagesRateLimit: { points: number; duration: number };
  sendPerSecond: number;
  signatureGuard: { points: number; duration: number; blockDuration: number };
  sendRetry: { retryLimit: number; retryDelaySeconds: number; retryDelayMaxSeconds: number };
  media: { enabled: boolean; dir: string; maxBytes: number };
  workerConcurrency: number;
  conversations: ConversationSettings;
  routing: RoutingSettings;
  /** Webhook intake batching; defaults when omitted (tests). */
  groupCommit?: GroupCommitSettings;
}

export function settingsFromEnv(env: WhatsAppEnv): WhatsAppSettings {
  const live = env.WHATSAPP_ACCESS_TOKEN !== undefined;
  return {
    verifyToken: env.WHATSAPP_VERIFY_TOKEN,
    appSecret: env.WHATSAPP_APP_SECRET,
    apiKey: env.WHATSAPP_API_KEY,
    phoneNumberId: env.WHATSAPP_PHONE_NUMBER_ID,
    graph: {
      baseUrl: env.GRAPH_API_URL ?? (live ? 'https://graph.facebook.com' : env.WHATSAPP_SANDBOX_URL),
      version: env.GRAPH_API_VERSION,
      accessToken: env.WHATSAPP_ACCESS_TOKEN ?? DEV_DEFAULTS.sandboxAccessToken,
      timeoutMs: env.GRAPH_API_TIMEOUT_MS,
      sandbox: !live,
    },
    agent: env.AGENT_URL ? { url: env.AGENT_URL, timeoutMs: env.AGENT_TIMEOUT_MS } : null,
    webhookBodyLimitBytes: env.WHATSAPP_WEBHOOK_BODY_LIMIT_BYTES,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    trustProxy: env.TRUST_PROXY,
    messagesRateLimit: {
      points: env.WHATSAPP_MESSAGES_RATE_LIMIT,
      duration: env.WHATSAPP_MESSAGES_RATE_WINDOW_SECONDS,
    },
    sendPerSecond: env.WHATSAPP_SEND_PER_SECOND,
    signatureGuard: {
      points: env.WHATSAPP_SIGNATURE_FAILURE_LIMIT,
      duration: env.WHATSAPP_SIGNATURE_FAILURE_WINDOW_SECONDS,
      blockDuration: env.WHATSAPP_SIGNATURE_BLOCK_SECONDS,
    },
    sendRetry: {
      retryLimit: env.WHATSAPP_SEND_RETRY_LIMIT,
      retryDelaySeconds: env.WHATSAPP_SEND_RETRY_DELAY_SECONDS,
      retryDelayMaxSeconds: env.WHATSAPP_SEND_RETRY_DELAY_MAX_SECONDS,
    },
    media: {
      enabled: env.WHATSAPP_MEDIA_DOWNLOAD,
      dir: env.WHATSAPP_MEDIA_DIR ?? `${env.DATA_DIR}/whatsapp-webhook/media`,
      maxBytes: env.WHATSAPP_MEDIA_MAX_BYTES,
    },
    workerConcurrency: env.WHATSAPP_WORKER_CONCURRENCY,
    conversations: {
      serviceWindowHours: env.WHATSAPP_SERVICE_WINDOW_HOURS,
      enforceServiceWindow: env.WHATSAPP_ENFORCE_SERVICE_WINDOW,
      windowTemplate: env.WHATSAPP_WINDOW_TEMPLATE_NAME
        ? { name: env.WHATSAPP_WINDOW_TEMPLATE_NAME, language: env.WHATSAPP_WINDOW_TEMPLATE_LANGUAGE }
        : null,
      optOutKeywords: env.WHATSAPP_OPT_OUT_KEYWORDS,
      optInKeywords: env.WHATSAPP_OPT_IN_KEYWORDS,
      optOutConfirmation: env.WHATSAPP_OPT_OUT_CONFIRMATION,
      optOutAllowedTemplates: env.WHATSAPP_OPT_OUT_ALLOWED_TEMPLATES,
      agentDebounceMs: env.WHATSAPP_AGENT_DEBOUNCE_MS,
      agentMaxWaitMs: Math.max(env.WHATSAPP_AGENT_MAX_WAIT_MS, env.WHATSAPP_AGENT_DEBOUNCE_MS),
    },
    routing: {
      routes: resolveRoutes(env.WHATSAPP_ROUTES ?? [], {
        stickyTtlSeconds: env.WHATSAPP_ROUTE_STICKY_TTL_SECONDS,
        timeoutMs: env.WHATSAPP_ROUTE_TIMEOUT_MS,
      }),
      retry: {
        retryLimit: env.WHATSAPP_ROUTE_RETRY_LIMIT,
        retryDelaySeconds: env.WHATSAPP_ROUTE_RETRY_DELAY_SECONDS,
        retryDelayMaxSeconds: env.WHATSAPP_ROUTE_RETRY_DELAY_MAX_SECONDS,
      },
    },
    groupCommit: groupCommitSettings(env),
  };
}

/** Reads and validates the environment (every bad variable reported at once). */
export function loadWhatsAppConfig(env: Record<string, string | undefined> = runtimeEnv()) {
  const parsed = loadConfig('whatsapp-webhook', WhatsAppEnvSchema, env);
  return { env: parsed, settings: settingsFromEnv(parsed), port: parsed.WHATSAPP_PORT ?? parsed.PORT };
}
