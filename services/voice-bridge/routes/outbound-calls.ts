import { createHash } from 'node:crypto';
import type { Context, Hono } from 'hono';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import {
  ProblemError,
  parseInput,
  problem,
  readJsonBody,
  requestLogger,
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

/**
 * One attempt to create a call at Twilio: `answer` is what the breaker says (it may give up first, on its
 * timeout); `request` is the HTTP request itself, set once it was sent, which may still bring Twilio's
 * late answer after that.
 */
export interface PlacementAttempt {
  answer: Promise<TwilioCallResource>;
  sent: { request?: Promise<TwilioCallResource> };
}

export interface OutboundCallsOptions {
  store: VoiceStore;
  apiKey: string;
  publicUrl: string;
  fromNumber: string;
  /** Creates the call at Twilio behind the `twilio-calls` breaker. */
  placeCall: (input: CreateCallInput) => PlacementAttempt;
  /**
   * How long a call Twilio may or may not have created (a timeout, a lost answer) waits for its first
   * status callback or Twilio's late answer before it is failed. Default 60 s.
   */
  placementConfirmSeconds?: number;
  /** Seconds a client should wait once the provider is unavailable (the breaker's reset timeout). */
  retryAfterSeconds: number;
  endpointLimit: { policy: RateLimitPolicy; limiter: RateLimiterAbstract };
  destinationLimit: { name: string; limiter: RateLimiterAbstract };
  metrics: ServiceMetrics;
  trustProxy?: string;
  newId: () => string;
  /** How long a concurrent request with the same Idempotency-Key waits for the first one's outcome. */
  placementWaitMs?: number;
  /** Pauses between attempts to record the provider's answer (our storage failing after Twilio accepted). */
  recordRetryDelaysMs?: number[];
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
  /**
   * `no`: Twilio certainly created nothing (the request was never sent, or Twilio answered an error).
   * `unknown`: it may have (the request was sent and its answer timed out or was lost).
   */
  placed: 'no' | 'unknown';
}

/** Network errors raised before a byte of the request reached Twilio: nothing can have been created. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);
/** A gateway in front of Twilio timed out or failed: the request may have reached Twilio. */
const GATEWAY_STATUSES = new Set([502, 504]);

/**
 * What a failed placement means. A call is time-critical: it is never retried behind the caller's back.
 * When Twilio may have created it anyway, the call is not failed but left to be confirmed.
 */
function classifyPlacementError(error: unknown): PlacementFailure {
  const code = (error as { code?: string | number }).code;
  const unavailable = (reason: string, placed: 'no' | 'unknown'): PlacementFailure => ({
    status: 503,
    title: 'Service Unavailable',
    reason: `provider unavailable: ${reason}`,
    code: code ?? (error as { status?: number }).status,
    placed,
  });
  if (code === 'EOPENBREAKER') return unavailable('breaker open', 'no');
  // The breaker's own timeout: the request is out and may still be answered.
  if (code === 'ETIMEDOUT' && !(error instanceof DependencyError)) return unavailable('timed out', 'unknown');
  if (!(error instanceof DependencyError)) return unavailable((error as Error).message, 'unknown');
  if (error.status === undefined) {
    return unavailable(error.message, NOT_SENT_CODES.has(String(code)) ? 'no' : 'unknown');
  }
  if (GATEWAY_STATUSES.has(error.status)) return unavailable(error.message, 'unknown');
  if (error.retryable) return unavailable(error.message, 'no'); // Twilio's 5xx, 408, 429
  // 401/403/404: our account or configuration is wrong, not the caller's request.
  if ([401, 403, 404].includes(error.status)) {
    return {
      status: 502,
      title: 'Bad Gateway',
      reason: `provider refused our credentials: ${error.message}`,
      code,
      placed: 'no',
    };
  }
  return {
    status: 422,
    title: 'Unprocessable Content',
    reason: `provider rejected the call: ${error.message}`,
    code,
    placed: 'no',
  };
}

/**
 * Whether a failed attempt frees its Idempotency-Key: yes when nothing was placed and trying again may
 * work (an outage, our credentials); no for a request Twilio rejected (422: the same request fails again).
 */
const releasesKey = (failure: PlacementFailure) => failure.placed === 'no' && failure.status !== 422;

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

  const placementWaitMs = options.placementWaitMs ?? 10_000;
  const recordRetryDelaysMs = options.recordRetryDelaysMs ?? [50, 200, 500];
  const confirmSeconds = options.placementConfirmSeconds ?? 60;

  // Calls Twilio accepted whose CallSid we failed to store, by call id (bounded; status callbacks also link
  // the CallSid, as they carry our call id).
  const acceptedNotRecorded = new Map<string, { sid: string; status: string }>();

  /** Placement is decided once the provider's CallSid is on record or the call left `queued` (failed). */
  const placementDecided = (call: CallRecord) => call.providerCallSid !== null || call.status !== 'queued';

  /**
   * An unconfirmed call past its window is failed here too (by whoever reads it first), so one whose
   * timer died with its process does not stay `queued` for ever.
   */
  const settleIfOverdue = async (call: CallRecord): Promise<CallRecord> => {
    const since = call.placementUnconfirmedAt;
    if (!since || placementDecided(call) || Date.now() - since.getTime() < confirmSeconds * 1000) return call;
    await store.failUnconfirmedPlacements(confirmSeconds);
    return (await store.getCall(call.id)) ?? call;
  };

  // Concurrent requests with one key: the one that stored the call places it; the others wait here for
  // its outcome (polling the row, so it works across instances) and answer with that same call.
  const awaitPlacement = async (key: string) => {
    const deadline = Date.now() + placementWaitMs;
    for (;;) {
      let found = await store.findByIdempotencyKey(key);
      if (found) found = { ...found, call: await settleIfOverdue(found.call) };
      const unrecorded = found && !placementDecided(found.call) && acceptedNotRecorded.get(found.call.id);
      if (found && unrecorded) {
        // This process placed it and could not record it: the retry is the moment to write it again.
        const call = await store
          .markProviderAccepted(found.call.id, unrecorded.sid, unrecorded.status)
          .catch(() => null);
        if (call) {
          acceptedNotRecorded.delete(call.id);
          found = { ...found, call };
        }
      }
      if (!found || placementDecided(found.call) || Date.now() >= deadline) return found;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };

  const replay = (c: Context<VoiceEnv>, call: CallRecord, storedHash: string | null, hash: string) => {
    if (storedHash && storedHash !== hash) {
      throw new ProblemError({
        status: 422,
        title: 'Unprocessable Content',
        detail: 'this Idempotency-Key was used with a different request',
        errors: [{ field: 'headers.idempotency-key', message: 'reused with a different body' }],
      });
    }
    // 202: the first request's outcome is still unknown to us (it is being placed, or its record is being
    // reconciled); nothing new is placed either way.
    const status = placementDecided(call) ? 200 : 202;
    return c.json(callView(call), status, { 'Idempotent-Replayed': 'true', Location: `/calls/${call.id}` });
  };

  /**
   * Records what the provider said, retrying our own write: once Twilio accepted, a storage error must
   * never turn a live call into a failed one. What the retries cannot write, the call's status callbacks
   * (which carry our call id) link later.
   */
  const recordWithRetries = async <T>(write: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await write();
      } catch (error) {
        const delay = recordRetryDelaysMs[attempt];
        if (delay === undefined) throw error;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
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

    // The key first: a replay is answered with the first result and spends no rate-limit point. A key
    // whose attempt was released (nothing placed) is free again, even while we wait on it: go round.
    for (let round = 0; ; round++) {
      if (idempotencyKey) {
        const existing = await store.findByIdempotencyKey(idempotencyKey);
        if (existing) {
          if (existing.requestHash && existing.requestHash !== hash) {
            return replay(c, existing.call, existing.requestHash, hash);
          }
          const settled = await awaitPlacement(idempotencyKey);
          if (settled) return replay(c, settled.call, settled.requestHash, hash);
          // The first attempt was released unplaced (rate limited, provider down): this one is fresh.
        }
      }

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
      if (stored.created)
        return place(c, { id, to: input.to, from, onMachine, machineMessage: input.machineMessage });
      // Lost a race with the same key: the winner places the call; answer with its outcome.
      if (stored.requestHash && stored.requestHash !== hash) {
        return replay(c, stored.call, stored.requestHash, hash);
      }
      const settled = idempotencyKey ? await awaitPlacement(idempotencyKey) : null;
      if (settled || round >= 2) {
        return replay(c, settled?.call ?? stored.call, settled?.requestHash ?? stored.requestHash, hash);
      }
    }
  });

  /** Gives a placement attempt back: the call is forgotten or failed, its destination point refunded. */
  const refundDestination = (to: string) =>
    options.destinationLimit.limiter.reward(`to:${to}`, 1).catch(() => {});

  /**
   * Twilio may or may not have the call. Its late answer (the request outlives the breaker's timeout), or
   * its status callbacks (they carry our call id), settle it; otherwise it is failed after the window.
   */
  const confirmLater = (
    id: string,
    to: string,
    sent: PlacementAttempt['sent'],
    logger: { warn: (o: object, m: string) => void },
  ) => {
    sent.request
      ?.then(
        (resource) => recordWithRetries(() => store.markProviderAccepted(id, resource.sid, resource.status)),
        async (error: unknown) => {
          const late = classifyPlacementError(error);
          if (late.placed !== 'no') return; // still unknown: the callbacks or the window decide
          const failed = await recordWithRetries(() =>
            store.markPlacementFailed(
              id,
              late.reason,
              { code: late.code ?? null, late: true },
              {
                releaseKey: releasesKey(late),
              },
            ),
          );
          if (failed) await refundDestination(to);
        },
      )
      .catch((error: unknown) => logger.warn({ err: error, callId: id }, 'settling an unconfirmed call'));
    const timer = setTimeout(
      () => {
        store
          .failUnconfirmedPlacements(confirmSeconds)
          .then((ids) => {
            if (ids.length > 0)
              logger.warn({ callIds: ids }, 'unconfirmed calls failed: Twilio never confirmed them');
          })
          .catch((error: unknown) => logger.warn({ err: error }, 'failing unconfirmed calls'));
      },
      confirmSeconds * 1000 + 250,
    );
    (timer as { unref?: () => void }).unref?.();
  };

  /** Places a stored call: the destination limit, then Twilio; answers with what became of it. */
  async function place(
    c: Context<VoiceEnv>,
    call: { id: string; to: string; from: string; onMachine?: MachineChoice; machineMessage?: string },
  ) {
    const { id, to, from, onMachine } = call;
    // Toll-fraud guard: a few calls per destination per window, spent only by the request that places the
    // call (never by a replay). A refused call is forgotten, so its key may be retried later.
    try {
      await consumeOrThrow(options.destinationLimit.limiter, `to:${to}`, options.destinationLimit.name, {
        metrics: options.metrics,
      });
    } catch (error) {
      await store.releaseUnplacedCall(id);
      throw error;
    }

    const attempt = options.placeCall({
      to,
      from,
      url: `${base}/webhooks/voice/answer?callId=${id}`,
      statusCallback: `${base}/webhooks/voice/status?callId=${id}`,
      statusCallbackEvents: STATUS_CALLBACK_EVENTS,
      machineDetection: onMachine && {
        mode: detectionModeFor(onMachine),
        callbackUrl: `${base}/webhooks/voice/amd?${new URLSearchParams({
          callId: id,
          onMachine,
          ...(call.machineMessage ? { message: call.machineMessage } : {}),
        })}`,
      },
    });
    let resource: TwilioCallResource;
    try {
      resource = await attempt.answer;
    } catch (error) {
      const failure = classifyPlacementError(error);
      const logger = requestLogger(c);
      if (failure.placed === 'unknown') {
        // Not failed, not placed: 202, and the call says which once Twilio does (GET /calls/:id).
        const unconfirmed = await recordWithRetries(() => store.markPlacementUnconfirmed(id, failure.reason));
        confirmLater(id, to, attempt.sent, logger);
        logger.warn({ callId: id, reason: failure.reason }, 'outbound call unconfirmed: Twilio may have it');
        return c.json(callView(unconfirmed), 202, { Location: `/calls/${id}` });
      }
      const releaseKey = releasesKey(failure);
      const failed = await recordWithRetries(() =>
        store.markPlacementFailed(id, failure.reason, { code: failure.code ?? null }, { releaseKey }),
      );
      if (releaseKey) await refundDestination(to);
      logger.warn({ callId: id, reason: failure.reason }, 'outbound call not placed');
      return problem(c, {
        status: failure.status,
        title: failure.title,
        detail: failure.reason,
        headers: failure.status === 503 ? { 'Retry-After': String(options.retryAfterSeconds) } : undefined,
        extensions: {
          callId: id,
          callStatus: failed?.status ?? 'failed',
          providerCode: failure.code ?? null,
          // The same Idempotency-Key may be retried: nothing was placed.
          idempotencyKeyReleased: releaseKey,
        },
      });
    }

    try {
      const placed = await recordWithRetries(() =>
        store.markProviderAccepted(id, resource.sid, resource.status),
      );
      return c.json(callView(placed), 201, { Location: `/calls/${id}` });
    } catch (error) {
      // The call is live at Twilio; only our record of its CallSid is missing. Say so: a retry with the same
      // Idempotency-Key (or GET /calls/:id) reads it once stored, and never places a second call.
      requestLogger(c).error({ err: error, callId: id }, 'call placed but its CallSid could not be stored');
      if (acceptedNotRecorded.size >= 1000)
        acceptedNotRecorded.delete(acceptedNotRecorded.keys().next().value as string);
      acceptedNotRecorded.set(id, { sid: resource.sid, status: resource.status });
      return problem(c, {
        status: 503,
        title: 'Service Unavailable',
        detail:
          'the call was placed but could not be recorded; retry with the same Idempotency-Key to read it (no second call is placed)',
        headers: { 'Retry-After': '1' },
        extensions: { callId: id, providerCallSid: resource.sid, callStatus: 'placed' },
      });
    }
  }

  app.get('/calls/:id', auth, async (c) => {
    const { id } = parseInput(CallIdParams, c.req.param(), 'params');
    const stored = await store.getCall(id);
    if (!stored) return problem(c, { status: 404, title: 'Not Found', detail: `no call ${id}` });
    const call = await settleIfOverdue(stored);
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
