import { Webhook } from 'standardwebhooks';
import { DependencyError } from '../../shared/resilience/index.ts';

/** One event for a handler: `id` is the `webhook-id`, the same on every attempt and replay. */
export interface HandlerEvent {
  id: string;
  type: string;
  /** When the event happened (the message's arrival), not when this attempt is made. */
  timestamp: Date;
  data: object;
}

/** A handler's 2xx answer; `body` is its JSON (null when empty or not JSON). */
export interface HandlerAnswer {
  status: number;
  body: unknown;
}

export interface HandlerClientOptions {
  url: string;
  /** `whsec_<base64>`. */
  secret: string;
  timeoutMs: number;
  fetch?: typeof fetch;
  clock?: () => Date;
}

/** A handler's answer is read up to this much (it only carries stickiness). */
const MAX_ANSWER_BYTES = 64 * 1024;

async function readAnswer(response: Response): Promise<unknown> {
  if (!response.body) return null;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_ANSWER_BYTES) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '' || !(response.headers.get('content-type') ?? '').includes('json')) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/**
 * POSTs `{ type, timestamp, data }` to one handler, signed per Standard Webhooks (`webhook-id`,
 * `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`); a handler verifies it with any
 * Standard Webhooks library and the route's secret. Redirects are not followed. Anything but a 2xx
 * throws a DependencyError: 410 Gone is the handler saying "stop" (not retried), the rest is retried.
 *
 * @example
 * const post = createHandlerClient({ url: route.url, secret: route.secret, timeoutMs: 10_000 });
 * const { status, body } = await post({ id: delivery.id, type: 'whatsapp.message.received', timestamp, data });
 */
export function createHandlerClient(options: HandlerClientOptions) {
  const webhook = new Webhook(options.secret);
  const doFetch = options.fetch ?? fetch;
  const now = options.clock ?? (() => new Date());

  return async function postToHandler(event: HandlerEvent): Promise<HandlerAnswer> {
    const body = JSON.stringify({
      type: event.type,
      timestamp: event.timestamp.toISOString(),
      data: event.data,
    });
    const signedAt = now();
    let response: Response;
    try {
      response = await doFetch(options.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'easymo-whatsapp-webhook/1',
          'webhook-id': event.id,
          'webhook-timestamp': String(Math.floor(signedAt.getTime() / 1000)),
          'webhook-signature': webhook.sign(event.id, signedAt, body),
        },
        body,
      });
    } catch (error) {
      const reason = (error as Error).name === 'TimeoutError' ? 'timed out' : (error as Error).message;
      throw new DependencyError(`handler unreachable: ${reason}`, { cause: error });
    }
    if (response.status >= 200 && response.status < 300) {
      return { status: response.status, body: await readAnswer(response) };
    }
    await response.body?.cancel();
    throw new DependencyError(`handler answered ${response.status}`, {
      status: response.status,
      retryable: response.status !== 410,
    });
  };
}

export type PostToHandler = ReturnType<typeof createHandlerClient>;
