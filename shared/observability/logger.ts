import { pino } from 'pino';
import { maskPhonesInText, toLogValue } from './log-values.ts';

export { maskPhone, maskPhonesInText, serializeError } from './log-values.ts';

export type Logger = pino.Logger;

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

/**
 * The line's `msg` never passes the formatters, and pino copies an error's message into it when none is
 * given: mask phone numbers in it here.
 */
function maskMessage(this: pino.Logger, args: unknown[], method: (...args: unknown[]) => void): void {
  const [first, second] = args;
  if (typeof first === 'string') args[0] = maskPhonesInText(first);
  else if (typeof second === 'string') args[1] = maskPhonesInText(second);
  else if (first instanceof Error) args.splice(1, 0, maskPhonesInText(first.message));
  else if (first !== null && typeof first === 'object' && (first as { err?: unknown }).err instanceof Error) {
    args.splice(1, 0, maskPhonesInText((first as { err: Error }).err.message));
  }
  method.apply(this, args);
}

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Where lines go; tests pass a stream to read them back. Defaults to stdout. */
  destination?: pino.DestinationStream;
}

/**
 * Structured JSON logs, one line per event, with secrets redacted, phone numbers masked wherever they
 * appear under a phone-like key (and inside error messages and stacks), and every error logged with its
 * type, message, stack and code. Errors are serialized here, before pino's own `err` serializer could
 * see them, so masking runs on the serialized strings and nothing is lost to a copy.
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
      hooks: { logMethod: maskMessage },
      // Errors are already serialized by the log formatter (through pino's err serializer); running it
      // again would take the plain result for an error and rename its type to Object.
      serializers: { err: (value: unknown) => value },
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => toLogValue(object) as Record<string, unknown>,
      },
    },
    options.destination,
  );
}
