import { z } from 'zod';
import {
  createOpenApiDocument,
  type JsonObject,
  jsonContent,
  jsonSchema,
  type OpenApiDocument,
  PROBLEM_TYPE,
  pageSchema,
  parametersOf,
  problems,
  RATE_LIMIT_HEADERS,
  schemaRef,
} from '../../shared/http/index.ts';
import {
  ContactParams,
  ContactTimelineQuery,
  ConversationView,
  DeadLetterView,
  HandlerAnswerBody,
  HandlerDeliveryView,
  HandlerEventData,
  HandlerReplayPageView,
  HandoffRequest,
  IdempotencyKey,
  IdParams,
  ListDeadLettersQuery,
  ListedMessageView,
  ListHandlerDeliveriesQuery,
  ListMessagesQuery,
  ListWebhookDeliveriesQuery,
  MESSAGE_RECEIVED,
  MessageDetailView,
  MessageIdParams,
  MessageRejectedView,
  MessageView,
  ReplayHandlerDeliveriesRequest,
  ReplayWebhookDeliveriesRequest,
  RouteListView,
  SendMessageRequest,
  VerifyQuery,
  WebhookAck,
  WebhookDeliveryReplayView,
  WebhookDeliveryView,
  WebhookEnvelope,
  WebhookReplayPageView,
} from './schemas.ts';

/*
 * The WhatsApp service's API contract, from the zod schemas its routes parse with. Served at
 * /openapi.json (Swagger UI at /docs); test/e2e/contract/ calls every operation against it.
 */

const bearer = [{ bearerApiKey: [] }];
const location = { description: 'The message’s URL.', schema: { type: 'string' } };
const replayed = {
  description: 'Present on a repeated Idempotency-Key.',
  schema: { type: 'string', const: 'true' },
};
const sendHeaders = { ...RATE_LIMIT_HEADERS, Location: location, 'Idempotent-Replayed': replayed };
const listResponses = {
  200: {
    description: 'A page of messages, inbound and outbound interleaved, newest first.',
    content: jsonContent(pageSchema(schemaRef('ListedMessage'))),
  },
  ...problems(400, 401),
};

const idParam = parametersOf(IdParams, 'path');
const ok = (description: string, schema: string) => ({
  description,
  content: jsonContent(schemaRef(schema)),
});
const page = (description: string, item: string) => ({
  description,
  content: jsonContent(pageSchema(schemaRef(item))),
});
const replayAnswers = (schema: string, what: string) => ({
  200: ok(`Nothing to do: the ${what} is delivered, already on its way, or was replayed before.`, schema),
  202: ok(`Put back in the queue by this call (once: a repeat answers 200).`, schema),
  ...problems(400, 401, 404),
});

/** The signed POST each route's handler receives (Standard Webhooks). */
function handlerWebhook(): JsonObject {
  const header = (name: string, description: string) => ({
    name,
    in: 'header',
    required: true,
    description,
    schema: { type: 'string' },
  });
  return {
    post: {
      operationId: 'messageRoutedToHandler',
      summary: 'An inbound message a route chose (reply id, keyword or sticky conversation)',
      description:
        'POSTed to the route’s `url` (WHATSAPP_ROUTES), signed per Standard Webhooks with the route’s `secret`; redirects are not followed. Retried with exponential backoff until a 2xx, then a dead letter; a 410 gives up at once. A 2xx may answer `{"sticky": true, "ttlSeconds"?: n}` to keep the contact’s next messages, or `{"sticky": false}` to let them go.',
      parameters: [
        header(
          'webhook-id',
          'The handler delivery’s id: the same on every attempt and replay, so drop duplicates by it.',
        ),
        header('webhook-timestamp', 'Unix seconds when this attempt was signed.'),
        header('webhook-signature', '`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`.'),
      ],
      requestBody: {
        required: true,
        content: jsonContent({
          type: 'object',
          properties: {
            type: { type: 'string', const: MESSAGE_RECEIVED },
            timestamp: { type: 'string', format: 'date-time', description: 'When the message arrived.' },
            data: schemaRef('HandlerEventData'),
          },
          required: ['type', 'timestamp', 'data'],
          additionalProperties: false,
        }),
      },
      responses: {
        '2XX': {
          description: 'Delivered; the JSON body may claim or release the conversation.',
          content: jsonContent(schemaRef('HandlerAnswer')),
        },
        410: { description: 'Gone: the delivery becomes a dead letter at once.' },
        default: { description: 'Anything else is retried with backoff.' },
      },
    },
  };
}

export function whatsappOpenApiDocument(): OpenApiDocument {
  return createOpenApiDocument({
    title: 'whatsapp-webhook',
    version: '1',
    description:
      'WhatsApp Cloud API callbacks in (signed, stored once, never lost) and messages out through the Graph API.',
    tags: [
      { name: 'messages', description: 'Our API (bearer API key).' },
      {
        name: 'Meta webhook',
        description: 'What Meta calls: the verification handshake and signed deliveries.',
      },
      {
        name: 'routing and replay',
        description:
          'Routes to downstream handlers, their deliveries and dead letters, and replay of any stored delivery (bearer API key).',
      },
    ],
    schemas: {
      Message: MessageView,
      MessageDetail: MessageDetailView,
      ListedMessage: ListedMessageView,
      WebhookAck,
      MessageRejected: MessageRejectedView,
      Conversation: ConversationView,
      WebhookDelivery: WebhookDeliveryView,
      WebhookDeliveryReplay: WebhookDeliveryReplayView,
      WebhookReplayPage: WebhookReplayPageView,
      HandlerDelivery: HandlerDeliveryView,
      HandlerReplayPage: HandlerReplayPageView,
      DeadLetter: DeadLetterView,
      RouteList: RouteListView,
      HandlerEventData,
      HandlerAnswer: jsonSchema(HandlerAnswerBody),
    },
    webhooks: { [MESSAGE_RECEIVED]: handlerWebhook() },
    paths: {
      '/webhook': {
        get: {
          tags: ['Meta webhook'],
          operationId: 'verifyWebhook',
          summary: 'Meta’s verification handshake: echoes hub.challenge when the token matches',
          security: [],
          parameters: parametersOf(VerifyQuery, 'query'),
          responses: {
            200: { description: 'The challenge.', content: { 'text/plain': { schema: { type: 'string' } } } },
            ...problems(403),
          },
        },
        post: {
          tags: ['Meta webhook'],
          operationId: 'receiveWebhook',
          summary: 'A signed delivery: stored durably before the 200 (a 503 asks Meta to retry)',
          security: [{ metaSignature: [] }],
          requestBody: { required: true, content: jsonContent(jsonSchema(WebhookEnvelope, 'input')) },
          responses: {
            200: {
              description: 'Stored (or already stored).',
              content: jsonContent(schemaRef('WebhookAck')),
            },
            ...problems(400, 401, 413, 429, 503),
          },
        },
      },
      '/messages': {
        post: {
          tags: ['messages'],
          operationId: 'sendMessage',
          summary: 'Send a text, template or interactive message through the outbox',
          security: bearer,
          parameters: parametersOf(z.object({ 'idempotency-key': IdempotencyKey.optional() }), 'header', {
            'idempotency-key': 'A repeat answers as the first request did, with Idempotent-Replayed: true.',
          }),
          requestBody: { required: true, content: jsonContent(jsonSchema(SendMessageRequest, 'input')) },
          responses: {
            201: { description: 'Sent.', headers: sendHeaders, content: jsonContent(schemaRef('Message')) },
            202: {
              description: 'Stored and queued; the queue retries the send.',
              headers: sendHeaders,
              content: jsonContent(schemaRef('Message')),
            },
            ...problems(400, 401, 409, 429, 503),
            422: {
              description:
                'Refused: WhatsApp rejected the message for good (the body carries the message: `id`, `error`, and `status: "failed"` in place of the HTTP status), or an Idempotency-Key reused with another body.',
              content: jsonContent(
                { anyOf: [schemaRef('Problem'), schemaRef('MessageRejected')] },
                PROBLEM_TYPE,
              ),
            },
          },
        },
        get: {
          tags: ['messages'],
          operationId: 'listMessages',
          summary: 'Messages in and out, newest first, cursor-paginated',
          security: bearer,
          parameters: parametersOf(ListMessagesQuery, 'query'),
          responses: listResponses,
        },
      },
      '/messages/{id}': {
        get: {
          tags: ['messages'],
          operationId: 'getMessage',
          summary: 'An outbound message with its status history',
          security: bearer,
          parameters: parametersOf(MessageIdParams, 'path'),
          responses: {
            200: {
              description: 'The message.',
              headers: RATE_LIMIT_HEADERS,
              content: jsonContent(schemaRef('MessageDetail')),
            },
            ...problems(400, 401, 404, 429),
          },
        },
      },
      '/contacts/{waId}/conversation': {
        get: {
          tags: ['messages'],
          operationId: 'getConversation',
          summary: 'A contact’s conversation state: the 24-hour window, opt-out and the agent handoff',
          security: bearer,
          parameters: parametersOf(ContactParams, 'path'),
          responses: {
            200: {
              description: 'The conversation state.',
              headers: RATE_LIMIT_HEADERS,
              content: jsonContent(schemaRef('Conversation')),
            },
            ...problems(400, 401, 404, 429),
          },
        },
        patch: {
          tags: ['messages'],
          operationId: 'setHandoff',
          summary: 'Hand the conversation to a human (the agent pauses) or back to the agent',
          security: bearer,
          parameters: parametersOf(ContactParams, 'path'),
          requestBody: { required: true, content: jsonContent(jsonSchema(HandoffRequest)) },
          responses: {
            200: {
              description: 'The conversation state after the change.',
              headers: RATE_LIMIT_HEADERS,
              content: jsonContent(schemaRef('Conversation')),
            },
            ...problems(400, 401, 404, 429),
          },
        },
      },
      '/contacts/{waId}/messages': {
        get: {
          tags: ['messages'],
          operationId: 'contactTimeline',
          summary: 'One contact’s conversation: in and out interleaved, newest first',
          security: bearer,
          parameters: [
            ...parametersOf(ContactParams, 'path'),
            ...parametersOf(ContactTimelineQuery, 'query'),
          ],
          responses: listResponses,
        },
      },
      '/deliveries': {
        get: {
          tags: ['routing and replay'],
          operationId: 'listWebhookDeliveries',
          summary: 'Verified webhook deliveries kept raw (one per distinct body), newest first',
          security: bearer,
          parameters: parametersOf(ListWebhookDeliveriesQuery, 'query'),
          responses: { 200: page('A page of deliveries.', 'WebhookDelivery'), ...problems(400, 401) },
        },
      },
      '/deliveries/{id}/replay': {
        post: {
          tags: ['routing and replay'],
          operationId: 'replayWebhookDelivery',
          summary: 'Run a stored delivery through the ingest again: stores what is missing, nothing twice',
          security: bearer,
          parameters: idParam,
          responses: {
            200: ok('Replayed; the counts say what was missing.', 'WebhookDeliveryReplay'),
            ...problems(400, 401, 404, 422, 503),
          },
        },
      },
      '/deliveries/replay': {
        post: {
          tags: ['routing and replay'],
          operationId: 'replayWebhookDeliveries',
          summary: 'Replay the stored deliveries of a window, oldest first, a bounded page per call',
          security: bearer,
          requestBody: {
            required: true,
            content: jsonContent(jsonSchema(ReplayWebhookDeliveriesRequest, 'input')),
          },
          responses: { 200: ok('This page replayed.', 'WebhookReplayPage'), ...problems(400, 401, 503) },
        },
      },
      '/routes': {
        get: {
          tags: ['routing and replay'],
          operationId: 'listRoutes',
          summary: 'The configured routes (WHATSAPP_ROUTES), without their secrets',
          security: bearer,
          responses: { 200: ok('Every route, in precedence order.', 'RouteList'), ...problems(401) },
        },
      },
      '/handler-deliveries': {
        get: {
          tags: ['routing and replay'],
          operationId: 'listHandlerDeliveries',
          summary: 'Routed messages and their delivery to the handler, newest first',
          security: bearer,
          parameters: parametersOf(ListHandlerDeliveriesQuery, 'query'),
          responses: { 200: page('A page of handler deliveries.', 'HandlerDelivery'), ...problems(400, 401) },
        },
      },
      '/handler-deliveries/{id}/replay': {
        post: {
          tags: ['routing and replay'],
          operationId: 'replayHandlerDelivery',
          summary: 'Send a dead handler delivery again (with the same webhook-id)',
          security: bearer,
          parameters: idParam,
          responses: replayAnswers('HandlerDelivery', 'delivery'),
        },
      },
      '/handler-deliveries/replay': {
        post: {
          tags: ['routing and replay'],
          operationId: 'replayHandlerDeliveries',
          summary:
            'Send the dead handler deliveries of a window again, oldest first, a bounded page per call',
          security: bearer,
          requestBody: {
            required: true,
            content: jsonContent(jsonSchema(ReplayHandlerDeliveriesRequest, 'input')),
          },
          responses: { 200: ok('This page replayed.', 'HandlerReplayPage'), ...problems(400, 401) },
        },
      },
      '/dead-letters': {
        get: {
          tags: ['routing and replay'],
          operationId: 'listDeadLetters',
          summary: 'Handler deliveries that ran out of attempts, newest first',
          security: bearer,
          parameters: parametersOf(ListDeadLettersQuery, 'query'),
          responses: { 200: page('A page of dead letters.', 'DeadLetter'), ...problems(400, 401) },
        },
      },
      '/dead-letters/{id}/replay': {
        post: {
          tags: ['routing and replay'],
          operationId: 'replayDeadLetter',
          summary: 'Put the letter’s delivery back in the queue, once',
          security: bearer,
          parameters: idParam,
          responses: replayAnswers('DeadLetter', 'letter'),
        },
      },
    },
  });
}
