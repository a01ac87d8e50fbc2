import { pino } from 'pino';

export type Logger = pino.Logger;

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

/** Header and field names that carry secrets: never logged, whatever the level. */
export const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers["x-hub-signature-256"]',
  '*.headers["x-twilio-signature"]',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'apiKey',
  '*.apiKey',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'databaseUrl',
  '*.databaseUrl',
];

/** Keeps the country code and the last two digits: enough to correlate, not enough to identify. */
export function maskPhone(value: string): string {
  const digits = value.replace(/\D/g, '');
  if (digits.length < 6) return '***';
  const plus = value.trim().startsWith('+') ? '+' : '';
  return `${plus}${digits.slice(0, 2)}${'*'.repeat(digits.length - 4)}${digits.slice(-2)}`;
}

function maskPhones(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => maskPhones(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = PHONE_KEYS.has(key) && typeof v === 'string' ? maskPhone(v) : maskPhones(v, depth + 1);
  }
  return out;
}

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Where lines go; tests pass a stream to read them back. Defaults to stdout. */
  destination?: pino.DestinationStream;
}

/**
 * Structured JSON logs, one line per event, with secrets redacted and phone numbers masked
 * wherever they appear under a phone-like key.
 *
 * @example
 * const logger = createLogger({ service: 'voice-bridge', level: 'info' });
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => maskPhones(object) as Record<string, unknown>,
      },
    },
    options.destination,
  );
}
