import { z } from 'zod';
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
  AssetViewSchema,
  IdempotencyKeyHeader,
  IdParams,
  ListRendersQuery,
  LutViewSchema,
  OutputQuery,
  type RenderSpecSchema,
  RenderViewSchema,
} from './schemas.ts';

/*
 * The video orchestrator's API contract, from the zod schemas its routes parse with (the render spec
 * with this deployment's limits), and the Standard Webhooks callbacks it sends (`webhooks`). Served
 * at /openapi.json (Swagger UI at /docs); test/e2e/contract/ calls every operation against it.
 */

const bearer = [{ bearerApiKey: [] }];
const renderLink = { description: 'The render’s URL.', schema: { type: 'string' } };
const idParam = parametersOf(IdParams, 'path');
const binary = (type: string) => ({ [type]: { schema: { type: 'string', contentEncoding: 'binary' } } });

const FILE_OPERATIONS = {
  output: ['getRenderOutput', 'MP4'],
  poster: ['getRenderPoster', 'JPEG poster'],
  sprite: ['getRenderSprite', 'JPEG thumbnail sprite (spec `thumbnails`)'],
  rendition: ['getRenderRendition', 'MP4 at another size (spec `renditions`, by name)'],
} as const;

function fileOperation(kind: keyof typeof FILE_OPERATIONS, type: string): JsonObject {
  const [operationId, what] = FILE_OPERATIONS[kind];
  return {
    get: {
      tags: ['renders'],
      operationId,
      summary: `The render’s ${what}, with Range support`,
      description:
        'Authorized by the API key or by the signed link in the render view (`?expires=…&sig=…`). Stored on Supabase Storage, the answer is a 302 to a short-lived signed URL.',
      security: [{ bearerApiKey: [] }, { signedOutputUrl: [] }],
      parameters: [
        ...idParam,
        ...(kind === 'rendition'
          ? [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }]
          : []),
        ...parametersOf(OutputQuery, 'query', {
          expires: 'Unix time the signed link expires at.',
          sig: 'The link’s signature.',
        }),
        { name: 'Range', in: 'header', required: false, schema: { type: 'string' } },
      ],
      responses: {
        200: { description: 'The file.', headers: RATE_LIMIT_HEADERS, content: binary(type) },
        206: { description: 'The requested range.', headers: RATE_LIMIT_HEADERS, content: binary(type) },
        302: {
          description: 'A short-lived signed URL on object storage.',
          headers: { Location: { schema: { type: 'string' } } },
        },
        304: { description: 'Not modified (If-None-Match).' },
        416: { description: 'The range is outside the file.' },
        ...problems(400, 401, 404, 409, 429),
        410: problemResponse('The file is no longer stored.'),
      },
    },
  };
}

/** One Standard Webhooks callback we send to a render's `callbackUrl`. */
function renderCallback(type: 'render.completed' | 'render.failed', summary: string): JsonObject {
  const header = (name: string, description: string) => ({
    name,
    in: 'header',
    required: true,
    description,
    schema: { type: 'string' },
  });
  return {
    post: {
      operationId: type === 'render.completed' ? 'renderCompletedCallback' : 'renderFailedCallback',
      summary,
      description:
        'POSTed to the render’s `callbackUrl` (https, public addresses only, no redirects), signed per Standard Webhooks with CALLBACK_SIGNING_SECRET. Retried with backoff until a 2xx; a 410 stops the retries.',
      parameters: [
        header('webhook-id', 'Stable across retries (`msg_<render id>_<event>`): drop duplicates by it.'),
        header('webhook-timestamp', 'Unix seconds when this attempt was signed.'),
        header('webhook-signature', '`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`.'),
      ],
      requestBody: {
        required: true,
        content: jsonContent({
          type: 'object',
          properties: {
            type: { type: 'string', const: type },
            timestamp: { type: 'string', format: 'date-time' },
            data: schemaRef('Render'),
          },
          required: ['type', 'timestamp', 'data'],
          additionalProperties: false,
        }),
      },
      responses: {
        '2XX': { description: 'Delivered.' },
        410: { description: 'Gone: the delivery is given up, no retry.' },
        default: { description: 'Anything else is retried with backoff.' },
      },
    },
  };
}

export interface VideoOpenApiOptions {
  /** The render spec with this deployment's limits, as POST /renders parses it. */
  specSchema: RenderSpecSchema;
  publicUrl?: string;
  maxInputBytes: number;
}

export function videoOpenApiDocument(options: VideoOpenApiOptions): OpenApiDocument {
  const writeHeaders = { ...RATE_LIMIT_HEADERS, Location: renderLink };
  return createOpenApiDocument({
    title: 'video-orchestrator',
    version: '1',
    description:
      'Renders short product videos (images, clips, music, captions) to MP4 + a JPEG poster on a durable queue with ffmpeg workers. Every route takes `Authorization: Bearer <VIDEO_API_KEY>`.',
    serverUrl: options.publicUrl,
    tags: [
      { name: 'assets', description: 'Uploaded media, referenced from a spec as `asset:<id>`.' },
      { name: 'renders', description: 'Render jobs, their progress and outputs.' },
    ],
    schemas: { Render: RenderViewSchema, Asset: AssetViewSchema, Lut: LutViewSchema },
    paths: {
      '/assets': {
        post: {
          tags: ['assets'],
          operationId: 'uploadAsset',
          summary: 'Upload an image, video or audio file, accepted by its bytes and ffprobe-checked',
          security: bearer,
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: {
                  type: 'object',
                  properties: {
                    file: {
                      type: 'string',
                      contentEncoding: 'binary',
                      description: `At most ${options.maxInputBytes} bytes (RENDER_MAX_INPUT_BYTES).`,
                    },
                  },
                  required: ['file'],
                },
              },
            },
          },
          responses: {
            201: { description: 'Stored.', headers: writeHeaders, content: jsonContent(schemaRef('Asset')) },
            ...problems(400, 401, 413, 415, 422, 429),
          },
        },
      },
      '/assets/{id}': {
        get: {
          tags: ['assets'],
          operationId: 'getAsset',
          summary: 'An uploaded asset',
          security: bearer,
          parameters: idParam,
          responses: {
            200: {
              description: 'The asset.',
              headers: RATE_LIMIT_HEADERS,
              content: jsonContent(schemaRef('Asset')),
            },
            ...problems(400, 401, 404, 429),
          },
        },
      },
      '/renders': {
        post: {
          tags: ['renders'],
          operationId: 'createRender',
          summary: 'Queue a render of a declarative spec',
          security: bearer,
          parameters: parametersOf(
            z.object({ 'idempotency-key': IdempotencyKeyHeader.optional() }),
            'header',
            {
              'idempotency-key': 'A repeat returns the first render (Idempotent-Replayed: true).',
            },
          ),
          requestBody: { required: true, content: jsonContent(jsonSchema(options.specSchema, 'input')) },
          responses: {
            202: {
              description:
                'Queued (or, for a repeated Idempotency-Key or client-chosen `id`, the first render; the same key or id with another body is a 409).',
              headers: {
                ...writeHeaders,
                'Idempotent-Replayed': { schema: { type: 'string', const: 'true' } },
              },
              content: jsonContent(schemaRef('Render')),
            },
            ...problems(400, 401, 409, 422, 429, 503),
          },
        },
        get: {
          tags: ['renders'],
          operationId: 'listRenders',
          summary: 'Renders, newest first, cursor-paginated',
          security: bearer,
          parameters: parametersOf(ListRendersQuery, 'query'),
          responses: {
            200: {
              description: 'A page of renders.',
              headers: RATE_LIMIT_HEADERS,
              content: jsonContent(pageSchema(schemaRef('Render'))),
            },
            ...problems(400, 401, 429),
          },
        },
      },
      '/renders/{id}': {
        get: {
          tags: ['renders'],
          operationId: 'getRender',
          summary: 'A render: status, progress, timings, output links, callback state',
          security: bearer,
          parameters: idParam,
          responses: {
            200: {
              description: 'The render.',
              headers: RATE_LIMIT_HEADERS,
              content: jsonContent(schemaRef('Render')),
            },
            ...problems(400, 401, 404, 429),
          },
        },
        delete: {
          tags: ['renders'],
          operationId: 'cancelRender',
          summary: 'Cancel a queued or running render',
          security: bearer,
          parameters: idParam,
          responses: {
            200: {
              description: 'Canceled (or already canceled).',
              headers: RATE_LIMIT_HEADERS,
              content: jsonContent(schemaRef('Render')),
            },
            ...problems(400, 401, 404, 409, 429),
          },
        },
      },
      '/renders/{id}/retry': {
        post: {
          tags: ['renders'],
          operationId: 'retryRender',
          summary: 'Render a failed or canceled render again, as a new render with the same spec',
          security: bearer,
          parameters: idParam,
          responses: {
            202: {
              description: 'The new render, queued (Location names it); the old one stays as it ended.',
              headers: writeHeaders,
              content: jsonContent(schemaRef('Render')),
            },
            ...problems(400, 401, 404, 409, 429),
          },
        },
      },
      '/renders/{id}/events': {
        get: {
          tags: ['renders'],
          operationId: 'renderEvents',
          summary: 'Server-Sent Events: `status` and `progress`, each with the whole render, until it ends',
          security: bearer,
          parameters: [
            ...idParam,
            {
              name: 'Last-Event-ID',
              in: 'header',
              required: false,
              description: 'Resume after this event (`<attempt>-<phase>-<progress>`).',
              schema: { type: 'string' },
            },
          ],
          responses: {
            200: {
              description:
                'An event stream; each event has an `id:` and its `data:` is a Render as JSON. The final status is sent once.',
              headers: RATE_LIMIT_HEADERS,
              content: { 'text/event-stream': { schema: { type: 'string' } } },
            },
            204: {
              description: 'The client already has the final event (Last-Event-ID): nothing more to send.',
            },
            ...problems(400, 401, 404, 429),
          },
        },
      },
      '/renders/{id}/output': fileOperation('output', 'video/mp4'),
      '/renders/{id}/poster': fileOperation('poster', 'image/jpeg'),
      '/renders/{id}/sprite': fileOperation('sprite', 'image/jpeg'),
      '/renders/{id}/renditions/{name}': fileOperation('rendition', 'video/mp4'),
      '/luts': {
        post: {
          tags: ['assets'],
          operationId: 'uploadLut',
          summary:
            'Upload a .cube 3D LUT (size ≤ 33) for a spec’s `look`; parsed and stored as our own rewrite',
          security: bearer,
          requestBody: { required: true, content: { 'text/plain': { schema: { type: 'string' } } } },
          responses: {
            201: { description: 'Stored.', headers: writeHeaders, content: jsonContent(schemaRef('Lut')) },
            ...problems(401, 413, 422, 429),
          },
        },
      },
      '/luts/{id}': {
        get: {
          tags: ['assets'],
          operationId: 'getLut',
          summary: 'An uploaded LUT',
          security: bearer,
          parameters: idParam,
          responses: {
            200: {
              description: 'The LUT.',
              headers: RATE_LIMIT_HEADERS,
              content: jsonContent(schemaRef('Lut')),
            },
            ...problems(400, 401, 404, 429),
          },
        },
      },
    },
    webhooks: {
      'render.completed': renderCallback(
        'render.completed',
        'A render completed; `data.output` has its links',
      ),
      'render.failed': renderCallback('render.failed', 'A render failed for good; `data.error` says why'),
    },
  });
}
