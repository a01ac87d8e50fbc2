import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { JsonObject, OpenApiDocument } from '../../shared/http/index.ts';

/*
 * The contract side of the OpenAPI documents: validate a document with swagger-parser, and check real
 * responses (status, content type, body) against the operation they came from, keeping track of which
 * documented operations a test has called.
 */

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/** Throws with swagger-parser's message when the document is not valid OpenAPI 3.1. */
export async function validateOpenApiDocument(document: OpenApiDocument): Promise<void> {
  // swagger-parser dereferences in place: give it a copy.
  await SwaggerParser.validate(structuredClone(document) as never);
}

/** `METHOD /path/{param}` for every operation in the document. */
export function documentedOperations(document: OpenApiDocument): string[] {
  const out: string[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) if (item[method]) out.push(`${method.toUpperCase()} ${path}`);
  }
  return out.sort();
}

/** The app's routes as `METHOD /path/{param}` (Hono's `:param` → OpenAPI's `{param}`), middleware left out. */
export function appOperations(app: { routes: { method: string; path: string }[] }): string[] {
  const out = new Set<string>();
  for (const route of app.routes) {
    if (route.method === 'ALL' || route.path.includes('*')) continue;
    // An optional last parameter (`/:token?`) is documented as a required one: OpenAPI has no optional path parts.
    out.add(`${route.method} ${route.path.replace(/:([A-Za-z0-9_]+)\??/g, '{$1}')}`);
  }
  return [...out].sort();
}

const mediaType = (header: string | null) => (header ?? '').split(';')[0].trim().toLowerCase();
const isJson = (type: string) => type === 'application/json' || type.endsWith('+json');
const pointer = (...parts: string[]) =>
  parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

export interface ContractCheck {
  /** The parsed body when JSON, else the text (or null for a bodiless answer). */
  body: unknown;
}

/**
 * Checks responses against `document` and records which operations were exercised.
 *
 * @example
 * const contract = createContract(document);
 * await contract.check('GET', '/calls/{id}', await fetch(`${url}/calls/${id}`, { headers }));
 * expect(contract.uncalled()).toEqual([]);
 */
export function createContract(document: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addFormat('e164', /^\+[1-9]\d{6,14}$/);
  ajv.addSchema(document, 'https://contract.test/openapi.json');
  const called = new Map<string, Set<number>>();

  const resolve = (value: JsonObject): JsonObject => {
    const ref = value.$ref as string | undefined;
    if (!ref) return value;
    let node: unknown = document;
    for (const part of ref.replace(/^#\//, '').split('/'))
      node = (node as JsonObject)[part.replace(/~1/g, '/')];
    return node as JsonObject;
  };

  /**
   * The headers the document promises: RateLimit-* on every success of a rate-limited route, Retry-After
   * wherever it is listed (429, 503), each a whole number of seconds or requests.
   */
  function checkHeaders(label: string, status: number, answer: JsonObject, headers: Headers): void {
    const documented = Object.keys((answer.headers as JsonObject | undefined) ?? {});
    for (const name of documented) {
      const promised = name === 'Retry-After' || (name.startsWith('RateLimit-') && status < 400);
      if (!promised) continue;
      const value = headers.get(name);
      if (value === null || !/^\d+$/.test(value)) {
        throw new Error(`${label} ${status}: header ${name} is ${value === null ? 'missing' : `"${value}"`}`);
      }
    }
  }

  async function checkAt(
    location: { root: 'paths' | 'webhooks'; key: string; method: string },
    status: number,
    headers: Headers,
    text: string,
  ): Promise<ContractCheck> {
    const contentType = headers.get('content-type');
    const label = `${location.method.toUpperCase()} ${location.key}`;
    const item = (document[location.root] as Record<string, JsonObject> | undefined)?.[location.key];
    const operation = item?.[location.method.toLowerCase()] as JsonObject | undefined;
    if (!operation) throw new Error(`${label} is not in the document`);
    const responses = operation.responses as Record<string, JsonObject>;
    const code =
      [String(status), `${String(status)[0]}XX`, 'default'].find((c) => responses[c] !== undefined) ?? null;
    if (code === null) throw new Error(`${label} answered ${status}, which the document does not list`);
    const answer = resolve(responses[code]);
    checkHeaders(label, status, answer, headers);
    const content = answer.content as Record<string, JsonObject> | undefined;
    if (!content) return { body: text === '' ? null : text };
    const type = mediaType(contentType);
    if (!content[type]) {
      throw new Error(
        `${label} ${status} answered ${type || 'no content type'}; documented: ${Object.keys(content)}`,
      );
    }
    if (!isJson(type)) return { body: text };
    const body = JSON.parse(text) as unknown;
    if (!content[type].schema) return { body };
    // Validate against the schema where it sits in the document, so its $refs resolve as written.
    const base =
      (responses[code].$ref as string | undefined)?.replace(/^#/, '') ??
      `/${pointer(location.root, location.key, location.method.toLowerCase(), 'responses', code)}`;
    const validate = ajv.getSchema(
      `https://contract.test/openapi.json#${base}/content/${pointer(type)}/schema`,
    );
    if (!validate) throw new Error(`${label} ${status}: no schema to validate with`);
    if (!validate(body)) {
      throw new Error(
        `${label} ${status} body does not match the document: ${ajv.errorsText(validate.errors)}\n${text.slice(0, 2000)}`,
      );
    }
    return { body };
  }

  return {
    /** Reads `response` and checks it against the operation; returns the body. */
    async check(method: string, path: string, response: Response): Promise<ContractCheck> {
      const text = await response.text();
      const result = await checkAt(
        { root: 'paths', key: path, method },
        response.status,
        response.headers,
        text,
      );
      if (!response.headers.get('x-request-id')) {
        throw new Error(`${method} ${path} ${response.status} has no X-Request-Id`);
      }
      const key = `${method.toUpperCase()} ${path}`;
      if (!called.has(key)) called.set(key, new Set());
      called.get(key)!.add(response.status);
      return result;
    },

    /** Checks a request body we sent to someone else against a `webhooks` entry's request schema. */
    checkWebhookRequest(name: string, body: unknown): void {
      const path = `https://contract.test/openapi.json#/${pointer('webhooks', name, 'post', 'requestBody', 'content', 'application/json', 'schema')}`;
      const validate = ajv.getSchema(path);
      if (!validate) throw new Error(`webhook ${name} is not in the document`);
      if (!validate(body))
        throw new Error(`webhook ${name} body does not match: ${ajv.errorsText(validate.errors)}`);
      const key = `WEBHOOK ${name}`;
      if (!called.has(key)) called.set(key, new Set());
      called.get(key)!.add(200);
    },

    /** Documented operations (and webhooks) no check has seen yet. */
    uncalled(): string[] {
      const webhooks = Object.keys((document.webhooks as JsonObject | undefined) ?? {}).map(
        (n) => `WEBHOOK ${n}`,
      );
      return [...documentedOperations(document), ...webhooks].filter((op) => !called.has(op));
    },

    /** Operations called but never with a 2xx (or 101/3xx) answer. */
    neverSucceeded(): string[] {
      return [...called].filter(([, statuses]) => ![...statuses].some((s) => s < 400)).map(([op]) => op);
    },
  };
}

export type Contract = ReturnType<typeof createContract>;
