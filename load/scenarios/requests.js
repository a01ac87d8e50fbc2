// Plain ECMAScript shared by the k6 scripts and the Node runner: no imports, no Node or k6 APIs.
// Each builder returns a request description ({ service, method, path, headers, body, expected,
// checks }); the runner that executes it supplies HTTP, HMAC and the clock.

/** A 160×90 PNG, small enough to upload from k6 and Node alike; renders use it as their one clip. */
export const LOAD_PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAKAAAABaCAIAAACwpMoFAAAAoklEQVR42u3RAQ0AAAjDsDvBIjpQjQ9oMgVralqHiwWABViABViABViAAQuwAAuwAAuwAAMWYAEWYAEWYAEWYMACLMACLMACLMCABViABViABViAAQuwAAuwAAuwAAswYAEWYAEWYAEWYMACLMACLMACLMCAXQAswAIswAIswAIMWIAFWIAFWIAFGLAAC7AAC7AAC7AAAxZgARZgARZgAf7VApl7wdRC/JHrAAAAAElFTkSuQmCC';

const HEX = '0123456789abcdef';

/**
 * @param {() => number} random
 * @param {number} length
 */
export function randomHex(random, length) {
  let out = '';
  for (let i = 0; i < length; i++) out += HEX[Math.floor(random() * 16)];
  return out;
}

/**
 * A Rwandan mobile number in E.164 (EasyMO's market) that load traffic spreads over ten million
 * destinations, so per-destination limits never trip on ordinary load.
 *
 * @param {() => number} random
 */
export function randomMsisdn(random) {
  let digits = '';
  for (let i = 0; i < 7; i++) digits += Math.floor(random() * 10);
  return `+2507${Math.floor(random() * 3) + 2}${digits}`;
}

/**
 * Case-insensitive header lookup: k6 canonicalises header names, undici lower-cases them.
 *
 * @param {{ headers?: Record<string, string | string[] | undefined> }} res
 * @param {string} name
 */
export function headerOf(res, name) {
  const wanted = name.toLowerCase();
  for (const key of Object.keys(res.headers ?? {})) {
    if (key.toLowerCase() === wanted) {
      const value = res.headers?.[key];
      return Array.isArray(value) ? value[0] : value;
    }
  }
  return undefined;
}

/** @param {{ body?: string | null }} res */
export function jsonOf(res) {
  try {
    return typeof res.body === 'string' ? JSON.parse(res.body) : null;
  } catch {
    return null;
  }
}

/**
 * application/x-www-form-urlencoded as Twilio sends it.
 *
 * @param {Record<string, string>} params
 */
export function formEncode(params) {
  return Object.keys(params)
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(params[k]).replace(/%20/g, '+')}`)
    .join('&');
}

/**
 * The string Twilio signs: the full URL, then every POST parameter name and value, sorted by name.
 *
 * @param {string} fullUrl
 * @param {Record<string, string>} params
 */
export function twilioSigningPayload(fullUrl, params) {
  let data = fullUrl;
  for (const key of Object.keys(params).sort()) data += key + params[key];
  return data;
}

/** @param {Date} date RFC 2822 in UTC, the form Twilio puts in `Timestamp`. */
export function rfc2822(date) {
  return date.toUTCString().replace('GMT', '+0000');
}

/**
 * @typedef {object} Signer
 * @property {(secret: string, data: string) => string} hmacSha256Hex
 * @property {(secret: string, data: string) => string} hmacSha1Base64
 */

export function healthRequest(/** @type {string} */ service) {
  return {
    service,
    method: 'GET',
    path: '/health',
    name: 'GET /health',
    expected: [200],
    checks: {
      'health is 200 ok': (/** @type {any} */ res) => res.status === 200 && jsonOf(res)?.status === 'ok',
    },
  };
}

/**
 * A WhatsApp Cloud API webhook delivery (one inbound text), signed as Meta signs it:
 * `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(raw body, app secret)>`.
 *
 * @param {{ appSecret: string, phoneNumberId: string, displayPhoneNumber: string, sign: Signer, random: () => number, now: () => number, uid: string }} o
 */
export function whatsappWebhookRequest(o) {
  const from = randomMsisdn(o.random).slice(1);
  const body = JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: 'load-waba',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: o.displayPhoneNumber, phone_number_id: o.phoneNumberId },
              contacts: [{ profile: { name: 'Load Tester' }, wa_id: from }],
              messages: [
                {
                  from,
                  id: `wamid.load.${o.uid}`,
                  timestamp: String(Math.floor(o.now() / 1000)),
                  type: 'text',
                  text: { body: 'load test: book a moto to Kimironko' },
                },
              ],
            },
          },
        ],
      },
    ],
  });
  return {
    service: 'whatsapp-webhook',
    method: 'POST',
    path: '/webhook',
    name: 'POST /webhook',
    headers: {
      'Content-Type': 'application/json',
      'X-Hub-Signature-256': `sha256=${o.sign.hmacSha256Hex(o.appSecret, body)}`,
    },
    body,
    expected: [200],
    checks: { 'whatsapp webhook accepted': (/** @type {any} */ res) => res.status === 200 },
  };
}

/** @param {{ apiKey: string, random: () => number }} o */
export function whatsappSendRequest(o) {
  return {
    service: 'whatsapp-webhook',
    method: 'POST',
    path: '/messages',
    name: 'POST /messages',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${o.apiKey}` },
    // A notification to someone who has not written first: a template, as WhatsApp requires outside
    // the 24-hour window (a free-form text would be refused with 422).
    body: JSON.stringify({
      to: randomMsisdn(o.random),
      type: 'template',
      template: { name: 'ride_update', language: 'en' },
    }),
    expected: [201, 202],
    checks: {
      'whatsapp message accepted': (/** @type {any} */ res) => res.status === 201 || res.status === 202,
    },
  };
}

const CALL_PROGRESS = [
  { status: 'initiated', sequence: 0 },
  { status: 'ringing', sequence: 1 },
  { status: 'in-progress', sequence: 2 },
  { status: 'completed', sequence: 3 },
];

/**
 * A Twilio voice status callback, form-encoded and signed as Twilio signs it:
 * `X-Twilio-Signature: base64(HMAC-SHA1(auth token, full URL + sorted name+value pairs))`.
 *
 * @param {{ publicUrl: string, authToken: string, accountSid: string, callSid?: string, sign: Signer, random: () => number, now: () => number }} o
 */
export function voiceStatusRequest(o) {
  const path = '/webhooks/voice/status';
  const progress = CALL_PROGRESS[Math.floor(o.random() * CALL_PROGRESS.length)];
  /** @type {Record<string, string>} */
  const params = {
    AccountSid: o.accountSid,
    ApiVersion: '2010-04-01',
    CallSid: o.callSid ?? `CA${randomHex(o.random, 32)}`,
    CallStatus: progress.status,
    Direction: 'outbound-api',
    From: '+250788000100',
    SequenceNumber: String(progress.sequence),
    Timestamp: rfc2822(new Date(o.now())),
    To: randomMsisdn(o.random),
  };
  if (progress.status === 'completed') params.CallDuration = String(Math.floor(o.random() * 300) + 1);
  const fullUrl = o.publicUrl.replace(/\/$/, '') + path;
  return {
    service: 'voice-bridge',
    method: 'POST',
    path,
    name: 'POST /webhooks/voice/status',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      'X-Twilio-Signature': o.sign.hmacSha1Base64(o.authToken, twilioSigningPayload(fullUrl, params)),
    },
    body: formEncode(params),
    expected: [200],
    checks: { 'voice status callback accepted': (/** @type {any} */ res) => res.status === 200 },
  };
}

/** @param {{ apiKey: string, to: string, expected?: number[] }} o */
export function outboundCallRequest(o) {
  const expected = o.expected ?? [201];
  return {
    service: 'voice-bridge',
    method: 'POST',
    path: '/calls/outbound',
    name: 'POST /calls/outbound',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${o.apiKey}` },
    body: JSON.stringify({ to: o.to }),
    expected,
    checks: {
      'outbound call created': (/** @type {any} */ res) => expected.includes(res.status),
    },
  };
}

/**
 * The seed's "outbound call validation" check: a destination that is not E.164 is refused with a 400
 * problem naming `body.to`.
 *
 * @param {{ apiKey: string }} o
 */
export function invalidOutboundCallRequest(o) {
  return {
    service: 'voice-bridge',
    method: 'POST',
    path: '/calls/outbound',
    name: 'POST /calls/outbound (invalid)',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${o.apiKey}` },
    body: JSON.stringify({ to: '0788-not-a-number' }),
    expected: [400],
    checks: {
      'outbound call validation names body.to': (/** @type {any} */ res) =>
        res.status === 400 && typeof res.body === 'string' && res.body.includes('body.to'),
    },
  };
}

/** @param {{ apiKey: string }} o */
export function assetUploadRequest(o) {
  return {
    service: 'video-orchestrator',
    method: 'POST',
    path: '/assets',
    name: 'POST /assets',
    headers: { Authorization: `Bearer ${o.apiKey}` },
    multipart: { field: 'file', filename: 'load.png', contentType: 'image/png', base64: LOAD_PNG_BASE64 },
    expected: [201],
    checks: {
      'asset stored': (/** @type {any} */ res) => res.status === 201 && typeof jsonOf(res)?.id === 'string',
    },
  };
}

/** @param {{ apiKey: string, assetId: string }} o */
export function renderSubmitRequest(o) {
  return {
    service: 'video-orchestrator',
    method: 'POST',
    path: '/renders',
    name: 'POST /renders',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${o.apiKey}` },
    body: JSON.stringify({
      output: { width: 160, height: 90, fps: 10, format: 'mp4' },
      clips: [{ type: 'image', src: `asset:${o.assetId}`, duration: 1 }],
    }),
    expected: [202],
    checks: {
      'render accepted': (/** @type {any} */ res) =>
        res.status === 202 && typeof jsonOf(res)?.id === 'string',
    },
  };
}

/** @param {{ apiKey: string, renderId: string }} o */
export function renderStatusRequest(o) {
  return {
    service: 'video-orchestrator',
    method: 'GET',
    path: `/renders/${encodeURIComponent(o.renderId)}`,
    name: 'GET /renders/:id',
    headers: { Authorization: `Bearer ${o.apiKey}` },
    expected: [200],
    checks: {
      'render status readable': (/** @type {any} */ res) =>
        res.status === 200 && typeof jsonOf(res)?.status === 'string',
    },
  };
}

/** Render states after which polling stops. */
export const RENDER_DONE = ['completed', 'succeeded', 'done', 'ready'];
export const RENDER_FAILED = ['failed', 'error', 'cancelled', 'canceled'];
