import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'hono';

/**
 * Reads headers and bodies from Node's IncomingMessage when the app runs on @hono/node-server, and
 * through the web Request everywhere else (Deno, tests calling `app.request`).
 *
 * Why: node-server hands Hono a lightweight Request and only builds the real one (undici Request,
 * a Headers object validated header by header, a web stream over the socket) when something asks for
 * `c.req.raw.body`, `c.req.text()` or `c.req.header()`. On a webhook that is a fifth of the request's
 * CPU. Reading the IncomingMessage directly gives the same bytes and headers without building it.
 */

/** What @hono/node-server passes as `c.env`: the request's IncomingMessage and its ServerResponse. */
export interface NodeBindings {
  incoming?: IncomingMessage & { rawBody?: Buffer };
  outgoing?: ServerResponse;
}

function nodeIncoming(c: Context): (IncomingMessage & { rawBody?: Buffer }) | undefined {
  const env = c.env as NodeBindings | undefined;
  const incoming = env?.incoming;
  // Duck-typed: node-server's bindings carry the IncomingMessage as `incoming`.
  return incoming && typeof incoming.on === 'function' && incoming.headers ? incoming : undefined;
}

/**
 * One request header, as `Headers.get` would answer (repeated headers joined with ", ").
 *
 * @example
 * const signature = requestHeader(c, 'x-hub-signature-256');
 */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = nodeIncoming(c);
  if (!incoming) return c.req.header(name);
  const value = incoming.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * The declared body length when it bounds the body: Content-Length without Transfer-Encoding (Node's
 * parser then delivers exactly that many bytes). undefined for a chunked body or off Node.
 */
export function declaredBodyLength(c: Context): number | undefined {
  const incoming = nodeIncoming(c);
  if (!incoming) return undefined;
  const length = incoming.headers['content-length'];
  if (length === undefined || incoming.headers['transfer-encoding'] !== undefined) return undefined;
  const bytes = Number(length);
  return Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : undefined;
}

const bodies = new WeakMap<Context, Promise<Uint8Array>>();

function readIncoming(incoming: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    incoming.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
    });
    incoming.once('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
    incoming.once('error', reject);
    incoming.once('aborted', () => reject(new Error('request aborted')));
  });
}

/**
 * The request body's bytes, read once per request. On Node, straight from the IncomingMessage when a
 * Content-Length bounds it (the route's `maxBody` has checked that length) and nothing has started
 * reading it; otherwise through Hono (whose body limit counts a chunked body as it arrives). Later
 * `c.req.text()`/`json()` calls see the same bytes.
 *
 * @example
 * const raw = await readBodyBytes(c);
 */
export function readBodyBytes(c: Context): Promise<Uint8Array> {
  const cached = bodies.get(c);
  if (cached) return cached;
  const incoming = nodeIncoming(c);
  let body: Promise<Uint8Array>;
  if (
    incoming &&
    declaredBodyLength(c) !== undefined &&
    incoming.readableFlowing === null &&
    !incoming.readableDidRead &&
    Object.keys(c.req.bodyCache).length === 0
  ) {
    body = readIncoming(incoming).then((buffer) => {
      // node-server builds the web Request from `rawBody` when one exists: anything reading
      // `c.req.raw` after us gets these bytes instead of a drained socket.
      incoming.rawBody = buffer;
      return buffer;
    });
    const arrayBuffer = body.then(
      (bytes) => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    );
    // Only there for a later c.req.arrayBuffer(); its failure is the one `body` reports.
    arrayBuffer.catch(() => undefined);
    // Hono keeps the promise there (its type says the value).
    (c.req.bodyCache as Record<string, unknown>).arrayBuffer = arrayBuffer;
  } else {
    body = c.req.arrayBuffer().then((buffer) => new Uint8Array(buffer));
  }
  bodies.set(c, body);
  return body;
}

const utf8 = new TextDecoder();

/**
 * The request body as UTF-8 text (see `readBodyBytes`).
 *
 * @example
 * const form = parseTwilioForm(await readBodyText(c));
 */
export async function readBodyText(c: Context): Promise<string> {
  return utf8.decode(await readBodyBytes(c));
}
