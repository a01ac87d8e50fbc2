import { DependencyError } from '../../shared/resilience/index.ts';
import { GraphErrorBody, GraphMediaResponse, GraphSendResponse } from './schemas.ts';

/**
 * Meta error codes worth retrying: throttling (4, 17, 341, 80007, 130429 throughput, 131056 pair
 * rate limit) and Meta-side trouble (1, 2, 131000, 131016, 133004). Anything else in a 4xx is the
 * request's fault (invalid recipient, template, token) and retrying would only repeat it.
 */
export const RETRYABLE_META_CODES = new Set([
  1, 2, 4, 17, 341, 80007, 130429, 131000, 131016, 131056, 133004,
]);

export interface GraphApiErrorInit {
  /** HTTP status from the Graph API; undefined for timeouts and network errors. */
  status?: number;
  /** Meta's numeric error code (`error.code`). */
  code?: number;
  subcode?: number;
  type?: string;
  details?: string;
  fbtraceId?: string;
  retryable: boolean;
  cause?: unknown;
}

/**
 * What the Graph client throws. As a DependencyError, a 4xx other than 408/429 (our request was
 * wrong) does not count towards opening the breaker; `retryable` tells the sender what to do.
 */
export class GraphApiError extends DependencyError {
  /** Meta's numeric error code, when Meta answered with one. */
  readonly metaCode: number | undefined;
  readonly subcode: number | undefined;
  readonly type: string | undefined;
  readonly details: string | undefined;
  readonly fbtraceId: string | undefined;
  constructor(message: string, init: GraphApiErrorInit) {
    super(message, { status: init.status, code: init.code, retryable: init.retryable, cause: init.cause });
    this.name = 'GraphApiError';
    this.metaCode = init.code;
    this.subcode = init.subcode;
    this.type = init.type;
    this.details = init.details;
    this.fbtraceId = init.fbtraceId;
  }
}

export interface GraphApiClientOptions {
  /** e.g. https://graph.facebook.com, or the sandbox http://127.0.0.1:4010 */
  baseUrl: string;
  /** e.g. v21.0 */
  version: string;
  accessToken: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export interface SentMessage {
  wamid: string;
  waId: string | null;
}

export interface MediaInfo {
  url: string;
  mimeType: string | null;
  sha256: string | null;
  fileSize: number | null;
}

export interface GraphApiClient {
  /** POST /{version}/{phoneNumberId}/messages with a Cloud API message body. */
  sendMessage(phoneNumberId: string, payload: Record<string, unknown>): Promise<SentMessage>;
  /**
   * Marks an inbound message (and the earlier ones) read, optionally with a typing indicator that
   * shows until we answer or 25 s pass: the same /messages endpoint with a `status` body.
   */
  markRead(phoneNumberId: string, wamid: string, options?: { typing?: boolean }): Promise<void>;
  /** GET /{version}/{mediaId}: a short-lived download URL and the media's metadata. */
  getMedia(mediaId: string): Promise<MediaInfo>;
  /** Downloads a media URL (bearer-authenticated), refusing more than `maxBytes`. */
  downloadMedia(url: string, maxBytes: number): Promise<Uint8Array>;
}

async function errorFromResponse(response: Response): Promise<GraphApiError> {
  const text = await response.text().catch(() => '');
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // Proxies and load balancers answer HTML; the status alone decides then.
  }
  const parsed = GraphErrorBody.safeParse(body);
  const error = parsed.success ? parsed.data.error : undefined;
  const code = error?.code;
  const retryable =
    response.status >= 500 ||
    response.status === 429 ||
    (code !== undefined && RETRYABLE_META_CODES.has(code));
  return new GraphApiError(error?.message ?? `Graph API answered ${response.status}`, {
    status: response.status,
    code,
    subcode: error?.error_subcode,
    type: error?.type,
    details: error?.error_data?.details,
    fbtraceId: error?.fbtrace_id,
    retryable,
  });
}

function transportError(error: unknown, timeoutMs: number): GraphApiError {
  if (error instanceof GraphApiError) return error;
  const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
  const message = timedOut ? `Graph API did not answer within ${timeoutMs} ms` : 'Graph API unreachable';
  return new GraphApiError(message, { retryable: true, cause: error });
}

/**
 * The slice of the Cloud API this service uses. Every failure is a `GraphApiError` saying whether
 * it is worth retrying; the caller wraps calls in the circuit breaker.
 *
 * @example
 * const graph = createGraphApiClient({ baseUrl: 'https://graph.facebook.com', version: 'v21.0', accessToken });
 * const { wamid } = await graph.sendMessage(phoneNumberId, { messaging_product: 'whatsapp', to, type: 'text', text: { body } });
 */
export function createGraphApiClient(options: GraphApiClientOptions): GraphApiClient {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const base = options.baseUrl.replace(/\/+$/, '');
  const auth = { authorization: `Bearer ${options.accessToken}` };

  async function call(url: string, init: RequestInit): Promise<Response> {
    try {
      const response = await doFetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) throw await errorFromResponse(response);
      return response;
    } catch (error) {
      throw transportError(error, timeoutMs);
    }
  }

  async function readJson(response: Response): Promise<unknown> {
    try {
      return await response.json();
    } catch (error) {
      throw new GraphApiError('Graph API answered with a body that is not JSON', {
        retryable: true,
        cause: error,
      });
    }
  }

  return {
    async sendMessage(phoneNumberId, payload) {
      const url = `${base}/${options.version}/${encodeURIComponent(phoneNumberId)}/messages`;
      const response = await call(url, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
      const parsed = GraphSendResponse.safeParse(await readJson(response));
      // A 2xx without a message id is not a send we can track; retrying could double-send, so fail.
      if (!parsed.success) {
        throw new GraphApiError('Graph API accepted the message without returning its id', {
          status: response.status,
          retryable: false,
        });
      }
      return { wamid: parsed.data.messages[0].id, waId: parsed.data.contacts?.[0]?.wa_id ?? null };
    },

    async markRead(phoneNumberId, wamid, markOptions = {}) {
      const url = `${base}/${options.version}/${encodeURIComponent(phoneNumberId)}/messages`;
      const response = await call(url, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({
          messaging_product: 'whatsapp',
          status: 'read',
          message_id: wamid,
          ...(markOptions.typing ? { typing_indicator: { type: 'text' } } : {}),
        }),
      });
      await response.body?.cancel();
    },

    async getMedia(mediaId) {
      const response = await call(`${base}/${options.version}/${encodeURIComponent(mediaId)}`, {
        method: 'GET',
        headers: auth,
      });
      const parsed = GraphMediaResponse.safeParse(await readJson(response));
      if (!parsed.success) throw new GraphApiError('Graph API media answer has no url', { retryable: false });
      const size = parsed.data.file_size === undefined ? null : Number(parsed.data.file_size);
      return {
        url: parsed.data.url,
        mimeType: parsed.data.mime_type ?? null,
        sha256: parsed.data.sha256 ?? null,
        fileSize: Number.isFinite(size) ? size : null,
      };
    },

    async downloadMedia(url, maxBytes) {
      const response = await call(url, { method: 'GET', headers: auth });
      const declared = Number(response.headers.get('content-length') ?? Number.NaN);
      if (declared > maxBytes) {
        await response.body?.cancel();
        throw new GraphApiError(`media is ${declared} bytes, over the ${maxBytes} limit`, {
          retryable: false,
        });
      }
      // Read in chunks so an undeclared oversized body is cut off instead of buffered whole.
      const chunks: Uint8Array[] = [];
      let total = 0;
      const reader = response.body?.getReader();
      while (reader) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > maxBytes) {
          await reader.cancel();
          throw new GraphApiError(`media is over the ${maxBytes} byte limit`, { retryable: false });
        }
        chunks.push(value);
      }
      return Buffer.concat(chunks);
    },
  };
}
