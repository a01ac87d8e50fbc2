import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { maskPhone } from '../shared/observability/index.ts';

/**
 * Fields of the services' views that hold a phone number (E.164 or a WhatsApp id), including the provider
 * payloads some views carry as event detail (Twilio's To/From/Called/Caller).
 */
const PHONE_FIELDS = new Set([
  'to',
  'from',
  'waId',
  'wa_id',
  'phone',
  'recipient',
  'To',
  'From',
  'Called',
  'Caller',
  'ForwardedFrom',
]);

/**
 * Numbers leave the console masked. Each masked field gets a `<field>Ref` beside it: the number sealed with
 * a key that lives only in this process (AES-GCM), which the operator sends back to reveal it (logged) or to
 * open a contact's page without the number ever appearing in a URL.
 */
export function createPhoneVault(key: Buffer = randomBytes(32)) {
  // The same number seals to the same reference (IV from an HMAC of it), so a live feed whose data did not
  // change sends nothing, and one contact's messages share one reference.
  function seal(value: string): string {
    const iv = createHmac('sha256', key).update(value).digest().subarray(0, 12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const sealed = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
  }

  /** null when the reference was not sealed by this process (tampered, or from before a restart). */
  function open(ref: string): string | null {
    try {
      const raw = Buffer.from(ref, 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }

  function mask(value: unknown, depth = 0): unknown {
    if (depth > 8 || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((item) => mask(item, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [field, item] of Object.entries(value)) {
      if (PHONE_FIELDS.has(field) && typeof item === 'string' && /\d{6}/.test(item.replace(/\D/g, ''))) {
        out[field] = maskPhone(item);
        out[`${field}Ref`] = seal(item);
      } else {
        out[field] = mask(item, depth + 1);
      }
    }
    return out;
  }

  return { seal, open, mask };
}

export type PhoneVault = ReturnType<typeof createPhoneVault>;
