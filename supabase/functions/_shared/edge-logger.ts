import { createLogger, type Logger } from '../../../shared/observability/index.ts';

/**
 * The kit's logger (same redaction and phone masking) writing through `console.log`: that is what
 * Supabase collects into the function's logs, whereas pino's default writes to file descriptor 1 directly.
 *
 * @example
 * const logger = createEdgeLogger('voice-bridge', config.LOG_LEVEL);
 */
export function createEdgeLogger(service: string, level: string): Logger {
  return createLogger({
    service,
    level,
    destination: {
      write(line: string) {
        console.log(line.endsWith('\n') ? line.slice(0, -1) : line);
      },
    },
  });
}
