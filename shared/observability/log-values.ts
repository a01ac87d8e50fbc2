import { pino } from 'pino';

/** Keys whose values are phone numbers in our payloads and in the providers' (Twilio, Meta). */
const PHONE_KEYS = new Set([
  'to',
  'from',
  'phone',
  'wa_id',
  'waId',
  'To',
  'From',
  'Caller',
  'Called',
  'recipient_id',
]);

/** Keeps the country code and the last two digits: enough to correlate, not enough to identify. */
export function maskPhone(value: string): string {
  const digits = value.replace(/\D/g, '');
  if (digits.length < 6) return '***';
  const plus = value.trim().startsWith('+') ? '+' : '';
  return `${plus}${digits.slice(0, 2)}${'*'.repeat(digits.length - 4)}${digits.slice(-2)}`;
}

// A phone number inside free text (an error message, a provider's error detail): 8 to 15 digits, with or
// without +, standing alone. Line:column numbers in stacks and dotted addresses never match.
const PHONE_IN_TEXT = /(?<![\w.:/+-])\+?\d{8,15}(?![\w.])/g;

/** Every phone-like number in a text masked the way `maskPhone` masks a field. */
export function maskPhonesInText(text: string): string {
  return text.replace(PHONE_IN_TEXT, (match) => maskPhone(match));
}

function isErrorLike(value: unknown): value is Error {
  return (
    value instanceof Error ||
    (typeof value === 'object' && value !== null && 'stack' in value && 'message' in value)
  );
}

/**
 * An error as a log field: type, message and stack (causes included, through pino's own serializer),
 * the error's code and other plain-data properties. Object-valued properties (a pg client, a socket, a
 * request) are dropped: they are kilobytes of connection internals and may hold credentials.
 */
export function serializeError(error: Error): Record<string, unknown> {
  const serialized = pino.stdSerializers.err(error) as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {
    type: serialized.type,
    message: maskPhonesInText(String(serialized.message ?? '')),
    stack: maskPhonesInText(String(serialized.stack ?? '')),
  };
  for (const [key, value] of Object.entries(serialized)) {
    if (key in out) continue;
    if (typeof value === 'string') out[key] = maskPhonesInText(value);
    else if (typeof value === 'number' || typeof value === 'boolean' || value === null) out[key] = value;
    else if (key === 'aggregateErrors' && Array.isArray(value)) out[key] = value.map(scrubSerialized);
  }
  return out;
}

/** An already serialized (aggregate) error: strings masked, objects dropped as above. */
function scrubSerialized(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'string') out[key] = maskPhonesInText(v);
    else if (typeof v !== 'object' || v === null) out[key] = v;
  }
  return out;
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * What a log call's fields become on the line: errors serialized (wherever they sit, not only under
 * `err`), phone numbers masked under phone-like keys, and class instances other than dates replaced by
 * their name, so a client or socket passed by mistake cannot dump its internals.
 */
export function toLogValue(value: unknown, key = '', depth = 0): unknown {
  if (typeof value === 'string') return PHONE_KEYS.has(key) ? maskPhone(value) : value;
  if (value === null || typeof value !== 'object') return value;
  if (isErrorLike(value)) return serializeError(value);
  if (depth > 6) return '[depth]';
  if (Array.isArray(value)) return value.map((v) => toLogValue(v, '', depth + 1));
  if (value instanceof Date) return value;
  if (!isPlainObject(value)) return `[${value.constructor?.name ?? 'object'}]`;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = toLogValue(v, k, depth + 1);
  return out;
}
