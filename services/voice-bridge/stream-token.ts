import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The Media Streams URL carries its own expiry: `/media/{callId}/{expires}.{mac}`. Twilio's signature
 * proves Twilio sent the upgrade but not when the URL was issued, so a captured upgrade could be replayed
 * for ever; the MAC binds the call id to an expiry only we can set. It sits in the path because a
 * `<Stream url>` may not carry a query string.
 */
export type StreamTokenCheck = 'valid' | 'expired' | 'invalid';

// A label of its own, so this MAC can never be confused with a Twilio signature made with the same key.
const LABEL = 'voice-media-stream.v1';

const mac = (secret: string, callId: string, expires: number) =>
  createHmac('sha256', secret).update(`${LABEL}\n${callId}\n${expires}`).digest('base64url');

/**
 * @example
 * const token = signStreamToken(authToken, callId, new Date(Date.now() + 60_000));
 * const streamUrl = `wss://voice.example.com/media/${callId}/${token}`;
 */
export function signStreamToken(secret: string, callId: string, expiresAt: Date): string {
  const expires = Math.floor(expiresAt.getTime() / 1000);
  return `${expires}.${mac(secret, callId, expires)}`;
}

/** Constant-time; an expired token is only reported as expired once its MAC is right. */
export function verifyStreamToken(
  secret: string,
  callId: string,
  token: string,
  now: Date,
): StreamTokenCheck {
  const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return 'invalid';
  const expires = Number(match[1]);
  const expected = Buffer.from(mac(secret, callId, expires));
  const given = Buffer.from(match[2]);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'invalid';
  return expires * 1000 > now.getTime() ? 'valid' : 'expired';
}
