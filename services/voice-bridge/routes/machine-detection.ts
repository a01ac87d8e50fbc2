import type { Context, Hono } from 'hono';
import { parseInput, requestLogger } from '../../../shared/http/index.ts';
import type { ServiceMetrics } from '../../../shared/observability/index.ts';
import { TERMINAL_STATUSES } from '../call-status-machine.ts';
import { isMachine, type MachineAction, type MachineChoice } from '../machine-detection.ts';
import { MachineDetectionQuery, TwilioAmdCallback } from '../schemas.ts';
import type { VoiceStore } from '../store.ts';
import type { UpdateCallInput } from '../twilio-client.ts';
import { emptyTwiml, sayAndHangupTwiml } from '../twiml.ts';
import { type TwilioForm, twilioWebhookAuth, type VoiceEnv } from './twilio-webhook-auth.ts';

export interface MachineDetectionOptions {
  store: VoiceStore;
  authToken: string;
  publicUrl: string;
  metrics: ServiceMetrics;
  /** Changes the live call at Twilio, behind its breaker. */
  updateCall: (callSid: string, input: UpdateCallInput) => Promise<unknown>;
  /** Left on a machine when the request named no message. */
  defaultMessage: string;
}

const first = (form: TwilioForm) =>
  Object.fromEntries(Object.entries(form).map(([k, v]) => [k, typeof v === 'string' ? v : v[0]]));

const twiml = (c: Context, body: string) => c.body(body, 200, { 'content-type': 'text/xml; charset=utf-8' });

/**
 * POST /webhooks/voice/amd: Twilio's async answering-machine verdict for a call we placed. The URL we
 * gave Twilio carries the request's choice (signed by Twilio with the rest of the URL). On a machine:
 * leave the message (new TwiML: `<Say>`, `<Hangup/>`, which also ends the media stream), hang up, or
 * leave the agent talking. A human changes nothing. The outcome follows when the call ends.
 */
export function mountMachineDetection(app: Hono<VoiceEnv>, options: MachineDetectionOptions): void {
  const { store } = options;
  const verified = twilioWebhookAuth({
    authToken: options.authToken,
    publicUrl: options.publicUrl,
    metrics: options.metrics,
  });

  const act = async (callSid: string, choice: MachineChoice, message: string): Promise<MachineAction> => {
    if (choice === 'connect_agent') return 'connected';
    if (choice === 'hang_up') {
      await options.updateCall(callSid, { status: 'completed' });
      return 'hung_up';
    }
    await options.updateCall(callSid, { twiml: sayAndHangupTwiml(message) });
    return 'message_left';
  };

  app.post('/webhooks/voice/amd', verified, async (c) => {
    const query = parseInput(MachineDetectionQuery, c.req.query(), 'query');
    const verdict = parseInput(TwilioAmdCallback, first(c.get('twilioForm')), 'body');
    const call = await store.recordMachineDetection(query.callId, verdict.AnsweredBy, {
      durationMs: verdict.MachineDetectionDuration ?? null,
      onMachine: query.onMachine,
    });
    const log = requestLogger(c).child({ callId: query.callId, answeredBy: verdict.AnsweredBy });
    if (!call) {
      log.warn('machine detection for a call we do not have');
      return twiml(c, emptyTwiml());
    }
    if (!isMachine(verdict.AnsweredBy) || TERMINAL_STATUSES.has(call.status)) return twiml(c, emptyTwiml());
    try {
      const action = await act(verdict.CallSid, query.onMachine, query.message ?? options.defaultMessage);
      await store.recordMachineAction(query.callId, action);
      log.info({ action }, 'machine answered');
    } catch (error) {
      // Twilio does not retry this callback: the call goes on as it was; the verdict stays on record.
      log.error({ err: error }, 'could not act on the machine verdict');
    }
    return twiml(c, emptyTwiml());
  });
}
