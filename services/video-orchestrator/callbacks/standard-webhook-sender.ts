import { Webhook } from 'standardwebhooks';
import { request } from 'undici';
import type { AddressPolicy } from '../inputs/address-policy.ts';
import {
  assertLiteralAddressAllowed,
  createPinnedAgent,
  isAddressRefused,
  type LookupAll,
} from '../inputs/pinned-agent.ts';

export interface CallbackMessage {
  /** Stable across retries (`webhook-id`), so receivers can drop duplicates. */
  id: string;
  type: string;
  data: object;
}

/** `retryable`: the queue tries again with backoff; otherwise the delivery is given up. */
export class CallbackError extends Error {
  readonly retryable: boolean;
  readonly status?: number;
  constructor(message: string, retryable: boolean, status?: number) {
    super(message);
    this.name = 'CallbackError';
    this.retryable = retryable;
    this.status = status;
  }
}

export interface CallbackSender {
  send(url: string, message: CallbackMessage): Promise<{ status: number }>;
  close(): Promise<void>;
}

export interface StandardWebhookSenderOptions {
  /** `whsec_<base64>`. */
  secret: string;
  timeoutMs: number;
  addressPolicy?: AddressPolicy;
  lookup?: LookupAll;
  ca?: string | Buffer;
  clock?: () => Date;
}

/**
 * POSTs `{ type, timestamp, data }` signed per Standard Webhooks (`webhook-id`,
 * `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`). The callback URL is the
 * caller's, so it gets the same SSRF guard as media downloads (public addresses only, checked
 * after DNS and pinned); redirects are not followed.
 *
 * @example
 * const sender = createStandardWebhookSender({ secret: config.CALLBACK_SIGNING_SECRET, timeoutMs: 10_000 });
 * await sender.send(render.callback_url, { id: `msg_${render.id}_completed`, type: 'render.completed', data });
 */
export function createStandardWebhookSender(options: StandardWebhookSenderOptions): CallbackSender {
  const webhook = new Webhook(options.secret);
  const agent = createPinnedAgent({
    addressPolicy: options.addressPolicy,
    lookup: options.lookup,
    ca: options.ca,
    headersTimeoutMs: options.timeoutMs,
    bodyTimeoutMs: options.timeoutMs,
  });
  const now = options.clock ?? (() => new Date());

  return {
    async send(url, message) {
      const target = new URL(url);
      if (target.protocol !== 'https:') throw new CallbackError('callback URLs must be https', false);
      try {
        assertLiteralAddressAllowed(target.hostname, options.addressPolicy);
      } catch (error) {
        throw new CallbackError((error as Error).message, false);
      }
      const timestamp = now();
      const body = JSON.stringify({
        type: message.type,
        timestamp: timestamp.toISOString(),
        data: message.data,
      });
      const signature = webhook.sign(message.id, timestamp, body);
      let status: number;
      try {
        const response = await request(target, {
          method: 'POST',
          dispatcher: agent,
          signal: AbortSignal.timeout(options.timeoutMs),
          headers: {
            'content-type': 'application/json',
            'user-agent': 'easymo-video-orchestrator/1',
            'webhook-id': message.id,
            'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
            'webhook-signature': signature,
          },
          body,
        });
        status = response.statusCode;
        await response.body.dump();
      } catch (error) {
        if (isAddressRefused(error))
          throw new CallbackError('callback host resolves to a refused address', false);
        throw new CallbackError(`callback delivery failed: ${(error as Error).message}`, true);
      }
      if (status >= 200 && status < 300) return { status };
      // 410 Gone is the receiver saying "stop"; everything else may be temporary on their side.
      throw new CallbackError(`callback answered ${status}`, status !== 410, status);
    },
    close: () => agent.close(),
  };
}
