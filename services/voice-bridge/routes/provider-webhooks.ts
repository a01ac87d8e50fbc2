import type { Context, Hono } from 'hono';
import {
  parseInput,
  requestLogger,
  storeUnavailable,
  webhookDeliveryMetrics,
} from '../../../shared/http/index.ts';
import type { ServiceMetrics } from '../../../shared/observability/index.ts';
import type { AnswerIntake } from '../answer-intake.ts';
import { TwilioStatusCallback, TwilioVoiceWebhook, WebhookQuery } from '../schemas.ts';
import type { StatusIntake } from '../status-intake.ts';
import type { ResolvedAnswer, StatusEventResult, VoiceStore } from '../store.ts';
import { signStreamToken } from '../stream-token.ts';
import { connectStreamTwiml, emptyTwiml, hangupTwiml, sayAndHangupTwiml } from '../twiml.ts';
import { type TwilioForm, twilioWebhookAuth, type VoiceEnv } from './twilio-webhook-auth.ts';

export interface ProviderWebhooksOptions {
  store: VoiceStore;
  /** Group commit for status callbacks (the hot path). */
  statusIntake: StatusIntake;
  /** Group commit for answer webhooks (one per call). */
  answerIntake: AnswerIntake;
  authToken: string;
  publicUrl: string;
  metrics: ServiceMetrics;
  fallbackMessage: string;
  /** Said before hanging up when the caller refused recording/AI consent. */
  consentRefusedMessage: string;
  /** How long the signed Media Streams URL in our answer stays usable. */
  streamUrlTtlSeconds: number;
  /** True while the agent's breaker is open: answer with the fallback instead of a stream. */
  agentUnavailable: () => boolean;
  clock: () => Date;
  newId: () => string;
}

/** Twilio never repeats these fields; a repeated one counts by its first value. */
function flatten(form: TwilioForm): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(form)) out[name] = typeof value === 'string' ? value : value[0];
  return out;
}

const twiml = (c: Context, body: string) => c.body(body, 200, { 'content-type': 'text/xml; charset=utf-8' });

/** RFC 2822 from Twilio; our clock when it is absent or unreadable. */
function eventTime(timestamp: string | undefined, clock: () => Date): Date {
  if (!timestamp) return clock();
  const ms = Date.parse(timestamp);
  return Number.isNaN(ms) ? clock() : new Date(ms);
}

/** A stored event that moved the call into its status: terminal statuses are the calls' outcomes. */
function recordCallStatus(metrics: ServiceMetrics, status: string): void {
  metrics.voiceCallStatuses.inc({ status });
}

/**
 * The webhooks Twilio calls: answer (TwiML for the call), status (callbacks, the hot path) and
 * stream-ended (`<Connect action>`: what the caller hears once the stream is over). Every one is
 * signature-checked before its body is looked at.
 */
export function mountProviderWebhooks(app: Hono<VoiceEnv>, options: ProviderWebhooksOptions): void {
  const { store } = options;
  const base = options.publicUrl.replace(/\/+$/, '');
  const wsBase = base.replace(/^http/i, 'ws');
  const verified = twilioWebhookAuth({
    authToken: options.authToken,
    publicUrl: options.publicUrl,
    metrics: options.metrics,
  });

  const statusDeliveries = webhookDeliveryMetrics(options.metrics, 'twilio');

  app.post('/webhooks/voice/status', statusDeliveries.count, verified, async (c) => {
    const form = c.get('twilioForm');
    const query = parseInput(WebhookQuery, c.req.query(), 'query');
    const event = parseInput(TwilioStatusCallback, flatten(form), 'body');
    let result: StatusEventResult;
    try {
      result = await options.statusIntake.submit({
        callSid: event.CallSid,
        callId: query.callId,
        status: event.CallStatus,
        sequenceNumber: event.SequenceNumber ?? -1,
        occurredAt: eventTime(event.Timestamp, options.clock),
        callDuration: event.CallDuration,
        detail: form,
      });
    } catch (error) {
      return storeUnavailable(c, error, 'status callback');
    }
    (result.stored ? statusDeliveries.stored : statusDeliveries.duplicate).inc();
    if (result.stored && result.callStatus === event.CallStatus)
      recordCallStatus(options.metrics, event.CallStatus);
    if (!result.callId)
      requestLogger(c).info({ callSid: event.CallSid }, 'status callback for an unknown call kept');
    return twiml(c, emptyTwiml());
  });

  app.post('/webhooks/voice/answer', verified, async (c) => {
    const query = parseInput(WebhookQuery, c.req.query(), 'query');
    const hook = parseInput(TwilioVoiceWebhook, flatten(c.get('twilioForm')), 'body');
    let resolved: ResolvedAnswer | null;
    try {
      resolved = await options.answerIntake.submit({
        callId: query.callId,
        callSid: hook.CallSid,
        to: hook.To,
        from: hook.From,
        status: hook.CallStatus,
        newId: options.newId(),
      });
    } catch (error) {
      // Twilio then tries the number's fallback URL, if one is set.
      return storeUnavailable(c, error, 'answer webhook');
    }
    if (!resolved) {
      requestLogger(c).warn({ callId: query.callId }, 'answer webhook for a call we do not have');
      return twiml(c, hangupTwiml());
    }
    const { call } = resolved;
    if (options.agentUnavailable()) {
      await store.recordAgentFailure(call.id, 'agent unavailable: breaker open');
      return twiml(c, sayAndHangupTwiml(options.fallbackMessage));
    }
    return twiml(
      c,
      connectStreamTwiml({
        streamUrl: `${wsBase}/media/${call.id}/${signStreamToken(
          options.authToken,
          call.id,
          new Date(options.clock().getTime() + options.streamUrlTtlSeconds * 1000),
        )}`,
        parameters: { callId: call.id },
        actionUrl: `${base}/webhooks/voice/stream-ended?callId=${call.id}`,
      }),
    );
  });

  app.post('/webhooks/voice/stream-ended', verified, async (c) => {
    const query = parseInput(WebhookQuery, c.req.query(), 'query');
    const call = query.callId ? await store.getCall(query.callId) : null;
    if (call?.aiLegEndedBy === 'agent_unavailable')
      return twiml(c, sayAndHangupTwiml(options.fallbackMessage));
    if (call?.aiLegEndedBy === 'consent_refused')
      return twiml(c, sayAndHangupTwiml(options.consentRefusedMessage));
    return twiml(c, hangupTwiml());
  });
}
