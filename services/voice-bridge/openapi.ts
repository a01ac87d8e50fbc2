import {
  createOpenApiDocument,
  type JsonObject,
  jsonContent,
  jsonSchema,
  type OpenApiDocument,
  pageSchema,
  parametersOf,
  problemResponse,
  problems,
  RATE_LIMIT_HEADERS,
  schemaRef,
} from '../../shared/http/index.ts';
import {
  CallDetailView,
  CallIdParams,
  CallView,
  ListCallsQuery,
  MachineDetectionQuery,
  MediaStreamParams,
  OutboundCallHeaders,
  OutboundCallRequest,
  TranscriptQuery,
  TranscriptView,
  TwilioAmdCallback,
  TwilioStatusCallback,
  TwilioVoiceWebhook,
  WebhookQuery,
} from './schemas.ts';

/*
 * The voice bridge's API contract, from the zod schemas its routes parse with. Served at /openapi.json
 * (Swagger UI at /docs); test/e2e/contract/ calls every operation and validates the answers against it.
 */

const bearer = [{ bearerApiKey: [] }];
const twilioSigned = [{ twilioSignature: [] }];
const FORM = 'application/x-www-form-urlencoded';
const twiml = {
  description: 'TwiML for Twilio.',
  content: { 'text/xml': { schema: { type: 'string' } } },
};
const location = { description: 'The call’s URL.', schema: { type: 'string' } };

const callIdOnUrl = parametersOf(WebhookQuery, 'query', {
  callId: 'Our call id, on the URLs we hand Twilio for calls we place.',
});

const twilioWebhook = (
  operationId: string,
  summary: string,
  form: JsonObject,
  parameters: JsonObject[] = callIdOnUrl,
): JsonObject => ({
  post: {
    tags: ['Twilio webhooks'],
    operationId,
    summary,
    security: twilioSigned,
    parameters,
    requestBody: { required: true, content: { [FORM]: { schema: form } } },
    // 503 + Retry-After when the event could not be stored (Twilio retries): nothing accepted is lost.
    responses: { 200: twiml, ...problems(400, 403, 503) },
  },
});

export interface VoiceOpenApiOptions {
  publicUrl?: string;
}

export function voiceOpenApiDocument(options: VoiceOpenApiOptions = {}): OpenApiDocument {
  return createOpenApiDocument({
    title: 'voice-bridge',
    version: '1',
    description:
      'Outbound calls through Twilio, Twilio’s webhooks (signed, monotonic call state) and the Media Streams bridge to a realtime AI voice agent.',
    serverUrl: options.publicUrl,
    tags: [
      { name: 'calls', description: 'Our API (bearer API key).' },
      {
        name: 'Twilio webhooks',
        description: 'What Twilio calls; every request is signature-checked first.',
      },
    ],
    schemas: { Call: CallView, CallDetail: CallDetailView, Transcript: TranscriptView },
    paths: {
      '/calls/outbound': {
        post: {
          tags: ['calls'],
          operationId: 'placeOutboundCall',
          summary: 'Place a call: stored as queued, then created at Twilio',
          security: bearer,
          parameters: parametersOf(OutboundCallHeaders, 'header', {
            'idempotency-key': 'A repeat returns the first call (200, Idempotent-Replayed: true).',
          }),
          requestBody: { required: true, content: jsonContent(jsonSchema(OutboundCallRequest, 'input')) },
          responses: {
            201: {
              description: 'Created at Twilio.',
              headers: { ...RATE_LIMIT_HEADERS, Location: location },
              content: jsonContent(schemaRef('Call')),
            },
            200: {
              description: 'A repeated Idempotency-Key: the first call, nothing placed.',
              headers: {
                ...RATE_LIMIT_HEADERS,
                Location: location,
                'Idempotent-Replayed': { schema: { type: 'string', const: 'true' } },
              },
              content: jsonContent(schemaRef('Call')),
            },
            202: {
              description:
                'Not yet decided: Twilio may or may not have created the call (its answer timed out), or a ' +
                'concurrent request with the same Idempotency-Key is still placing it. The call stays queued ' +
                'until its status callbacks or Twilio’s late answer confirm it, or fails after ' +
                'VOICE_PLACEMENT_CONFIRM_S; follow Location. A retry with the key never places a second call.',
              headers: { Location: location },
              content: jsonContent(schemaRef('Call')),
            },
            ...problems(400, 401, 422, 429),
            503: problemResponse(
              'Twilio unavailable (breaker open, 5xx, throttled): nothing was placed, the call is failed and ' +
                'its Idempotency-Key released (`idempotencyKeyReleased`), so a retry after Retry-After with it ' +
                'places the call. Or: placed but not recorded (`providerCallSid` given): retry with the key to read it.',
              { 'Retry-After': { $ref: '#/components/headers/Retry-After' } },
            ),
            502: problemResponse('Twilio refused our credentials; the call is failed.'),
          },
        },
      },
      '/calls': {
        get: {
          tags: ['calls'],
          operationId: 'listCalls',
          summary: 'Calls, newest first, cursor-paginated',
          security: bearer,
          parameters: parametersOf(ListCallsQuery, 'query'),
          responses: {
            200: { description: 'A page of calls.', content: jsonContent(pageSchema(schemaRef('Call'))) },
            ...problems(400, 401),
          },
        },
      },
      '/calls/{id}': {
        get: {
          tags: ['calls'],
          operationId: 'getCall',
          summary: 'A call with its events and transcript',
          security: bearer,
          parameters: parametersOf(CallIdParams, 'path'),
          responses: {
            200: { description: 'The call.', content: jsonContent(schemaRef('CallDetail')) },
            ...problems(400, 401, 404),
          },
        },
      },
      '/webhooks/voice/status': twilioWebhook(
        'twilioStatusCallback',
        'Status callback: stored once, the call only moves forward',
        jsonSchema(TwilioStatusCallback, 'input'),
      ),
      '/webhooks/voice/answer': twilioWebhook(
        'twilioAnswerWebhook',
        'A call was answered: TwiML connecting its audio to /media/{callId} (or the fallback message)',
        jsonSchema(TwilioVoiceWebhook, 'input'),
      ),
      '/webhooks/voice/stream-ended': twilioWebhook(
        'twilioStreamEnded',
        'The media stream ended (<Connect action>): the fallback message or a hang-up',
        { type: 'object', additionalProperties: { type: 'string' } },
      ),
      '/calls/{id}/transcript': {
        get: {
          tags: ['calls'],
          operationId: 'getCallTranscript',
          summary: 'The call’s transcript segments in call-time order, as JSON or WebVTT',
          security: bearer,
          parameters: [
            ...parametersOf(CallIdParams, 'path'),
            ...parametersOf(TranscriptQuery, 'query', {
              format: '`vtt` for WebVTT (so does `Accept: text/vtt`); default JSON.',
            }),
          ],
          responses: {
            200: {
              description: 'The transcript.',
              content: {
                ...jsonContent(schemaRef('Transcript')),
                'text/vtt': { schema: { type: 'string' } },
              },
            },
            ...problems(400, 401, 404),
          },
        },
      },
      '/webhooks/voice/amd': twilioWebhook(
        'twilioMachineDetection',
        'Async answering-machine verdict: on a machine, leave the message, hang up or let the agent talk',
        jsonSchema(TwilioAmdCallback, 'input'),
        parametersOf(MachineDetectionQuery, 'query', {
          callId: 'Our call id.',
          onMachine: 'What the call’s request asked for when a machine answers (signed with the URL).',
          message: 'The message to leave.',
        }),
      ),
      '/media/{callId}/{token}': {
        get: {
          tags: ['Twilio webhooks'],
          operationId: 'mediaStream',
          summary:
            'Twilio Media Streams (WebSocket), signed over the wss:// URL, with our expiring stream token',
          security: twilioSigned,
          parameters: parametersOf(MediaStreamParams.required(), 'path', {
            token: '`{expires}.{HMAC}` binding the call id to an expiry (from the TwiML we answered).',
          }),
          responses: {
            101: { description: 'Switching to the WebSocket: Twilio Media Streams messages both ways.' },
            ...problems(400, 403, 404, 409),
            410: problemResponse('The call has ended (or its AI leg has).'),
            426: problemResponse('A plain GET: this endpoint only speaks WebSocket.', {
              Upgrade: { schema: { type: 'string', const: 'websocket' } },
            }),
          },
        },
      },
    },
  });
}
