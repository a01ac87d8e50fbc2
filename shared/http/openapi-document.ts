import { z } from 'zod';

/*
 * OpenAPI 3.1 documents built from the same zod schemas the routes parse with. A service describes
 * its operations beside its routes (services/<name>/openapi.ts); this file adds what every service
 * shares: problem+json, the rate-limit and request-id headers, and the kit's own routes.
 */

// The document is JSON: a loose type keeps the builders short, the validator (swagger-parser) checks it.
export type JsonObject = Record<string, unknown>;

export interface OpenApiDocument extends JsonObject {
  openapi: '3.1.0';
  info: { title: string; version: string; description?: string };
  paths: Record<string, JsonObject>;
  components: JsonObject & { schemas: Record<string, JsonObject> };
}

type Io = 'input' | 'output';

/**
 * JSON Schema (2020-12, OpenAPI 3.1's dialect) of a zod schema. Requests are documented as `input`
 * (defaults make fields optional), responses as `output`. Refinements that JSON Schema cannot say
 * (a superRefine, a transform) are left out: the route still enforces them.
 */
export function jsonSchema(schema: z.ZodType, io: Io = 'output'): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as JsonObject;
  return rest;
}

/** `{ $ref }` to a schema in components. */
export const schemaRef = (name: string): JsonObject => ({ $ref: `#/components/schemas/${name}` });

/** One `parameters` entry per key of a zod object (query, path or header). */
export function parametersOf(
  shape: z.ZodObject,
  location: 'query' | 'path' | 'header',
  descriptions: Record<string, string> = {},
): JsonObject[] {
  return Object.entries(shape.shape).map(([name, field]) => {
    const schema = jsonSchema(field as z.ZodType, 'input');
    const required = location === 'path' || !(field as z.ZodType).safeParse(undefined).success;
    const description = descriptions[name] ?? (schema.description as string | undefined);
    return { name, in: location, required, ...(description ? { description } : {}), schema };
  });
}

export const JSON_TYPE = 'application/json';
export const PROBLEM_TYPE = 'application/problem+json';

/** `content` for a JSON body with the given schema. */
export const jsonContent = (schema: JsonObject, type = JSON_TYPE): JsonObject => ({ [type]: { schema } });

// ---------------------------------------------------------------------------------------------
// What every service shares

export const FieldErrorSchema = z.object({
  field: z.string().meta({ description: 'Dotted path of the offending input, e.g. `query.status`.' }),
  message: z.string(),
});

/** RFC 9457 problem details, as shared/http/problem.ts writes them (extension members allowed). */
export const ProblemSchema = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.int().min(100).max(599),
    detail: z.string().optional(),
    errors: z.array(FieldErrorSchema).optional(),
    instance: z.string(),
    requestId: z.string().optional(),
  })
  .meta({ description: 'RFC 9457 problem details.' });

export const HealthSchema = z.object({
  status: z.literal('ok'),
  service: z.string(),
  uptime: z.int().min(0),
  timestamp: z.iso.datetime(),
  breakers: z.record(z.string(), z.enum(['closed', 'open', 'halfOpen'])),
});

export const ReadySchema = z.object({
  status: z.literal('ready'),
  service: z.string(),
  checks: z.array(z.string()),
});

/** The `{ items, nextCursor }` envelope of every list endpoint. */
export function pageSchema(itemRef: JsonObject): JsonObject {
  return {
    type: 'object',
    properties: {
      items: { type: 'array', items: itemRef },
      nextCursor: {
        type: ['string', 'null'],
        description: 'Pass as `cursor` for the next page; null on the last page.',
      },
    },
    required: ['items', 'nextCursor'],
    additionalProperties: false,
  };
}

const integerHeader = (description: string) => ({ description, schema: { type: 'integer', minimum: 0 } });

const SHARED_HEADERS: JsonObject = {
  'X-Request-Id': {
    description: 'The request id (the caller’s when it looks like an id, else generated); in every log line.',
    schema: { type: 'string' },
  },
  'RateLimit-Limit': integerHeader('Requests allowed in the window of the route’s policy.'),
  'RateLimit-Remaining': integerHeader('Requests left in the current window.'),
  'RateLimit-Reset': integerHeader('Seconds until the window resets.'),
  'Retry-After': integerHeader('Seconds to wait before retrying.'),
};

/** `{ $ref }` to a shared header: X-Request-Id, RateLimit-Limit/Remaining/Reset, Retry-After. */
export const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` });

/** The RateLimit-* headers every response under a rate-limit policy carries. */
export const RATE_LIMIT_HEADERS: JsonObject = {
  'RateLimit-Limit': headerRef('RateLimit-Limit'),
  'RateLimit-Remaining': headerRef('RateLimit-Remaining'),
  'RateLimit-Reset': headerRef('RateLimit-Reset'),
};

const responseRef = (name: string) => ({ $ref: `#/components/responses/${name}` });

/** A problem+json response with its own description (statuses the shared set lacks, e.g. 426). */
export const problemResponse = (description: string, headers: JsonObject = {}): JsonObject => ({
  description,
  headers: { 'X-Request-Id': headerRef('X-Request-Id'), ...headers },
  content: jsonContent(schemaRef('Problem'), PROBLEM_TYPE),
});

/** Reusable problem responses, by status. */
export const PROBLEM_RESPONSES = {
  400: responseRef('BadRequest'),
  401: responseRef('Unauthorized'),
  403: responseRef('Forbidden'),
  404: responseRef('NotFound'),
  409: responseRef('Conflict'),
  413: responseRef('PayloadTooLarge'),
  415: responseRef('UnsupportedMediaType'),
  422: responseRef('UnprocessableContent'),
  429: responseRef('TooManyRequests'),
  500: responseRef('InternalServerError'),
  503: responseRef('ServiceUnavailable'),
} as const;

type ProblemStatus = keyof typeof PROBLEM_RESPONSES;

/** `{ 400: {$ref}, 401: {$ref}, … }` for the statuses given, plus 500 (any route may fail). */
export function problems(...statuses: ProblemStatus[]): JsonObject {
  const out: JsonObject = {};
  for (const status of [...statuses, 500 as const]) out[String(status)] = PROBLEM_RESPONSES[status];
  return out;
}

const SHARED_RESPONSES: JsonObject = {
  BadRequest: problemResponse('Invalid input; `errors` names every offending field.'),
  Unauthorized: problemResponse('Missing or wrong credentials.', {
    'WWW-Authenticate': { schema: { type: 'string' } },
  }),
  Forbidden: problemResponse('Refused: a signature or verification token does not match.'),
  NotFound: problemResponse('No such resource (or route).'),
  Conflict: problemResponse('The resource is in a state that does not allow this.'),
  PayloadTooLarge: problemResponse('The body exceeds the route’s limit.'),
  UnsupportedMediaType: problemResponse('The body’s media type is not accepted.'),
  UnprocessableContent: problemResponse(
    'Well-formed but refused (e.g. an Idempotency-Key reused with another body).',
  ),
  TooManyRequests: problemResponse('Rate limit exceeded; `retryAfter` in the body says when to retry.', {
    ...RATE_LIMIT_HEADERS,
    'Retry-After': headerRef('Retry-After'),
  }),
  InternalServerError: problemResponse('Unexpected failure; `detail` quotes the request id.'),
  ServiceUnavailable: problemResponse('A dependency is down; retry after `Retry-After` seconds.', {
    'Retry-After': headerRef('Retry-After'),
  }),
};

/** Security schemes every service may use by name. */
export const SECURITY_SCHEMES: JsonObject = {
  bearerApiKey: {
    type: 'http',
    scheme: 'bearer',
    description: 'The service’s API key: `Authorization: Bearer <key>` (compared in constant time).',
  },
  metaSignature: {
    type: 'apiKey',
    in: 'header',
    name: 'X-Hub-Signature-256',
    description:
      'Meta’s webhook signature: `sha256=` + hex HMAC-SHA256 of the raw body with the app secret (WHATSAPP_APP_SECRET).',
  },
  twilioSignature: {
    type: 'apiKey',
    in: 'header',
    name: 'X-Twilio-Signature',
    description:
      'Twilio’s request signature: base64 HMAC-SHA1, keyed with the auth token, of the public URL followed by the sorted form parameters.',
  },
  signedOutputUrl: {
    type: 'apiKey',
    in: 'query',
    name: 'sig',
    description: 'A signed link from a render view (`?expires=…&sig=…`), usable without the API key.',
  },
};

const plainOk = (description: string, content: JsonObject): JsonObject => ({
  description,
  headers: { 'X-Request-Id': headerRef('X-Request-Id') },
  content,
});

/** The kit's own routes (shared/http/operational-routes.ts and openapi-routes.ts). */
function kitPaths(): Record<string, JsonObject> {
  const op = (operationId: string, summary: string, responses: JsonObject): JsonObject => ({
    get: { tags: ['operations'], operationId, summary, security: [], responses },
  });
  const paths: Record<string, JsonObject> = {
    '/health': op('getHealth', 'Liveness: the process answers, with breaker states', {
      200: plainOk('Alive.', jsonContent(schemaRef('Health'))),
    }),
    '/ready': op('getReady', 'Readiness: the database (and other dependencies) answer', {
      200: plainOk('Ready.', jsonContent(schemaRef('Ready'))),
      503: PROBLEM_RESPONSES[503],
    }),
    '/metrics': op('getMetrics', 'Prometheus metrics', {
      200: plainOk('Prometheus text exposition format.', {
        'text/plain': { schema: { type: 'string' } },
      }),
    }),
    '/openapi.json': op('getOpenApiDocument', 'This document', {
      200: plainOk('OpenAPI 3.1.', jsonContent({ type: 'object' })),
    }),
    '/docs': op(
      'getApiReference',
      'Browsable API reference (Swagger UI, served from this service; no internet needed)',
      {
        200: plainOk('HTML page.', { 'text/html': { schema: { type: 'string' } } }),
      },
    ),
    '/docs/{file}': op('getApiReferenceFile', 'A file of the API reference page', {
      200: plainOk('The file.', {
        'text/css': { schema: { type: 'string' } },
        'text/javascript': { schema: { type: 'string' } },
      }),
      404: PROBLEM_RESPONSES[404],
      503: PROBLEM_RESPONSES[503],
    }),
  };
  (paths['/docs/{file}'].get as JsonObject).parameters = [
    {
      name: 'file',
      in: 'path',
      required: true,
      schema: { type: 'string', enum: ['swagger-ui.css', 'swagger-ui-bundle.js'] },
    },
  ];
  return paths;
}

export interface OpenApiInit {
  title: string;
  version: string;
  description?: string;
  /** The public base URL, when known (Location headers and links are built from it too). */
  serverUrl?: string;
  tags?: { name: string; description?: string }[];
  paths: Record<string, JsonObject>;
  /** OpenAPI 3.1 `webhooks`: requests this service sends to URLs its callers give it. */
  webhooks?: Record<string, JsonObject>;
  /** zod schemas (documented as responses: `output`) or ready JSON Schemas, by component name. */
  schemas?: Record<string, z.ZodType | JsonObject>;
}

/**
 * A service's OpenAPI 3.1 document: its own paths and schemas, plus the kit's routes (/health, /ready,
 * /metrics, /openapi.json, /docs), the Problem schema, shared headers, problem responses and the
 * security schemes.
 *
 * @example
 * const document = createOpenApiDocument({ title: 'voice-bridge', version: '1', paths: { '/calls': {…} } });
 */
export function createOpenApiDocument(init: OpenApiInit): OpenApiDocument {
  const schemas: Record<string, JsonObject> = {
    Problem: jsonSchema(ProblemSchema),
    Health: jsonSchema(HealthSchema),
    Ready: jsonSchema(ReadySchema),
  };
  for (const [name, schema] of Object.entries(init.schemas ?? {})) {
    schemas[name] = schema instanceof z.ZodType ? jsonSchema(schema) : schema;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: init.title,
      version: init.version,
      ...(init.description ? { description: init.description } : {}),
    },
    ...(init.serverUrl ? { servers: [{ url: init.serverUrl.replace(/\/+$/, '') }] } : {}),
    tags: [
      ...(init.tags ?? []),
      { name: 'operations', description: 'Health, readiness, metrics and this document.' },
    ],
    paths: { ...init.paths, ...kitPaths() },
    ...(init.webhooks ? { webhooks: init.webhooks } : {}),
    components: {
      schemas,
      responses: SHARED_RESPONSES,
      headers: SHARED_HEADERS,
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}
