import { createHash } from 'node:crypto';
import type { Context, Hono } from 'hono';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import {
  ProblemError,
  parseInput,
  problem,
  readJsonBody,
  requireBearer,
} from '../../../shared/http/index.ts';
import type { ServiceMetrics } from '../../../shared/observability/index.ts';
import {
  consumeOrThrow,
  DependencyError,
  type RateLimitPolicy,
  rateLimit,
} from '../../../shared/resilience/index.ts';
import { detectionModeFor, type MachineChoice } from '../machine-detection.ts';
import { CallIdParams, OutboundCallHeaders, OutboundCallRequest } from '../schemas.ts';
import type { CallRecord, VoiceStore } from '../store.ts';
import type { CreateCallInput, TwilioCallResource } from '../twilio-client.ts';
import type { VoiceEnv } from './twilio-webhook-auth.ts';

/** Status callbacks we ask Twilio for; `answered` arrives as CallStatus `in-progress`. */
export const STATUS_CALLBACK_EVENTS = ['initiated', 'ringing', 'answered', 'completed'] as const;

export interface OutboundCallsOptions {
  store: VoiceStore;
  apiKey: string;
  publicUrl: string;
  fromNumber: string;
  /** Creates the call at Twilio behind the `twilio-calls` breaker. */
  placeCall: (input: CreateCallInput) => Promise<TwilioCallResource>;
  /** Seconds a client should wait once the provider is unavailable (the breaker's reset timeout). */
  retryAfterSeconds: number;
  endpointLimit: { policy: RateLimitPolicy; limiter: RateLimiterAbstract };
  destinationLimit: { name: string; limiter: RateLimiterAbstract };
  metrics: ServiceMetrics;
  trustProxy?: string;
  newId: () => string;
  /** What to do when a machine answers, unless the request says; undefined: no machine detection. */
  defaultOnMachine?: MachineChoice;
}

export function callView(call: CallRecord) {
  return {
    id: call.id,
    direction: call.direction,
    providerCallSid: call.providerCallSid,
    status: call.status,
    to: call.to,
    from: call.from,
    agent: call.agent,
    metadata: call.metadata,
    failureReason: call.failureReason,
    outcome: call.outcome,
    answeredBy: call.answeredBy,
    machineAction: call.machineAction,
    aiLegEndedBy: call.aiLegEndedBy,
    consent: call.consent && {
      decision: call.consent,
      via: call.consentVia,
      at: call.consentAt ? new Date(call.consentAt).toISOString() : null,
    },
    durationSeconds: call.durationSeconds,
    answeredAt: call.answeredAt?.toISOString() ?? null,
    endedAt: call.endedAt?.toISOString() ?? null,
    createdAt: call.createdAt.toISOString(),
    updatedAt: call.updatedAt.toISOString(),
  };
}

interface PlacementFailure {
  status: 422 | 502 | 503;
  title: string;
  reason: string;
  code?: string | number;
}

/** A call is time-critical: whatever went wrong, it is failed now and never retried behind the caller's back. */
function classifyPlacementError(error: unknown): PlacementFailure {
  const code = (error as { code?: string | number }).code;
  if (code === 'EOPENBREAKER') {
    return { status: 503, title: 'Service Unavailable', reason: 'provider unavailable: breaker open', code };
  }
  if (code === 'ETIMEDOUT' && !(error instanceof DependencyError)) {
    return { status: 503, title: 'Service Unavailable', reason: 'provider unavailable: timed out', code };
  }
  if (error instanceof DependencyError && error.status !== undefined && !error.retryable) {
    // 401/403/404: our account or configuration is wrong, not the caller's request.
    if ([401, 403, 404].includes(error.status)) {
      return {
        status: 502,
        title: 'Bad Gateway',
        reason: `provider refused our credentials: ${error.message}`,
        code,
      };
    }
    return {
      status: 422,
      title: 'Unprocessable Content',
      reason: `provider rejected the call: ${error.message}`,
      code,
    };
  }
  return {
    status: 503,
    title: 'Service Unavailable',
    reason: `provider unavailable: ${(error as Error).message}`,
    code: code ?? (error as { status?: number }).status,
  };
}

const requestHash = (input: unknown) => createHash('sha256').update(JSON.stringify(input)).digest('hex');

/**
 * POST /calls/outbound and GET /calls/:id. The call is stored (`queued`) before Twilio hears of it, so
 * every attempt is on record even when the provider is down.
 */
export function mountOutboundCalls(app: Hono<VoiceEnv>, options: OutboundCallsOptions): void {
  const { store } = options;
  const base = options.publicUrl.replace(/\/+$/, '');
  const auth = requireBearer(options.apiKey);
  const endpointLimit = rateLimit({
    policy: options.endpointLimit.policy,
    limiter: options.endpointLimit.limiter,
    metrics: options.metrics,
    trustProxy: options.trustProxy,
  });

  const replay = (c: Context<VoiceEnv>, call: CallRecord, storedHash: string | null, hash: string) => {
    if (storedHash && storedHash !== hash) {
      throw new ProblemError({
        status: 422,
        title: 'Unprocessable Content',
        detail: 'this Idempotency-Key was used with a different request',
        errors: [{ field: 'headers.idempotency-key', message: 'reused with a different body' }],
      });
    }
    return c.json(callView(call), 200, { 'Idempotent-Replayed': 'true', Location: `/calls/${call.id}` });
  };

  app.post('/calls/outbound', auth, endpointLimit, async (c) => {
    const headers = parseInput(
      OutboundCallHeaders,
      { 'idempotency-key': c.req.header('idempotency-key') },
      'headers',
    );
    const input = await readJsonBody(c, OutboundCallRequest);
    const from = input.from ?? options.fromNumber;
    const idempotencyKey = headers['idempotency-key'];
    const hash = requestHash({
      to: input.to,
      from,
      agent: input.agent ?? null,
      metadata: input.metadata ?? {},
      ...(input.onMachine ? { onMachine: input.onMachine } : {}),
      ...(input.machineMessage ? { machineMessage: input.machineMessage } : {}),
    });
    const onMachine = input.onMachine ?? options.defaultOnMachine;

    if (idempotencyKey) {
      const existing = await store.findByIdempotencyKey(idempotencyKey);
      if (existing) return replay(c, existing.call, existing.requestHash, hash);
    }
    // Toll-fraud guard: a few calls per destination per window, counted only for calls we would place.
    await consumeOrThrow(options.destinationLimit.limiter, `to:${input.to}`, options.destinationLimit.name, {
      metrics: options.metrics,
    });

    const id = options.newId();
    const stored = await store.createOutboundCall({
      id,
      to: input.to,
      from,
      agent: input.agent,
      metadata: input.metadata,
      idempotencyKey,
      requestHash: idempotencyKey ? hash : undefined,
    });
    // Lost a race with the same key: the winner places the call.
    if (!stored.created) return replay(c, stored.call, stored.requestHash, hash);

    try {
      const resource = await options.placeCall({
        to: input.to,
        from,
        url: `${base}/webhooks/voice/answer?callId=${id}`,
        statusCallback: `${base}/webhooks/voice/status?callId=${id}`,
        statusCallbackEvents: STATUS_CALLBACK_EVENTS,
        machineDetection: onMachine && {
          mode: detectionModeFor(onMachine),
          callbackUrl: `${base}/webhooks/voice/amd?${new URLSearchParams({
            callId: id,
            onMachine,
            ...(input.machineMessage ? { message: input.machineMessage } : {}),
          })}`,
        },
      });
      const call = await store.markProviderAccepted(id, resource.sid, resource.status);
      return c.json(callView(call), 201, { Location: `/calls/${id}` });
    } catch (error) {
      const failure = classifyPlacementError(error);
      const call = await store.markPlacementFailed(id, failure.reason, { code: failure.code ?? null });
      c.get('logger').warn({ callId: id, reason: failure.reason }, 'outbound call not placed');
      return problem(c, {
        status: failure.status,
        title: failure.title,
        detail: failure.reason,
        headers: failure.status === 503 ? { 'Retry-After': String(options.retryAfterSeconds) } : undefined,
        extensions: { callId: call.id, callStatus: call.status, providerCode: failure.code ?? null },
      });
    }
  });

  app.get('/calls/:id', auth, async (c) => {
    const { id } = parseInput(CallIdParams, c.req.param(), 'params');
    const call = await store.getCall(id);
    if (!call) return problem(c, { status: 404, title: 'Not Found', detail: `no call ${id}` });
    const [events, transcript, turnLatency] = await Promise.all([
      store.listEvents(id),
      store.listTranscript(id),
      store.turnLatency(id),
    ]);
    return c.json({
      ...callView(call),
      turnLatency,
      events: events.map((e) => ({
        source: e.source,
        type: e.type,
        sequenceNumber: e.sequenceNumber,
        occurredAt: e.occurredAt.toISOString(),
        callDuration: e.callDuration,
        detail: e.detail,
      })),
      transcript: transcript.map((t) => ({ role: t.role, text: t.text, at: new Date(t.at).toISOString() })),
    });
  });
}
