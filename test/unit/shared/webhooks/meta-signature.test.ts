import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signMetaPayload, verifyMetaSignature } from '../../../../shared/webhooks/meta-signature.ts';

// Published HMAC-SHA256 vector (same scheme as Meta's X-Hub-Signature-256), checked with openssl.
const SECRET = "It's a Secret to Everybody";
const BODY = 'Hello, World!';
const GOOD = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';

describe('verifyMetaSignature', () => {
  it('signs the known vector', () => {
    expect(signMetaPayload(BODY, SECRET)).toBe(GOOD);
  });

  it('accepts the good signature over a string or the raw bytes', () => {
    expect(verifyMetaSignature(BODY, GOOD, SECRET)).toEqual({ ok: true });
    expect(verifyMetaSignature(new TextEncoder().encode(BODY), GOOD, SECRET)).toEqual({ ok: true });
  });

  it('accepts upper-case hex digits', () => {
    expect(verifyMetaSignature(BODY, `sha256=${GOOD.slice(7).toUpperCase()}`, SECRET).ok).toBe(true);
  });

  it('rejects a missing header', () => {
    expect(verifyMetaSignature(BODY, undefined, SECRET)).toEqual({ ok: false, reason: 'missing' });
    expect(verifyMetaSignature(BODY, '', SECRET)).toEqual({ ok: false, reason: 'missing' });
  });

  it('rejects a wrong prefix', () => {
    const hex = GOOD.slice('sha256='.length);
    expect(verifyMetaSignature(BODY, `sha1=${hex}`, SECRET)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyMetaSignature(BODY, hex, SECRET)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyMetaSignature(BODY, `SHA256=${hex}`, SECRET)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('rejects a truncated or non-hex digest', () => {
    expect(verifyMetaSignature(BODY, GOOD.slice(0, -2), SECRET).ok).toBe(false);
    expect(verifyMetaSignature(BODY, `${GOOD.slice(0, -1)}z`, SECRET).ok).toBe(false);
  });

  it('rejects a wrong secret', () => {
    expect(verifyMetaSignature(BODY, GOOD, 'another secret')).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('rejects a body changed by one byte', () => {
    expect(verifyMetaSignature('Hello, World?', GOOD, SECRET)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyMetaSignature(`${BODY} `, GOOD, SECRET)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('fails for any single flipped bit of any body (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 256 }), fc.nat(), fc.nat(7), (bytes, at, bit) => {
        const header = signMetaPayload(bytes, SECRET);
        expect(verifyMetaSignature(bytes, header, SECRET).ok).toBe(true);
        const changed = Uint8Array.from(bytes);
        changed[at % changed.length] ^= 1 << bit;
        expect(verifyMetaSignature(changed, header, SECRET).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
