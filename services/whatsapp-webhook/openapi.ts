import { z } from 'zod';
import {
  createOpenApiDocument,
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
  HandoffRequest,
  IdempotencyKey,
  ListedMessageView,
  ListMessagesQuery,
  MessageDetailView,
  MessageIdParams,
  MessageRejectedView,
  MessageView,
  SendMessageRequest,
  VerifyQuery,
  WebhookAck,
  WebhookEnvelope,
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
    ],
    schemas: {
      Message: MessageView,
      MessageDetail: MessageDetailView,
      ListedMessage: ListedMessageView,
      WebhookAck,
      MessageRejected: MessageRejectedView,
      Conversation: ConversationView,
    },
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
    },
  });
}
