import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import { signMetaPayload } from '../../shared/webhooks/meta-signature.ts';
import { checkMessage, checkReadReceipt } from './graph-message-rules.ts';

/**
 * A stand-in for Meta's WhatsApp Cloud API, for development, end-to-end and load tests:
 * - `POST /{version}/{phoneNumberId}/messages` answers like the Graph API (or with Graph-style
 *   errors), then posts signed statuses `sent` → `delivered` → `read` to the webhook;
 * - `GET /{version}/{mediaId}` and `GET /sandbox/whatsapp/media/{mediaId}` serve media like Meta;
 * - `POST /sandbox/whatsapp/inbound` delivers an inbound message signed as Meta would;
 * - `POST /sandbox/whatsapp/faults` makes the next sends fail (5xx, throttling, timeout, rejection);
 * - `GET|DELETE /sandbox/whatsapp/messages` lists or forgets what was sent;
 * - `POST /sandbox/whatsapp/agent` is an echo agent for AGENT_URL (`{ text }` → `{ reply }`).
 * Message bodies are checked by the Graph API's rules (graph-message-rules.ts); `{ status: 'read' }`
 * bodies are read receipts (with a typing indicator) and answer `{ success: true }`. With
 * `serviceWindowHours`, a free-form message to a number that has not written (through injectInbound)
 * within that window is accepted, then failed with 131047 as Meta does.
 */
export interface GraphApiSandboxOptions {
  /** Where Meta would deliver webhooks, e.g. http://127.0.0.1:8080/webhook (a function when known later). */
  webhookUrl: string | (() => string);
  /** App secret the deliveries are signed with (the service's WHATSAPP_APP_SECRET). */
  appSecret: string;
  fetch?: typeof fetch;
  /** Delay of each status after the send answer, in ms. Default sent 50, delivered 250, read 1000. */
  delaysMs?: { sent?: number; delivered?: number; read?: number };
  /** Post statuses back at all (default true). */
  statusCallbacks?: boolean;
  /** Recipients (E.164 or digits) answered with Graph error 131030, as numbers outside a test allow-list. */
  rejectNumbers?: string[];
  /** When set, sends must carry this bearer token (else Graph error 190). */
  accessToken?: string;
  /** The business number the inbound messages are addressed to. */
  phoneNumberId?: string;
  displayPhoneNumber?: string;
  wabaId?: string;
  /** Attempts per webhook delivery (Meta retries too); default 3. */
  deliveryAttempts?: number;
  /** How long a `timeout` fault holds the answer, in ms; default 15000. */
  hangMs?: number;
  onError?: (error: unknown, context: string) => void;
  /** Enforce the customer-service window (Meta: 24 h): free-form outside it fails with 131047. */
  serviceWindowHours?: number;
}

export interface SandboxReadReceipt {
  phoneNumberId: string;
  messageId: string;
  typing: boolean;
  at: string;
}

export interface SandboxSentMessage {
  wamid: string;
  phoneNumberId: string;
  to: string;
  type: string;
  payload: Record<string, unknown>;
  at: string;
  statuses: string[];
}

export type SandboxFaultMode = 'none' | 'server-error' | 'throttle' | 'timeout' | 'reject';

export interface SandboxFault {
  mode: SandboxFaultMode;
  /** How many sends it applies to; omitted: until cleared. */
  count?: number;
  /** Only sends to this number (E.164 or digits); omitted: every send. */
  to?: string;
}

export interface InboundInjection {
  from: string;
  name?: string;
  text?: string;
  /** Message type; default `text` (or the given `content`'s type). */
  type?: string;
  /** The type-specific object (e.g. `{ id, mime_type }` for image, `{ type: 'button_reply', ... }`). */
  content?: unknown;
  /** Reuse a wamid (to play a duplicate delivery). */
  id?: string;
  /** Deliver the same signed body this many times (Meta's retries); default 1. */
  repeat?: number;
  context?: { from?: string; id: string };
}

export type GraphApiSandbox = Hono & {
  /** Every message accepted, in order. */
  readonly sent: SandboxSentMessage[];
  /** Every read receipt / typing indicator, in order. */
  readonly receipts: SandboxReadReceipt[];
  setFault(fault: SandboxFault): void;
  /** Resolves when every scheduled status callback has been delivered (or given up). */
  idle(): Promise<void>;
  /** Cancels pending callbacks and held answers. */
  close(): void;
  /** Builds, signs and delivers an inbound message; resolves with the webhook's statuses. */
  injectInbound(input: InboundInjection): Promise<{ wamid: string; deliveries: number[] }>;
};

const VERSION = ':version{v\\d+\\.\\d+}';

function digits(phone: string): string {
  return phone.replace(/\D/g, '');
}

function fbtraceId(): string {
  return randomBytes(9).toString('base64url');
}

export function newWamid(): string {
  return `wamid.${randomBytes(24).toString('base64url')}`;
}

function graphError(status: number, code: number, message: string, details: string, subcode?: number) {
  return {
    status,
    body: {
      error: {
        message: `(#${code}) ${message}`,
        type: 'OAuthException',
        code,
        ...(subcode ? { error_subcode: subcode } : {}),
        error_data: { messaging_product: 'whatsapp', details },
        fbtrace_id: fbtraceId(),
      },
    },
  };
}

const SEND_TYPES = new Set([
  'text',
  'template',
  'interactive',
  'image',
  'audio',
  'video',
  'document',
  'sticker',
  'location',
  'contacts',
  'reaction',
]);

/** The media the sandbox serves: a tiny deterministic file per id. */
function mediaBytes(mediaId: string): Uint8Array {
  return new TextEncoder().encode(`sandbox media ${mediaId}\n`);
}

/**
 * @example
 * const sandbox = createGraphApiSandbox({ webhookUrl: 'http://127.0.0.1:8080/webhook', appSecret });
 * root.route('/', sandbox); // e.g. in sandbox/main.ts on port 4010
 */
export function createGraphApiSandbox(options: GraphApiSandboxOptions): GraphApiSandbox {
  const doFetch = options.fetch ?? fetch;
  const delays = { sent: 50, delivered: 250, read: 1000, ...options.delaysMs };
  const phoneNumberId = options.phoneNumberId ?? '100000000000001';
  const displayPhoneNumber = options.displayPhoneNumber ?? '15550000001';
  const wabaId = options.wabaId ?? '200000000000001';
  const attempts = options.deliveryAttempts ?? 3;
  const rejected = new Set((options.rejectNumbers ?? []).map(digits));
  const sent: SandboxSentMessage[] = [];
  const receipts: SandboxReadReceipt[] = [];
  // When each number last wrote to us (injectInbound): the customer-service window runs from there.
  const lastInbound = new Map<string, number>();
  // Pending waits and how to end them early: close() resolves them all.
  const timers = new Map<ReturnType<typeof setTimeout>, () => void>();
  const inFlight = new Set<Promise<unknown>>();
  const registeredMedia = new Map<string, string>();
  let fault: SandboxFault = { mode: 'none' };
  let closed = false;

  const webhookUrl = () =>
    typeof options.webhookUrl === 'function' ? options.webhookUrl() : options.webhookUrl;
  const report = (error: unknown, context: string) => options.onError?.(error, context);

  const later = (ms: number) =>
    new Promise<void>((resolve) => {
      if (closed) return resolve();
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.set(timer, resolve);
    });

  const track = <T>(promise: Promise<T>): Promise<T> => {
    inFlight.add(promise);
    promise.then(
      () => inFlight.delete(promise),
      () => inFlight.delete(promise),
    );
    return promise;
  };

  /** Signs and posts a body like Meta: retried a few times on anything but 200. */
  async function deliver(body: string): Promise<number> {
    let status = 0;
    for (let attempt = 1; attempt <= attempts && !closed; attempt += 1) {
      try {
        const response = await doFetch(webhookUrl(), {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-hub-signature-256': signMetaPayload(body, options.appSecret),
            'user-agent': 'facebookexternalua',
          },
          body,
        });
        status = response.status;
        await response.body?.cancel();
        if (status === 200) return status;
      } catch (error) {
        report(error, 'webhook delivery');
      }
      if (attempt < attempts) await later(200 * attempt);
    }
    return status;
  }

  function envelope(value: Record<string, unknown>): string {
    return JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: wabaId,
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: displayPhoneNumber, phone_number_id: phoneNumberId },
                ...value,
              },
            },
          ],
        },
      ],
    });
  }

  function statusBody(message: SandboxSentMessage, status: string): string {
    const conversation = {
      id: `sandbox-${digits(message.to)}`,
      ...(status === 'sent' ? { expiration_timestamp: String(Math.floor(Date.now() / 1000) + 86_400) } : {}),
      origin: { type: message.type === 'template' ? 'marketing' : 'service' },
    };
    return envelope({
      statuses: [
        {
          id: message.wamid,
          status,
          timestamp: String(Math.floor(Date.now() / 1000)),
          recipient_id: digits(message.to),
          conversation,
          pricing: { billable: true, pricing_model: 'PMP', category: conversation.origin.type },
        },
      ],
    });
  }

  /** Meta accepts a free-form message outside the window, then fails it. */
  function reengagementFailure(message: SandboxSentMessage): string {
    return envelope({
      statuses: [
        {
          id: message.wamid,
          status: 'failed',
          timestamp: String(Math.floor(Date.now() / 1000)),
          recipient_id: digits(message.to),
          errors: [
            {
              code: 131047,
              title: 'Re-engagement message',
              message: 'Re-engagement message',
              error_data: {
                details:
                  'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
              },
              href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/',
            },
          ],
        },
      ],
    });
  }

  function outsideWindow(message: SandboxSentMessage): boolean {
    if (options.serviceWindowHours === undefined || message.type === 'template') return false;
    const last = lastInbound.get(digits(message.to));
    return last === undefined || Date.now() - last > options.serviceWindowHours * 3_600_000;
  }

  function scheduleStatuses(message: SandboxSentMessage): void {
    if (options.statusCallbacks === false) return;
    if (outsideWindow(message)) {
      track(
        (async () => {
          await later(delays.sent);
          if (closed) return;
          message.statuses.push('failed');
          await deliver(reengagementFailure(message));
        })().catch((error) => report(error, 'status callbacks')),
      );
      return;
    }
    track(
      (async () => {
        let elapsed = 0;
        for (const status of ['sent', 'delivered', 'read'] as const) {
          await later(Math.max(0, delays[status] - elapsed));
          elapsed = delays[status];
          if (closed) return;
          message.statuses.push(status);
          await deliver(statusBody(message, status));
        }
      })().catch((error) => report(error, 'status callbacks')),
    );
  }

  function takeFault(to: string): SandboxFaultMode {
    if (fault.mode === 'none') return 'none';
    if (fault.to !== undefined && digits(fault.to) !== digits(to)) return 'none';
    const mode = fault.mode;
    if (fault.count !== undefined) {
      fault.count -= 1;
      if (fault.count <= 0) fault = { mode: 'none' };
    }
    return mode;
  }

  async function injectInbound(input: InboundInjection): Promise<{ wamid: string; deliveries: number[] }> {
    const from = digits(input.from);
    lastInbound.set(from, Date.now());
    const type = input.type ?? 'text';
    const wamid = input.id ?? newWamid();
    let content = input.content;
    if (content === undefined && type === 'text') content = { body: input.text ?? '' };
    if (content === undefined && ['image', 'audio', 'video', 'document', 'sticker'].includes(type)) {
      const mediaId = String(10 ** 15 + Math.floor(Math.random() * 10 ** 15));
      content = { id: mediaId, mime_type: 'application/octet-stream', sha256: 'sandbox' };
    }
    const mediaId = (content as { id?: unknown } | undefined)?.id;
    if (typeof mediaId === 'string') registeredMedia.set(mediaId, type);
    const message = {
      from,
      id: wamid,
      timestamp: String(Math.floor(Date.now() / 1000)),
      type,
      ...(input.context ? { context: input.context } : {}),
      ...(content === undefined ? {} : { [type]: content }),
    };
    const body = envelope({
      contacts: [{ profile: { name: input.name ?? 'Sandbox User' }, wa_id: from }],
      messages: [message],
    });
    const deliveries: number[] = [];
    for (let i = 0; i < Math.max(1, input.repeat ?? 1); i += 1) deliveries.push(await deliver(body));
    return { wamid, deliveries };
  }

  const app = new Hono();

  app.post('/sandbox/whatsapp/inbound', async (c) => {
    const input = (await c.req.json().catch(() => null)) as InboundInjection | null;
    if (!input || typeof input.from !== 'string' || digits(input.from).length < 6) {
      return c.json({ error: 'body needs from (E.164) and text, or type + content' }, 400);
    }
    return c.json(await injectInbound(input));
  });

  app.post('/sandbox/whatsapp/faults', async (c) => {
    const body = (await c.req.json().catch(() => null)) as
      | (SandboxFault & { rejectNumbers?: string[] })
      | null;
    const modes: SandboxFaultMode[] = ['none', 'server-error', 'throttle', 'timeout', 'reject'];
    if (!body || !modes.includes(body.mode))
      return c.json({ error: `mode must be one of ${modes.join(', ')}` }, 400);
    fault = { mode: body.mode, count: body.count, to: body.to };
    for (const number of body.rejectNumbers ?? []) rejected.add(digits(number));
    return c.json({ fault, rejectNumbers: [...rejected] });
  });

  app.post('/sandbox/whatsapp/agent', async (c) => {
    const input = (await c.req.json().catch(() => ({}))) as { text?: unknown };
    if (typeof input.text !== 'string' || input.text.trim() === '') return c.json({});
    return c.json({ reply: `Echo: ${input.text}` });
  });

  app.get('/sandbox/whatsapp/messages', (c) => c.json({ messages: sent }));
  app.delete('/sandbox/whatsapp/messages', (c) => {
    sent.length = 0;
    return c.body(null, 204);
  });

  app.get('/sandbox/whatsapp/media/:mediaId', (c) => {
    if (!c.req.header('authorization')?.startsWith('Bearer '))
      return c.json(graphError(401, 190, 'x', 'x').body, 401);
    const bytes = mediaBytes(c.req.param('mediaId'));
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { 'content-type': 'application/octet-stream' });
  });

  app.post(`/${VERSION}/:phoneNumberId/messages`, async (c) => {
    const auth = c.req.header('authorization') ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (!token || (options.accessToken && token !== options.accessToken)) {
      const e = graphError(
        401,
        190,
        'Invalid OAuth access token',
        'Invalid OAuth access token - Cannot parse access token',
      );
      return c.json(e.body, 401);
    }
    const payload = (await c.req.json().catch(() => null)) as Record<string, unknown> | null;
    const to = typeof payload?.to === 'string' ? payload.to : '';
    const type = typeof payload?.type === 'string' ? payload.type : 'text';
    if (payload?.messaging_product !== 'whatsapp') {
      const e = graphError(400, 100, 'Invalid parameter', 'The parameter messaging_product is required.');
      return c.json(e.body, 400);
    }
    if (payload.status !== undefined) {
      const violation = checkReadReceipt(payload);
      if (violation) {
        const e = graphError(400, violation.code, 'Invalid parameter', violation.details);
        return c.json(e.body, 400);
      }
      receipts.push({
        phoneNumberId: c.req.param('phoneNumberId'),
        messageId: payload.message_id as string,
        typing: payload.typing_indicator !== undefined,
        at: new Date().toISOString(),
      });
      return c.json({ success: true });
    }
    if (digits(to).length < 7 || digits(to).length > 15) {
      const e = graphError(400, 100, 'Invalid parameter', `Invalid WhatsApp recipient: ${to || '(empty)'}`);
      return c.json(e.body, 400);
    }
    if (!SEND_TYPES.has(type)) {
      const e = graphError(400, 100, 'Invalid parameter', `Parameter value is not valid for type ${type}`);
      return c.json(e.body, 400);
    }
    const violation = checkMessage(payload);
    if (violation) {
      const e = graphError(400, violation.code, 'Invalid parameter', violation.details);
      return c.json(e.body, 400);
    }

    const mode = rejected.has(digits(to)) ? 'reject' : takeFault(to);
    if (mode === 'reject') {
      const e = graphError(
        400,
        131030,
        'Recipient phone number not in allowed list',
        'Recipient phone number not in allowed list: Add recipient phone number to recipient list and try again.',
      );
      return c.json(e.body, 400);
    }
    if (mode === 'server-error') {
      const e = graphError(
        500,
        131000,
        'Something went wrong',
        'Message failed to send because of an unknown error.',
      );
      return c.json(e.body, 500);
    }
    if (mode === 'throttle') {
      const e = graphError(429, 130429, 'Rate limit hit', 'Cloud API message throughput has been reached.');
      return c.json(e.body, 429);
    }
    if (mode === 'timeout') {
      await later(options.hangMs ?? 15_000);
      const e = graphError(503, 2, 'Service temporarily unavailable', 'The request timed out.');
      return c.json(e.body, 503);
    }

    const message: SandboxSentMessage = {
      wamid: newWamid(),
      phoneNumberId: c.req.param('phoneNumberId'),
      to,
      type,
      payload,
      at: new Date().toISOString(),
      statuses: [],
    };
    sent.push(message);
    scheduleStatuses(message);
    return c.json({
      messaging_product: 'whatsapp',
      contacts: [{ input: to, wa_id: digits(to) }],
      messages: [{ id: message.wamid, ...(type === 'template' ? { message_status: 'accepted' } : {}) }],
    });
  });

  app.get(`/${VERSION}/:mediaId`, (c) => {
    const mediaId = c.req.param('mediaId');
    const bytes = mediaBytes(mediaId);
    const origin = new URL(c.req.url).origin;
    return c.json({
      messaging_product: 'whatsapp',
      url: `${origin}/sandbox/whatsapp/media/${encodeURIComponent(mediaId)}`,
      mime_type: registeredMedia.has(mediaId) ? 'application/octet-stream' : 'image/jpeg',
      sha256: 'sandbox',
      file_size: bytes.byteLength,
      id: mediaId,
    });
  });

  app.get('/sandbox/whatsapp/receipts', (c) => c.json({ receipts }));

  return Object.assign(app, {
    sent,
    receipts,
    setFault(next: SandboxFault) {
      fault = { ...next };
    },
    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    close() {
      closed = true;
      for (const [timer, resolve] of timers) {
        clearTimeout(timer);
        resolve();
      }
      timers.clear();
    },
    injectInbound,
  }) as GraphApiSandbox;
}
