import type { Hono } from 'hono';
import type { UpgradeWebSocket } from 'hono/ws';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { type Database, type GroupCommitSettings, groupCommitSettings } from '../../shared/db/index.ts';
import { createService } from '../../shared/http/index.ts';
import type { Logger, ServiceMetrics } from '../../shared/observability/index.ts';
import type {
  BreakerOptions,
  BreakerRegistry,
  LimiterPolicy,
  RateLimitPolicy,
} from '../../shared/resilience/index.ts';
import { type AgentSocketFactory, globalAgentSocketFactory, openAgentSession } from './agent-session.ts';
import { createAnswerIntake } from './answer-intake.ts';
import type { VoiceConfig } from './config.ts';
import type { MachineChoice } from './machine-detection.ts';
import {
  type ConversationSettings,
  createStreamRegistry,
  DEFAULT_CONVERSATION,
  type StreamRegistry,
} from './media-bridge.ts';
import { voiceOpenApiDocument } from './openapi.ts';
import { mountCallList } from './routes/call-list.ts';
import { mountCallTranscript } from './routes/call-transcript.ts';
import { mountMachineDetection } from './routes/machine-detection.ts';
import { mountMediaStream } from './routes/media-stream.ts';
import { mountOutboundCalls, type PlacementAttempt } from './routes/outbound-calls.ts';
import { mountProviderWebhooks } from './routes/provider-webhooks.ts';
import type { VoiceEnv } from './routes/twilio-webhook-auth.ts';
import { createStatusIntake } from './status-intake.ts';
import { createVoiceStore } from './store.ts';
import { type CreateCallInput, createTwilioClient, type UpdateCallInput } from './twilio-client.ts';
import { createVoiceMetrics, registerOutcomeGauge } from './voice-observability.ts';

export const SERVICE_NAME = 'voice-bridge';
export const TWILIO_BREAKER = 'twilio-calls';
export const AGENT_BREAKER = 'voice-agent';
export const TWILIO_UPDATE_BREAKER = 'twilio-call-updates';

/** What the app needs to know, independent of where it came from (env on Node or Deno, or a test). */
export interface VoiceAppConfig {
  apiKey: string;
  /** The base URL Twilio reaches us at; webhook and stream URLs are built from it and verified against it. */
  publicUrl: string;
  twilio: {
    apiUrl: string;
    accountSid: string;
    authToken: string;
    fromNumber: string;
    /** Longest one Twilio request may take, beyond the breaker's timeout (a late answer still counts). */
    requestTimeoutMs?: number;
  };
  /** How long a call Twilio may or may not have created waits to be confirmed before it fails. */
  placementConfirmSeconds?: number;
  agent: { url: string; apiKey?: string; connectTimeoutMs: number };
  fallbackMessage: string;
  /** Barge-in, backchannels, language, consent; defaults: interrupt on any speech, no consent question. */
  conversation?: ConversationSettings;
  /** Said when the caller refuses consent, before hanging up. */
  consentRefusedMessage?: string;
  /** Lifetime of the signed Media Streams URL; default 60 s. */
  streamUrlTtlSeconds?: number;
  /** Outbound calls: what to do on a machine unless the request says; unset: no machine detection. */
  machine?: { onMachine?: MachineChoice; message: string };
  rateLimits: {
    outbound: { points: number; durationSeconds: number };
    destination: { points: number; durationSeconds: number };
  };
  trustProxy?: string;
  bodyLimitBytes?: number;
  /** Per-dependency breaker defaults; `BREAKER_TWILIO_CALLS_*` / `BREAKER_VOICE_AGENT_*` env still win. */
  breakers?: { twilio?: BreakerOptions; agent?: BreakerOptions };
  /** Status-callback batching; defaults when omitted (tests). */
  groupCommit?: GroupCommitSettings;
}

export function voiceAppConfig(config: VoiceConfig): VoiceAppConfig {
  return {
    apiKey: config.VOICE_API_KEY,
    publicUrl: config.VOICE_PUBLIC_URL,
    twilio: config.twilio,
    agent: {
      url: config.VOICE_AGENT_URL,
      apiKey: config.VOICE_AGENT_API_KEY,
      connectTimeoutMs: config.VOICE_AGENT_CONNECT_TIMEOUT_MS,
    },
    fallbackMessage: config.VOICE_FALLBACK_MESSAGE,
    placementConfirmSeconds: config.VOICE_PLACEMENT_CONFIRM_S,
    conversation: {
      defaultLanguage: config.VOICE_DEFAULT_LANGUAGE,
      minInterruptionMs: config.VOICE_MIN_INTERRUPTION_MS,
      backchannels: {
        en: config.VOICE_BACKCHANNELS_EN,
        sw: config.VOICE_BACKCHANNELS_SW,
        rw: config.VOICE_BACKCHANNELS_RW,
        fr: config.VOICE_BACKCHANNELS_FR,
      },
      consentPrompt: config.VOICE_CONSENT ? config.VOICE_CONSENT_PROMPT : undefined,
      sessionRolloverMs: config.VOICE_AGENT_SESSION_ROLLOVER_S * 1000 || undefined,
    },
    consentRefusedMessage: config.VOICE_CONSENT_REFUSED_MESSAGE,
    streamUrlTtlSeconds: config.VOICE_STREAM_URL_TTL_S,
    machine: {
      onMachine: config.VOICE_ON_MACHINE === 'off' ? undefined : config.VOICE_ON_MACHINE,
      message: config.VOICE_MACHINE_MESSAGE,
    },
    rateLimits: {
      outbound: {
        points: config.VOICE_OUTBOUND_RATE_POINTS,
        durationSeconds: config.VOICE_OUTBOUND_RATE_DURATION_S,
      },
      destination: {
        points: config.VOICE_DESTINATION_RATE_POINTS,
        durationSeconds: config.VOICE_DESTINATION_RATE_DURATION_S,
      },
    },
    trustProxy: config.TRUST_PROXY,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    groupCommit: groupCommitSettings(config),
  };
}

export interface VoiceAppDeps {
  config: VoiceAppConfig;
  db: Database;
  logger: Logger;
  metrics: ServiceMetrics;
  breakers: BreakerRegistry;
  /** `createRateLimiterFactory(...)` from shared/resilience. */
  limiterFor: (policy: LimiterPolicy) => RateLimiterAbstract;
  /** `@hono/node-ws`'s on Node, `hono/deno`'s on Deno: the same app serves both. */
  upgradeWebSocket: UpgradeWebSocket<unknown>;
  /** For the Twilio REST call; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Opens the socket to the voice agent; defaults to the global WebSocket. */
  createAgentSocket?: AgentSocketFactory;
  /** Live media streams; pass one to close them on shutdown or to watch for leaks. */
  streams?: StreamRegistry;
  clock?: () => Date;
  newId?: () => string;
}

/**
 * The voice bridge as a Hono app: outbound calls, Twilio webhooks and the Media Streams bridge to the
 * AI voice agent. No I/O happens here; everything it talks to arrives in `deps`.
 *
 * @example
 * const app = createApp({ config: voiceAppConfig(config), db, logger, metrics, breakers, limiterFor, upgradeWebSocket });
 */
export function createApp(deps: VoiceAppDeps): Hono<VoiceEnv> {
  const { config, metrics, breakers } = deps;
  const store = createVoiceStore(deps.db);
  const clock = deps.clock ?? (() => new Date());
  const newId = deps.newId ?? (() => crypto.randomUUID());
  const streams = deps.streams ?? createStreamRegistry();
  const voiceMetrics = createVoiceMetrics(metrics.registry);
  registerOutcomeGauge(metrics.registry, () => store.countOutcomes());

  const twilio = createTwilioClient({ ...config.twilio, fetch: deps.fetch });
  // The request is kept in `sent`: when the breaker's timeout fires first, Twilio's late answer still counts.
  const twilioBreaker = breakers.create(
    TWILIO_BREAKER,
    (input: CreateCallInput, sent: PlacementAttempt['sent']) => {
      sent.request = twilio.createCall(input);
      return sent.request;
    },
    { timeout: 5000, ...config.breakers?.twilio },
  );
  const twilioUpdateBreaker = breakers.create(
    TWILIO_UPDATE_BREAKER,
    (callSid: string, input: UpdateCallInput) => twilio.updateCall(callSid, input),
    { timeout: 5000, ...config.breakers?.twilio },
  );
  const createSocket = deps.createAgentSocket ?? globalAgentSocketFactory;
  const agentBreaker = breakers.create(
    AGENT_BREAKER,
    (signal: AbortSignal, call: { agent: string | null; language: string }) =>
      openAgentSession({ ...config.agent, ...call, createSocket, signal }),
    // The session's own connect timeout fires first, so the breaker never abandons a socket mid-connect.
    { timeout: config.agent.connectTimeoutMs + 1000, ...config.breakers?.agent },
  );
  // opossum keeps its resolved options (env overrides included) on the instance; its typings omit them.
  const twilioBreakerOptions = (
    twilioBreaker as unknown as { options: { resetTimeout?: number; timeout?: number } }
  ).options;
  const resetTimeoutMs = twilioBreakerOptions.resetTimeout ?? 30_000;

  const app = createService<VoiceEnv>({
    name: SERVICE_NAME,
    db: deps.db,
    logger: deps.logger,
    metrics,
    breakers,
    bodyLimitBytes: config.bodyLimitBytes,
    openApi: voiceOpenApiDocument({ publicUrl: config.publicUrl }),
  });

  const outboundPolicy: RateLimitPolicy = {
    name: 'voice-outbound',
    points: config.rateLimits.outbound.points,
    duration: config.rateLimits.outbound.durationSeconds,
    key: 'apiKey',
  };
  const destinationPolicy: LimiterPolicy = {
    name: 'voice-destination',
    points: config.rateLimits.destination.points,
    duration: config.rateLimits.destination.durationSeconds,
  };

  mountOutboundCalls(app, {
    store,
    apiKey: config.apiKey,
    publicUrl: config.publicUrl,
    fromNumber: config.twilio.fromNumber,
    placeCall: (input) => {
      const sent: PlacementAttempt['sent'] = {};
      return { answer: twilioBreaker.fire(input, sent), sent };
    },
    placementConfirmSeconds: config.placementConfirmSeconds,
    retryAfterSeconds: Math.max(1, Math.ceil(resetTimeoutMs / 1000)),
    endpointLimit: { policy: outboundPolicy, limiter: deps.limiterFor(outboundPolicy) },
    destinationLimit: { name: destinationPolicy.name, limiter: deps.limiterFor(destinationPolicy) },
    metrics,
    trustProxy: config.trustProxy,
    newId,
    // A concurrent retry waits as long as the first request can take to place the call, and a little more.
    placementWaitMs: (twilioBreakerOptions.timeout || 5000) + 2000,
    defaultOnMachine: config.machine?.onMachine,
  });

  mountCallList(app, { store, apiKey: config.apiKey });

  mountMachineDetection(app, {
    store,
    authToken: config.twilio.authToken,
    publicUrl: config.publicUrl,
    metrics,
    updateCall: (callSid, input) => twilioUpdateBreaker.fire(callSid, input),
    defaultMessage: config.machine?.message ?? 'Please call us back.',
  });

  mountCallTranscript(app, { store, apiKey: config.apiKey });

  mountProviderWebhooks(app, {
    store,
    statusIntake: createStatusIntake({ db: deps.db, metrics, groupCommit: config.groupCommit }),
    answerIntake: createAnswerIntake({ db: deps.db, metrics, groupCommit: config.groupCommit }),
    authToken: config.twilio.authToken,
    publicUrl: config.publicUrl,
    metrics,
    fallbackMessage: config.fallbackMessage,
    consentRefusedMessage: config.consentRefusedMessage ?? 'Goodbye.',
    streamUrlTtlSeconds: config.streamUrlTtlSeconds ?? 60,
    agentUnavailable: () => agentBreaker.opened,
    clock,
    newId,
  });

  mountMediaStream(app, {
    store,
    authToken: config.twilio.authToken,
    publicUrl: config.publicUrl,
    metrics,
    voiceMetrics,
    logger: deps.logger,
    upgradeWebSocket: deps.upgradeWebSocket,
    streams,
    clock,
    newId,
    bridge: {
      logger: deps.logger,
      conversation: config.conversation ?? DEFAULT_CONVERSATION,
      connectAgent: (signal, call) => agentBreaker.fire(signal, call),
    },
  });

  return app;
}
