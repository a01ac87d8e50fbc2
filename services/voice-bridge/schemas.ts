import { z } from 'zod';
import { pageQueryShape, SinceParam } from '../../shared/http/index.ts';
import { CALL_STATUSES } from './call-status-machine.ts';
import { CALL_LANGUAGES } from './conversation-language.ts';
import { ANSWERED_BY, CALL_OUTCOMES, MACHINE_CHOICES } from './machine-detection.ts';

// ---------------------------------------------------------------------------------------------------
// Our API
// ---------------------------------------------------------------------------------------------------

const e164 = z.e164({ error: 'must be an E.164 phone number, e.g. +14155550100' });

export const OutboundCallRequest = z.strictObject({
  to: e164,
  from: e164.optional(),
  agent: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, { error: 'must be 1-64 letters, digits, dot, dash or underscore' })
    .optional(),
  metadata: z
    .record(z.string(), z.unknown())
    .refine((value) => JSON.stringify(value).length <= 4096, {
      error: 'must serialise to at most 4096 bytes',
    })
    .optional(),
  /** When a machine answers: leave `machineMessage`, hang up, or let the agent talk. Default from config. */
  onMachine: z.enum(MACHINE_CHOICES, { error: 'must be leave_message, hang_up or connect_agent' }).optional(),
  machineMessage: z.string().trim().min(1).max(500).optional(),
});
export type OutboundCallRequest = z.infer<typeof OutboundCallRequest>;

export const OutboundCallHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, { error: 'must be printable ASCII without spaces' })
    .optional(),
});

export const CallIdParams = z.object({ id: z.uuid({ error: 'must be a call id (UUID)' }) });

export const MediaStreamParams = z.object({
  callId: z.uuid({ error: 'must be a call id (UUID)' }),
  token: z.string().max(100).optional(),
});

export const TranscriptQuery = z.object({
  format: z.enum(['json', 'vtt'], { error: 'must be json or vtt' }).optional(),
});

/** The AMD callback URL we give Twilio carries the request's choice (Twilio signs the URL, query included). */
export const MachineDetectionQuery = z.object({
  callId: z.uuid(),
  onMachine: z.enum(MACHINE_CHOICES),
  message: z.string().max(500).optional(),
});

export const TwilioAmdCallback = z.looseObject({
  CallSid: z.string().regex(/^CA[0-9a-fA-F]{32}$/, { error: 'must be a Twilio CallSid (CA + 32 hex)' }),
  AccountSid: z.string().optional(),
  AnsweredBy: z.enum(ANSWERED_BY),
  MachineDetectionDuration: z.coerce.number().int().min(0).optional(),
});

/** GET /calls: filters and the page. Unknown parameters are refused, so a typo never lists everything. */
export const ListCallsQuery = z.strictObject({
  status: z.enum(CALL_STATUSES).optional(),
  direction: z.enum(['outbound', 'inbound']).optional(),
  to: e164.optional().meta({ description: 'The number called (E.164).' }),
  since: SinceParam.optional(),
  ...pageQueryShape,
});
export type ListCallsQuery = z.infer<typeof ListCallsQuery>;

const isoTime = z.iso.datetime();

/** A call as our API shows it (routes/outbound-calls.ts `callView`). */
export const CallView = z.object({
  id: z.uuid(),
  direction: z.enum(['outbound', 'inbound']),
  providerCallSid: z.string().nullable(),
  status: z.enum(CALL_STATUSES),
  to: z.string(),
  from: z.string(),
  agent: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  failureReason: z.string().nullable(),
  outcome: z.enum(CALL_OUTCOMES).nullable(),
  answeredBy: z.enum(ANSWERED_BY).nullable(),
  machineAction: z.enum(['message_left', 'hung_up', 'connected']).nullable(),
  aiLegEndedBy: z.enum(['agent_unavailable', 'consent_refused']).nullable(),
  consent: z
    .object({
      decision: z.enum(['granted', 'refused']),
      via: z.enum(['speech', 'dtmf']).nullable(),
      at: isoTime.nullable(),
    })
    .nullable(),
  durationSeconds: z.int().nullable(),
  answeredAt: isoTime.nullable(),
  endedAt: isoTime.nullable(),
  createdAt: isoTime,
  updatedAt: isoTime,
});

/** GET /calls/:id: the call with its agent's turn latency, ordered events and transcript. */
export const CallDetailView = CallView.extend({
  turnLatency: z.object({ turns: z.int(), p50Ms: z.int().nullable(), p95Ms: z.int().nullable() }),
  events: z.array(
    z.object({
      source: z.enum(['provider', 'service']),
      type: z.string(),
      sequenceNumber: z.int().nullable(),
      occurredAt: isoTime,
      callDuration: z.int().nullable(),
      detail: z.record(z.string(), z.unknown()),
    }),
  ),
  transcript: z.array(z.object({ role: z.enum(['caller', 'agent']), text: z.string(), at: isoTime })),
});

/** GET /calls/:id/transcript as JSON (transcript-format.ts `segmentView`). */
export const TranscriptView = z.object({
  callId: z.uuid(),
  segments: z.array(
    z.object({
      speaker: z.enum(['caller', 'agent']),
      language: z.enum(CALL_LANGUAGES),
      startMs: z.number().nullable(),
      endMs: z.number().nullable(),
      text: z.string(),
      interrupted: z.boolean(),
      at: isoTime,
    }),
  ),
});

/** `?callId=` on the webhook URLs we give Twilio for our own outbound calls. */
export const WebhookQuery = z.object({ callId: z.uuid().optional() });

// ---------------------------------------------------------------------------------------------------
// Twilio webhooks (form-encoded; unknown fields kept, Twilio adds them freely)
// ---------------------------------------------------------------------------------------------------

const CallSid = z.string().regex(/^CA[0-9a-fA-F]{32}$/, { error: 'must be a Twilio CallSid (CA + 32 hex)' });
const optionalInt = z.coerce.number().int().min(0).optional();

export const TwilioStatusCallback = z.looseObject({
  CallSid,
  AccountSid: z.string().optional(),
  CallStatus: z.enum(CALL_STATUSES),
  SequenceNumber: optionalInt,
  /** RFC 2822, e.g. `Mon, 16 Aug 2010 03:45:01 +0000`. */
  Timestamp: z.string().optional(),
  CallDuration: optionalInt,
  From: z.string().optional(),
  To: z.string().optional(),
  Direction: z.string().optional(),
});
export type TwilioStatusCallback = z.infer<typeof TwilioStatusCallback>;

export const TwilioVoiceWebhook = z.looseObject({
  CallSid,
  AccountSid: z.string().optional(),
  CallStatus: z.enum(CALL_STATUSES).optional(),
  From: z.string().default(''),
  To: z.string().default(''),
  Direction: z.string().optional(),
});
export type TwilioVoiceWebhook = z.infer<typeof TwilioVoiceWebhook>;

// ---------------------------------------------------------------------------------------------------
// Twilio Media Streams messages (Twilio → us)
// ---------------------------------------------------------------------------------------------------

export const MediaStreamMessage = z.discriminatedUnion('event', [
  z.looseObject({
    event: z.literal('connected'),
    protocol: z.string().optional(),
    version: z.string().optional(),
  }),
  z.looseObject({
    event: z.literal('start'),
    streamSid: z.string(),
    start: z.looseObject({
      streamSid: z.string(),
      callSid: z.string(),
      accountSid: z.string().optional(),
      tracks: z.array(z.string()).optional(),
      customParameters: z.record(z.string(), z.string()).default({}),
      mediaFormat: z
        .looseObject({ encoding: z.string(), sampleRate: z.number(), channels: z.number() })
        .optional(),
    }),
  }),
  z.looseObject({
    event: z.literal('media'),
    streamSid: z.string().optional(),
    media: z.looseObject({
      track: z.string().optional(),
      chunk: z.string().optional(),
      timestamp: z.string().optional(),
      payload: z.string(),
    }),
  }),
  z.looseObject({
    event: z.literal('mark'),
    streamSid: z.string().optional(),
    mark: z.object({ name: z.string() }),
  }),
  z.looseObject({
    event: z.literal('dtmf'),
    streamSid: z.string().optional(),
    dtmf: z.looseObject({ digit: z.string(), track: z.string().optional() }),
  }),
  z.looseObject({ event: z.literal('stop'), streamSid: z.string().optional() }),
]);
export type MediaStreamMessage = z.infer<typeof MediaStreamMessage>;

// ---------------------------------------------------------------------------------------------------
// Realtime voice agent events (agent → us), OpenAI-Realtime style; only the fields we act on
// ---------------------------------------------------------------------------------------------------

const itemRef = {
  response_id: z.string().optional(),
  item_id: z.string().optional(),
  content_index: z.number().int().min(0).optional(),
};

export const AgentServerEvent = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('response.audio.delta'), delta: z.string(), ...itemRef }),
  // The GA Realtime API renamed the audio events; accept both spellings.
  z.looseObject({ type: z.literal('response.output_audio.delta'), delta: z.string(), ...itemRef }),
  z.looseObject({
    type: z.literal('input_audio_buffer.speech_started'),
    audio_start_ms: z.number().optional(),
    item_id: z.string().optional(),
  }),
  z.looseObject({
    type: z.literal('input_audio_buffer.speech_stopped'),
    audio_end_ms: z.number().optional(),
    item_id: z.string().optional(),
  }),
  z.looseObject({ type: z.literal('response.created') }),
  z.looseObject({ type: z.literal('response.done') }),
  z.looseObject({ type: z.literal('response.audio.done'), ...itemRef }),
  z.looseObject({ type: z.literal('response.output_audio.done'), ...itemRef }),
  z.looseObject({
    type: z.literal('conversation.item.input_audio_transcription.completed'),
    transcript: z.string(),
    item_id: z.string().optional(),
    /** Not in OpenAI's event; an agent that detects the language may say so. */
    language: z.string().optional(),
  }),
  z.looseObject({ type: z.literal('response.audio_transcript.done'), transcript: z.string(), ...itemRef }),
  z.looseObject({
    type: z.literal('response.output_audio_transcript.done'),
    transcript: z.string(),
    ...itemRef,
  }),
  z.looseObject({
    type: z.literal('error'),
    error: z.looseObject({ message: z.string().optional(), code: z.string().nullish() }).optional(),
  }),
]);
export type AgentServerEvent = z.infer<typeof AgentServerEvent>;
