import { createHmac, timingSafeEqual } from 'node:crypto';

/** Meta signs every webhook delivery with this header (Hono/Fetch headers are case-insensitive). */
export const META_SIGNATURE_HEADER = 'x-hub-signature-256';

const PREFIX = 'sha256=';
const HEX_DIGEST = /^[0-9a-fA-F]{64}$/;

export type MetaSignatureFailure = 'missing' | 'malformed' | 'mismatch';
export type MetaSignatureResult = { ok: true } | { ok: false; reason: MetaSignatureFailure };

function toBytes(body: string | Uint8Array): Uint8Array {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

/**
 * Signs a body the way Meta does: `sha256=` + hex HMAC-SHA256 of the raw bytes with the app secret.
 * Used by the sandbox and tests to play Meta.
 *
 * @example
 * const header = signMetaPayload(rawBody, appSecret); // 'sha256=5f2b…'
 */
export function signMetaPayload(body: string | Uint8Array, appSecret: string): string {
  return PREFIX + createHmac('sha256', appSecret).update(toBytes(body)).digest('hex');
}

/**
 * Verifies `X-Hub-Signature-256` over the **raw** body, before anything parses it. The digest is
 * compared in constant time; only a well-formed header reaches the comparison, so a failure says
 * whether the header was missing, malformed (wrong prefix, not 64 hex digits) or simply wrong.
 *
 * @example
 * const result = verifyMetaSignature(rawBytes, c.req.header('x-hub-signature-256'), appSecret);
 * if (!result.ok) return problem(c, { status: 401, title: 'Unauthorized' });
 */
export function verifyMetaSignature(
  body: string | Uint8Array,
  header: string | null | undefined,
  appSecret: string,
): MetaSignatureResult {
  if (!header) return { ok: false, reason: 'missing' };
  const value = header.trim();
  if (!value.startsWith(PREFIX)) return { ok: false, reason: 'malformed' };
  const hex = value.slice(PREFIX.length);
  if (!HEX_DIGEST.test(hex)) return { ok: false, reason: 'malformed' };
  const expected = createHmac('sha256', appSecret).update(toBytes(body)).digest();
  const given = Buffer.from(hex, 'hex');
  return timingSafeEqual(expected, given) ? { ok: true } : { ok: false, reason: 'mismatch' };
}
