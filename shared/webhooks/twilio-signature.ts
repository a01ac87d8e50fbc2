import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** POST parameters as Twilio sends them; a name repeated in the form becomes an array. */
export type TwilioParams = Record<string, string | readonly string[]>;

/**
 * The `X-Twilio-Signature` Twilio computes: HMAC-SHA1 (keyed by the account's auth token) over the full
 * URL it requested, followed by every POST parameter sorted by name as `name + value`, base64-encoded.
 * Repeated names contribute each distinct value in sorted order, as Twilio's own validators do.
 *
 * @example
 * const signature = computeTwilioSignature(authToken, 'https://voice.example.com/webhooks/voice/status', params);
 */
export function computeTwilioSignature(authToken: string, url: string, params: TwilioParams = {}): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name];
    if (typeof value === 'string') {
      data += name + value;
    } else {
      for (const item of [...new Set(value)].sort()) data += name + item;
    }
  }
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

const DEFAULT_PORTS: Record<string, string> = { 'https:': '443', 'wss:': '443', 'http:': '80', 'ws:': '80' };
// scheme://[userinfo@]host[:port] then the rest (path, query) untouched, so we never re-encode what Twilio signed.
const AUTHORITY = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*@)?(\[[^\]]*\]|[^/?#:]*)(:\d*)?(.*)$/is;

/**
 * The spellings of one URL that Twilio may have signed: as given, without its port, and with the
 * scheme's default port spelled out. A proxy or Twilio itself may add or drop `:443`, so its own SDKs
 * accept both; we do the same.
 */
export function twilioUrlVariants(url: string): string[] {
  const match = AUTHORITY.exec(url);
  if (!match) return [url];
  const [, scheme, userinfo = '', host, port = '', rest] = match;
  const withoutPort = scheme + userinfo + host + rest;
  const defaultPort = DEFAULT_PORTS[scheme.slice(0, -2).toLowerCase()];
  const withPort =
    port && port !== ':' ? url : defaultPort ? `${scheme}${userinfo}${host}:${defaultPort}${rest}` : url;
  return [...new Set([url, withoutPort, withPort])];
}

/**
 * WHATWG URL parsers escape `'` in a query as `%27` while older ones (and Twilio's signer) may not, so
 * both spellings are tried, as twilio-node does with its legacy-querystring fallback.
 */
function quoteVariants(url: string): string[] {
  const variants = [url];
  if (url.includes("'")) variants.push(url.replaceAll("'", '%27'));
  if (url.includes('%27')) variants.push(url.replaceAll('%27', "'"));
  return variants;
}

function safeEqual(expected: string, actual: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(actual);
  // timingSafeEqual throws on a length mismatch; a wrong length is simply a wrong signature.
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface TwilioSignatureCheck {
  authToken: string;
  /** The public URL Twilio requested, query string included (`wss://…` for a Media Streams upgrade). */
  url: string;
  /** Form-encoded POST parameters; empty for GET, WebSocket upgrades and JSON bodies. */
  params?: TwilioParams;
  /** The `X-Twilio-Signature` header; missing or empty never verifies. */
  signature: string | null | undefined;
}

/**
 * True when `signature` is Twilio's signature of this request, comparing in constant time.
 *
 * @example
 * const ok = verifyTwilioSignature({ authToken, url: publicUrl, params, signature: c.req.header('x-twilio-signature') });
 */
export function verifyTwilioSignature(check: TwilioSignatureCheck): boolean {
  const { authToken, url, params = {}, signature } = check;
  if (!signature || !authToken) return false;
  return quoteVariants(url)
    .flatMap(twilioUrlVariants)
    .some((candidate) => safeEqual(computeTwilioSignature(authToken, candidate, params), signature));
}

/**
 * Requests with a JSON body are signed over the URL alone, and the URL carries `bodySHA256`, the hex
 * SHA-256 of the raw body; both must hold.
 */
export function verifyTwilioBodySignature(
  check: Omit<TwilioSignatureCheck, 'params'> & { body: string },
): boolean {
  const query = check.url.indexOf('?');
  const bodyHash = query === -1 ? null : new URLSearchParams(check.url.slice(query + 1)).get('bodySHA256');
  if (!bodyHash) return false;
  const actual = createHash('sha256').update(check.body, 'utf8').digest('hex');
  return safeEqual(bodyHash, actual) && verifyTwilioSignature({ ...check, params: {} });
}

/** Parses an `application/x-www-form-urlencoded` body, keeping repeated names as arrays. */
export function parseTwilioForm(body: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(body)) {
    const seen = out[name];
    if (seen === undefined) out[name] = value;
    else if (typeof seen === 'string') out[name] = [seen, value];
    else seen.push(value);
  }
  return out;
}
